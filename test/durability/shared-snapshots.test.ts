// Workers on two machines: two worker processes with working folders of their own share only an object-store
// snapshot root (s3:// on the Versity S3 gateway). The first is killed with SIGKILL in the middle of a table's
// import; the second, which has none of the first one's files, finishes the migration from the shared snapshot.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startMigration } from '../../client/commands/start';
import { compareProjects, holdRequests, sleep, spawnWorker, waitUntil, type WorkerProcess } from '../../scripts/durability-tools';
import { openSnapshotStore } from '../../snapshot/stores';
import { useHarness, workerProcesses } from '../helpers/harness';
import { addLargeTable, LARGE_TABLE } from '../helpers/large-table';

const h = useHarness({ jobDelayMs: 10 });
const BIG_TABLE = LARGE_TABLE;
const BIG_ROWS = 120_000; // more than one export slice: the snapshot holds several files of this table



test('two workers share only an s3:// snapshot root; one is killed mid-table and the other finishes without duplicates', async () => {
  await addLargeTable(h.source, BIG_ROWS);
  // The snapshots go to the S3 gateway behind the two AWS stacks, as a real worker's go to the S3 of its region.
  const s3 = h.stacks.objectStores.aws!;
  const bucket = `snapshots-${randomBytes(4).toString('hex')}`;
  await s3.createBucket(bucket);
  const snapshotRoot = `s3://${bucket}/migrations`;
  const storeEnv = { ...s3.env, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.rootCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.rootCredentials.secretAccessKey };
  const { client, taskQueue, env } = await workerProcesses(h, 'shared', { ...storeEnv, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', STACK_MIGRATE_SNAPSHOT_ROOT: snapshotRoot });
  const [firstDir, secondDir] = await Promise.all([fs.mkdtemp(path.join(os.tmpdir(), 'machine-a-')), fs.mkdtemp(path.join(os.tmpdir(), 'machine-b-'))]);
  const destination = h.stacks.destination.url;
  // The big table's import is held 4 s: the first worker dies with that import in flight.
  const { hits } = await holdRequests(destination, `/tables/${BIG_TABLE.replace(/\./g, '\\.')}/import-async$`, 4000);

  let first: WorkerProcess | undefined = await spawnWorker(env, 120_000, firstDir);
  let second: WorkerProcess | undefined;
  try {
    const handle = await startMigration(client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false, options: { heartbeatTimeoutSeconds: 5 } });
    await waitUntil('the big table import request', async () => (await hits()) >= 1, 120_000, 50);
    await sleep(1000); // the import's heartbeat cursor reaches the server
    await first.kill();
    first = undefined;

    second = await spawnWorker(env, 120_000, secondDir);
    const result = await handle.result();
    expect(result.outcome).toBe('completed');
    expect(result.snapshotDir).toMatch(new RegExp(`^${snapshotRoot}/migrate-`));
    expect(result.verification.mismatches).toEqual([]);
    expect(await hits()).toBeGreaterThanOrEqual(2); // the second worker sent the import again

    // The snapshot, its records and the report are in the bucket; neither machine's folder holds any of them.
    const snapshot = openSnapshotStore(result.snapshotDir!, storeEnv);
    expect(await snapshot.list('in/c-big')).toEqual(expect.arrayContaining(['events.part_0.csv.gz', 'events.part_1.csv.gz']));
    expect(await snapshot.readText('manifest.json')).toContain(BIG_TABLE);
    expect(result.report?.markdown).toMatch(/^s3:\/\//);
    for (const dir of [firstDir, secondDir]) {
      const found = await fs.readdir(dir, { recursive: true });
      expect(found.filter((name) => String(name).endsWith('.csv.gz') || String(name).endsWith('manifest.json'))).toEqual([]);
    }

    const comparison = await compareProjects(h.source, h.destination);
    expect(comparison.duplicates).toEqual([]);
    expect(comparison.mismatches).toEqual([]);
    expect((await h.destination.tables.get(BIG_TABLE))?.rowsCount).toBe(BIG_ROWS);
  } finally {
    await first?.kill();
    await second?.stop();
  }
}, 400_000);
