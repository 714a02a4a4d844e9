// Removes from the destination what a migration created. The destination was empty when the migration was
// validated (docs/domain.md#blockers), so what it holds under the snapshot's bucket and configuration IDs is the migration's.
import type { StackClient } from '../stack';
import { bucketIdOf, type SnapshotReader } from '../snapshot/reader';
import type { StackRef } from '../workflows/input';
import type { CleanupResult } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { translateComponentId } from './component-ids';
import { eventAndRecipient } from './notifications';
import { permanentFilesOf } from './permanent-files';
import { orchestrationMarkers, triggerMarkers } from './orchestrations';
import { isGoodDataCopyFrom, SNOWFLAKE_WRITERS } from './writers';
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
      // Buckets holding aliases go first: the stack refuses to delete a bucket whose tables have aliases elsewhere.
      const aliasBuckets = new Set((await client.tables.list()).filter((t) => t.isAlias).map((t) => bucketIdOf(t)));
      const buckets = (await client.buckets.list()).sort((a, b) => Number(aliasBuckets.has(b.id)) - Number(aliasBuckets.has(a.id)));
      for (const bucket of buckets) {
        if (!snapshotBuckets.has(bucket.id)) continue;
        await client.buckets.delete(bucket.id, { force: true });
        deletedBuckets.push(bucket.id);
        heartbeat();
      }

      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      // Before the configurations: a writer's workspace is found through its configuration.
      const deletedWithNewIds = await deleteEntitiesWithNewIds(client, reader, destinationComponents);
      const snapshotConfigurations = new Set(
        snapshot.configurations.map((ref) => `${translateComponentId(ref.componentId, destinationComponents) ?? ref.componentId}/${ref.configId}`),
      );
      const deletedConfigurations: string[] = [];
      for (const component of await client.components.heads()) {
        for (const configuration of component.configurations ?? []) {
          const id = `${component.id}/${configuration.id}`;
          if (!snapshotConfigurations.has(id)) continue;
          await client.configurations.delete(component.id, configuration.id);
          deletedConfigurations.push(id);
          heartbeat();
        }
      }

      const deletedOther = [...deletedWithNewIds, ...(await deleteProjectLevelEntities(client, reader))];

      const leftBuckets = (await client.buckets.list()).map((b) => `bucket ${b.id}`);
      const leftConfigurations = (await client.components.heads()).flatMap((c) => (c.configurations ?? []).map((cfg) => `configuration ${c.id}/${cfg.id}`));
      const leftMetadata = (await client.branches.listMetadata()).map((m) => `branch metadata ${m.key}`);
      const leftSubscriptions = (await client.notifications.available()) ? (await client.notifications.list()).map((s) => `notification ${s.event} (${s.id})`) : [];
      const leftFiles = (await permanentFilesOf(client)).map((f) => `permanent file ${f.name} (${f.id})`);
      const remaining = [...leftBuckets, ...leftConfigurations, ...leftMetadata, ...leftSubscriptions, ...leftFiles, ...(await markedEntitiesLeft(client, reader))];
      return { deletedBuckets, deletedConfigurations, deletedOther, destinationEmpty: remaining.length === 0, remaining };
    },
  };
}

/** What the migration created with new IDs, found by its markers (activities/created-once.ts). */
async function markedEntities(client: StackClient, reader: SnapshotReader) {
  const [orchestrationMarked, triggerMarked] = await Promise.all([orchestrationMarkers(reader), triggerMarkers(reader)]);
  const marked = (text: string | null | undefined) => orchestrationMarked.sourceIdIn(text) !== undefined || triggerMarked.sourceIdIn(text) !== undefined;
  const tokens = (await client.tokens.list()).filter((t) => marked(t.description));
  const tokenIds = new Set(tokens.map((t) => String(t.id)));
  const orchestrations = (await client.orchestrator.serviceUrl()) ? (await client.orchestrator.list()).filter((o) => marked(o.token?.description)) : [];
  const triggers = (await client.triggers.list()).filter((t) => tokenIds.has(String(t.runWithTokenId)));
  const source = (await reader.manifest())?.source;
  const goodData = source && (await client.gooddata.serviceUrl()) ? (await client.gooddata.listProjects()).filter((p) => isGoodDataCopyFrom(p.summary, source)) : [];
  return { tokens, orchestrations, triggers, goodData };
}

/**
 * Legacy orchestrations, triggers and their tokens, GoodData projects (by their markers), and the workspaces of the
 * snapshot's Snowflake writers: what the restore created that did not keep a source ID.
 */
async function deleteEntitiesWithNewIds(client: StackClient, reader: SnapshotReader, destinationComponents: ReadonlySet<string>): Promise<string[]> {
  const deleted: string[] = [];
  const { tokens, orchestrations, triggers, goodData } = await markedEntities(client, reader);
  for (const t of triggers) {
    await client.triggers.delete(t.id);
    deleted.push(`trigger ${t.id}`);
  }
  for (const o of orchestrations) {
    await client.orchestrator.delete(o.id);
    deleted.push(`orchestration ${o.name} (${o.id})`);
  }
  for (const t of tokens) {
    await client.tokens.delete(t.id);
    deleted.push(`token ${t.description}`);
  }
  for (const p of goodData) {
    await client.gooddata.deleteProject(p.pid);
    deleted.push(`GoodData project ${p.pid}`);
  }
  for (const ref of (await reader.index()).configurations) {
    const componentId = translateComponentId(ref.componentId, destinationComponents);
    if (!componentId || !SNOWFLAKE_WRITERS.has(ref.componentId) || !(await client.configurations.get(componentId, ref.configId))) continue;
    for (const w of await client.workspaces.list({ componentId, configId: ref.configId })) {
      await client.workspaces.delete(w.id);
      deleted.push(`workspace ${w.id} of ${componentId}/${ref.configId}`);
    }
    heartbeat();
  }
  return deleted;
}

async function markedEntitiesLeft(client: StackClient, reader: SnapshotReader): Promise<string[]> {
  const { tokens, orchestrations, triggers, goodData } = await markedEntities(client, reader);
  return [
    ...orchestrations.map((o) => `orchestration ${o.name} (${o.id})`),
    ...triggers.map((t) => `trigger ${t.id}`),
    ...tokens.map((t) => `token ${t.description}`),
    ...goodData.map((p) => `GoodData project ${p.pid}`),
    ...(await client.workspaces.list()).map((w) => `workspace ${w.id}`),
  ];
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
