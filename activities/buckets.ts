// Restores buckets and their metadata. Looks before it creates, so a retry or a re-run never duplicates one.
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome } from '../workflows/types';
import { bucketSkipReason } from '../snapshot/reader';
import type { ActivityDeps } from './deps';
import { groupByProvider } from './metadata';
import { heartbeat } from './heartbeat';

export function createBucketActivities(deps: ActivityDeps) {
  return {
    async restoreBuckets(input: { destination: StackRef; snapshotDir: string }): Promise<RestoreOutcome> {
      const client = await deps.stackClient(input.destination);
      const { buckets } = await deps.snapshot(input.snapshotDir).index();
      const existing = new Set((await client.buckets.list()).map((b) => b.id));
      const outcome: RestoreOutcome = { created: [], existing: [], skipped: [] };
      for (const bucket of buckets) {
        const skipReason = bucketSkipReason(bucket);
        if (skipReason) {
          outcome.skipped.push({ id: bucket.id, reason: skipReason });
          continue;
        }
        if (existing.has(bucket.id)) {
          outcome.existing.push(bucket.id);
        } else {
          await client.buckets.create({
            name: bucket.name.slice(2),
            stage: bucket.stage,
            description: bucket.description ?? undefined,
            displayName: bucket.displayName ?? undefined,
            color: bucket.color ?? undefined,
          });
          outcome.created.push(bucket.id);
          deps.metrics?.entitiesMigrated('buckets');
        }
        for (const [provider, entries] of groupByProvider(bucket.metadata)) {
          await client.buckets.setMetadata(bucket.id, provider, entries);
        }
        heartbeat();
      }
      return outcome;
    },
  };
}
