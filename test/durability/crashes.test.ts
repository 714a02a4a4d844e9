// Crashes on a real Temporal server: a worker process killed with SIGKILL in the middle of a large table's
// import (another worker process takes over and resumes from the heartbeat cursor: the data file is uploaded
// once), and the Temporal server itself restarted on the same SQLite file in the middle of a migration.
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startMigration } from '../../client/commands/start';
import { createDataConverter } from '../../temporal/payload-codec';
import { createMigrationWorker } from '../../worker/create-worker';
import { startDevServer } from '../../scripts/temporal-server';
import { statusQuery } from '../../workflows';
import { useHarness, workerProcesses } from '../helpers/harness';
import { addLargeTable, LARGE_TABLE } from '../helpers/large-table';
import { waitForStep } from '../helpers/migration';
import { compareProjects, countRequests, holdRequests, injectFault, requestCounts, sleep, spawnWorker, waitUntil, type WorkerProcess } from '../../scripts/durability-tools';

const h = useHarness({ jobDelayMs: 10 });
const BIG_TABLE = LARGE_TABLE;
const BIG_ROWS = 150_000; // more than one export slice (100,000 rows): the restore uploads a sliced file


describe('crashes', () => {
  test('a worker process killed (SIGKILL) during a large table import: another worker resumes from the heartbeat cursor', async () => {
    await addLargeTable(h.source, BIG_ROWS);
    const { client, taskQueue, env } = await workerProcesses(h, 'crash');
    const destination = h.stacks.destination.url;
    // The big table's import request is held 4 s: the worker dies while the import is in flight.
    const { hits } = await holdRequests(destination, `/tables/${BIG_TABLE.replace(/\./g, '\\.')}/import-async$`, 4000);

    let first: WorkerProcess | undefined = await spawnWorker(env);
    let second: WorkerProcess | undefined;
    try {
      const handle = await startMigration(client, taskQueue, {
        source: h.stacks.sourceRef,
        destination: h.stacks.destinationRef,
        requireApproval: false,
        options: { heartbeatTimeoutSeconds: 5 },
      });
      await waitUntil('the big table import request', async () => (await hits()) >= 1, 120_000, 50);
      await sleep(1000); // the cursor heartbeat (sent right after the upload) reaches the server
      await first.kill();
      const killedAt = Date.now();
      const afterKill = await requestCounts(destination);
      first = undefined;

      second = await spawnWorker(env);
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      console.log(`worker killed during the import of ${BIG_TABLE} (${BIG_ROWS} rows); the second worker finished ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`);

      // The import was sent again by the second worker (after the kill) with the file uploaded before it.
      expect(await hits()).toBeGreaterThanOrEqual(2);
      const prepares = await countRequests(destination, /^POST \/v2\/storage\/files\/prepare$/);
      const sourceTables = (await h.source.tables.list()).filter((t) => !t.isAlias && !t.id.startsWith('sys.'));
      const ownBuckets = new Set((await h.source.buckets.list()).filter((b) => !b.sourceBucket && !b.isLinkedBucket).map((b) => b.id));
      const restored = sourceTables.filter((t) => ownBuckets.has(t.bucket?.id ?? ''));
      // Every table upload was made before the kill (the second worker imported the file the cursor named); after
      // the tables, one per permanent file: nothing twice. A table takes one upload or two: its data, and for an
      // untyped one its header, unless it is created from its data (one small file).
      const tableUploads = afterKill['POST /v2/storage/files/prepare'];
      const permanentFiles = (await h.source.files.list()).filter((f) => f.maxAgeDays === null).length;
      expect(prepares).toBe(tableUploads + permanentFiles);
      expect(tableUploads).toBeGreaterThanOrEqual(restored.filter((t) => !t.isTyped || (t.rowsCount ?? 0) > 0).length);
      expect(tableUploads).toBeLessThanOrEqual(restored.filter((t) => !t.isTyped).length + restored.filter((t) => (t.rowsCount ?? 0) > 0).length);

      const comparison = await compareProjects(h.source, h.destination);
      expect(comparison.duplicates).toEqual([]);
      expect(comparison.mismatches).toEqual([]);
      expect((await h.destination.tables.get(BIG_TABLE))?.rowsCount).toBe(BIG_ROWS);
    } finally {
      await first?.kill();
      await second?.stop();
    }
  }, 300_000);

  test('the Temporal server restarted (same SQLite file) in the middle of a migration: the migration completes', async () => {
    const server = await startDevServer({ headless: true });
    const dataConverter = await createDataConverter({ STACK_MIGRATE_CODEC_KEY: randomBytes(32).toString('base64') });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace, dataConverter });
    const taskQueue = `restart-${randomUUID()}`;
    const worker = await createMigrationWorker({ connection: nativeConnection, namespace: server.namespace, taskQueue, snapshotRoot: h.snapshotRoot, dataConverter });
    const running = worker.run();
    try {
      // Slow destination requests keep the restore going while the server restarts.
      await injectFault(h.stacks.destination.url, { kind: 'latency', latencyMs: 250, pathPattern: '^/v2/storage' });
      const handle = await startMigration(client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false, options: { tableConcurrency: 1 } });
      await waitForStep(handle, 'restoring', 60_000);
      const restartedAt = Date.now();
      await server.restart();
      const downMs = Date.now() - restartedAt;

      const result = await waitUntil('the result after the restart', async () => client.workflow.getHandle(handle.workflowId).result(), 180_000, 1000);
      expect(result.outcome).toBe('completed');
      expect((await client.workflow.getHandle(handle.workflowId).query(statusQuery)).step).toBe('completed');
      console.log(`Temporal server restarted during the restore (down ${downMs} ms); the migration completed ${Math.round((Date.now() - restartedAt) / 1000)} s after the restart began`);
      const comparison = await compareProjects(h.source, h.destination);
      expect(comparison.duplicates).toEqual([]);
      expect(comparison.mismatches).toEqual([]);
    } finally {
      worker.shutdown();
      await running.catch(() => undefined);
      await nativeConnection.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await server.stop();
    }
  }, 300_000);
});
