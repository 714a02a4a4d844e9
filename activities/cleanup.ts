// Removes from the destination what a migration created. The destination was empty when the migration was
// validated (docs/domain.md#blockers), so what it holds under the snapshot's bucket and configuration IDs is the migration's.
import type { StackClient } from '../stack';
import type { SnapshotReader } from '../snapshot/reader';
import type { StackRef } from '../workflows/input';
import type { CleanupResult } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { translateComponentId } from './component-ids';
import { eventAndRecipient } from './notifications';
import { permanentFilesOf } from './permanent-files';
import { heartbeat } from './heartbeat';

export function createCleanupActivities(deps: ActivityDeps) {
  return {
    async cleanupDestination(input: { destination: StackRef; snapshotDir: string }): Promise<CleanupResult> {
      const client = await deps.stackClient(input.destination);
      const reader = deps.snapshot(input.snapshotDir);
      const snapshot = await reader.index();
      // What the restore creates, by the snapshot's own answers (linked and system buckets are not the migration's).
      const snapshotBuckets = new Set(snapshot.restorableBuckets().map((b) => b.id));
      const deletedBuckets: string[] = [];
      for (const bucket of await client.buckets.list()) {
        if (!snapshotBuckets.has(bucket.id)) continue;
        await client.buckets.delete(bucket.id, { force: true });
        deletedBuckets.push(bucket.id);
        heartbeat();
      }

      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const snapshotConfigurations = new Set(
        snapshot.configurations.map((ref) => `${translateComponentId(ref.componentId, destinationComponents) ?? ref.componentId}/${ref.configId}`),
      );
      const deletedConfigurations: string[] = [];
      for (const component of await client.components.list()) {
        for (const configuration of component.configurations ?? []) {
          const id = `${component.id}/${configuration.id}`;
          if (!snapshotConfigurations.has(id)) continue;
          await client.configurations.delete(component.id, configuration.id);
          deletedConfigurations.push(id);
          heartbeat();
        }
      }

      const deletedOther = await deleteProjectLevelEntities(client, reader);

      const leftBuckets = (await client.buckets.list()).map((b) => `bucket ${b.id}`);
      const leftConfigurations = (await client.components.list()).flatMap((c) => (c.configurations ?? []).map((cfg) => `configuration ${c.id}/${cfg.id}`));
      const leftMetadata = (await client.branches.listMetadata()).map((m) => `branch metadata ${m.key}`);
      const leftSubscriptions = (await client.notifications.available()) ? (await client.notifications.list()).map((s) => `notification ${s.event} (${s.id})`) : [];
      const leftFiles = (await permanentFilesOf(client)).map((f) => `permanent file ${f.name} (${f.id})`);
      const remaining = [...leftBuckets, ...leftConfigurations, ...leftMetadata, ...leftSubscriptions, ...leftFiles];
      return { deletedBuckets, deletedConfigurations, deletedOther, destinationEmpty: remaining.length === 0, remaining };
    },
  };
}

/**
 * What the restore wrote beside buckets and configurations, by the snapshot's own answers: the branch metadata keys
 * it set, the notification subscriptions (event and recipient) and the permanent files (name and tags) it created.
 */
async function deleteProjectLevelEntities(client: StackClient, reader: SnapshotReader): Promise<string[]> {
  const deleted: string[] = [];
  const keys = new Set((await reader.index()).branchMetadata.map((m) => m.key));
  for (const entry of await client.branches.listMetadata()) {
    if (!keys.has(entry.key)) continue;
    await client.branches.deleteMetadata(String(entry.id));
    deleted.push(`branch metadata ${entry.key}`);
  }
  const subscriptions = new Set((await reader.notifications()).map(eventAndRecipient));
  if (subscriptions.size && (await client.notifications.available())) {
    for (const s of await client.notifications.list()) {
      if (!subscriptions.has(eventAndRecipient(s))) continue;
      await client.notifications.delete(s.id);
      deleted.push(`notification ${s.event}`);
    }
  }
  const permanent = new Set((await reader.permanentFiles()).map((f) => f.name));
  for (const file of (await permanentFilesOf(client)).filter((f) => permanent.has(f.name))) {
    await client.files.delete(file.id);
    deleted.push(`permanent file ${file.name}`);
  }
  return deleted;
}
