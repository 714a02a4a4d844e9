// A sync pass interrupted by a worker process killed with SIGKILL while it imports a changed table: another worker
// process finishes the pass, and the destination has every change once (docs/sync.md, "Safe to interrupt").
import { startMigration } from '../../client/commands/start';
import { syncMigration } from '../../client/commands/sync';
import { statusQuery } from '../../workflows';
import { useHarness, workerProcesses } from '../helpers/harness';
import { compareProjects, countRequests, holdRequests, sleep, spawnWorker, waitUntil, type WorkerProcess } from '../../scripts/durability-tools';

const h = useHarness({ jobDelayMs: 10 });
const ORDERS = 'in.c-crm.orders';

describe('a sync pass interrupted', () => {
  test('by a worker killed during a changed table import: another worker finishes the pass and nothing is doubled', async () => {
    const { client, taskQueue, env } = await workerProcesses(h, 'sync-crash');
    const destination = h.stacks.destination.url;
    let first: WorkerProcess | undefined = await spawnWorker(env);
    let second: WorkerProcess | undefined;
    try {
      const { workflowId } = await startMigration(client, taskQueue, {
        source: h.stacks.sourceRef,
        destination: h.stacks.destinationRef,
        requireApproval: false,
        keepInSync: true,
        options: { heartbeatTimeoutSeconds: 5 },
      });
      const handle = client.workflow.getHandle(workflowId);
      await waitUntil('the first copy in sync', async () => (await handle.query(statusQuery).catch(() => undefined))?.sync?.phase === 'in-sync', 120_000, 250);

      // Changes: rows appended to orders, a new bucket with a table, a configuration edited.
      const csv = (text: string) => h.source.files.upload('change.csv', Buffer.from(text));
      await h.source.tables.import(ORDERS, { dataFileId: (await csv('id,customer_id,amount,status,created_at\n9001,1,10.5,paid,2026-12-01\n')).id, incremental: true });
      await h.source.buckets.create({ name: 'events', stage: 'in' });
      await h.source.tables.createFromFile('in.c-events', { name: 'clicks', dataFileId: (await csv('id,url\n1,/a\n2,/b\n')).id, primaryKey: [] });
      await h.source.configurations.update('keboola.ex-google-drive', 'gdrive-budget', { description: 'edited before the pass' });

      const bucketCreatesBefore = await countRequests(destination, /^POST \/v2\/storage\/buckets$/);
      // The orders import is held 4 s: the worker dies while it is in flight.
      const { hits } = await holdRequests(destination, `/tables/${ORDERS.replace(/\./g, '\\.')}/import-async$`, 4000);
      const pass = syncMigration(client, taskQueue, workflowId, { by: 'operator' });
      await waitUntil('the orders import of the pass', async () => (await hits()) >= 1, 120_000, 50);
      await sleep(1000); // the import's cursor heartbeat reaches the server
      await first.kill();
      first = undefined;
      second = await spawnWorker(env);

      const summary = await pass;
      expect(summary.pass).toBe(1);
      expect(summary.changes).toMatchObject({ tablesChanged: 1, tablesAdded: 1, bucketsAdded: 1, configurationsChanged: 1 });
      expect(summary.verification).toMatchObject({ tables: 2, ok: 2, mismatches: [] });
      expect(await hits()).toBeGreaterThanOrEqual(2); // sent again by the second worker

      expect(await countRequests(destination, /^POST \/v2\/storage\/buckets$/)).toBe(bucketCreatesBefore + 1);
      expect((await h.destination.tables.get(ORDERS))?.rowsCount).toBe((await h.source.tables.get(ORDERS))?.rowsCount);
      expect((await h.destination.configurations.get('keboola.ex-google-drive', 'gdrive-budget'))?.description).toBe('edited before the pass');
      const comparison = await compareProjects(h.source, h.destination, { compareRows: true });
      expect(comparison.duplicates).toEqual([]);
      expect(comparison.mismatches).toEqual([]);

      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
    } finally {
      await first?.kill();
      await second?.stop();
    }
  }, 300_000);
});
