// Removes from the destination what a migration created. The destination was empty when the migration was
// validated (docs/domain.md#blockers), so what it holds under the snapshot's bucket and configuration IDs is the migration's.
import { Context } from '@temporalio/activity';
import type { StackRef } from '../workflows/input';
import type { CleanupResult } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { translateComponentId } from './component-ids';

export function createCleanupActivities(deps: ActivityDeps) {
  return {
    async cleanupDestination(input: { destination: StackRef; snapshotDir: string }): Promise<CleanupResult> {
      const client = await deps.stackClient(input.destination);
      const snapshot = await deps.snapshot(input.snapshotDir).index();
      // What the restore creates, by the snapshot's own answers (linked and system buckets are not the migration's).
      const snapshotBuckets = new Set(snapshot.restorableBuckets().map((b) => b.id));
      const deletedBuckets: string[] = [];
      for (const bucket of await client.buckets.list()) {
        if (!snapshotBuckets.has(bucket.id)) continue;
        await client.buckets.delete(bucket.id, { force: true });
        deletedBuckets.push(bucket.id);
        Context.current().heartbeat();
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
          Context.current().heartbeat();
        }
      }

      const leftBuckets = (await client.buckets.list()).map((b) => `bucket ${b.id}`);
      const leftConfigurations = (await client.components.list()).flatMap((c) => (c.configurations ?? []).map((cfg) => `configuration ${c.id}/${cfg.id}`));
      const remaining = [...leftBuckets, ...leftConfigurations];
      return { deletedBuckets, deletedConfigurations, destinationEmpty: remaining.length === 0, remaining };
    },
  };
}
