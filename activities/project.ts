// Project-level metadata of the default branch (`defaultBranchMetadata.json` in Keboola's layout).
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome } from '../workflows/types';
import type { ActivityDeps } from './deps';

export function createProjectActivities(deps: ActivityDeps) {
  return {
    /** Writes the branch metadata entries of the snapshot; setting a key again is harmless, so retries are safe. */
    async restoreBranchMetadata(input: { destination: StackRef; snapshotDir: string }): Promise<RestoreOutcome> {
      const { branchMetadata } = await deps.snapshot(input.snapshotDir).index();
      if (branchMetadata.length > 0) {
        const client = await deps.stackClient(input.destination);
        await client.branches.setMetadata(branchMetadata.map(({ key, value }) => ({ key, value })));
      }
      return { created: branchMetadata.map((entry) => entry.key), existing: [], skipped: [] };
    },
  };
}
