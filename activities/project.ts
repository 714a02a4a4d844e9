// Project-level metadata of the default branch (`defaultBranchMetadata.json` in Keboola's layout).
import * as path from 'node:path';
import type { StackRef } from '../workflows/input';
import { files, readJsonIfExists } from '../snapshot/layout';
import type { ActivityDeps } from './deps';

export function createProjectActivities(deps: ActivityDeps) {
  return {
    /** Writes the branch metadata entries of the snapshot; setting a key again is harmless, so retries are safe. */
    async restoreBranchMetadata(input: { destination: StackRef; snapshotDir: string }): Promise<{ entries: number }> {
      const entries = (await readJsonIfExists<Array<{ key: string; value: string }>>(path.join(input.snapshotDir, files.branchMetadata))) ?? [];
      if (entries.length === 0) return { entries: 0 };
      const client = await deps.stackClient(input.destination);
      await client.branches.setMetadata(entries.map(({ key, value }) => ({ key, value })));
      return { entries: entries.length };
    },
  };
}
