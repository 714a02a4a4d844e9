// Determinism guard (docs/architecture.md#determinism): every committed history (test/histories/*.json,
// written by scripts/record-history.ts from real migrations on a real Temporal server) must replay against the
// current workflow code. A change to workflow code that would make a running migration take another path fails
// here; such a change must be guarded with `patched()`.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

const HISTORIES = path.resolve(__dirname, '..', 'histories');

describe('replay of committed histories', () => {
  test('every history in test/histories replays without nondeterminism', async () => {
    if (!Runtime._instance) Runtime.install({ logger: new DefaultLogger('WARN') });
    const files = (await fs.readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(4);
    const histories = await Promise.all(
      files.map(async (file) => ({ workflowId: file.replace(/\.json$/, '').split('--').slice(1).join('--'), history: historyFromJSON(JSON.parse(await fs.readFile(path.join(HISTORIES, file), 'utf8'))) })),
    );
    // Histories were recorded without the payload codec (plain JSON payloads): the default data converter reads them.
    const results = Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows') }, histories);
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId} (run ${result.runId}): ${result.error.name}: ${result.error.message}`);
    }
    expect(replayed).toBe(files.length);
    expect(failures).toEqual([]);
  }, 120_000);
});
