// The bucket, table and configuration activities called one by one in a MockActivityEnvironment (the Temporal
// samples' style), against an emulated destination stack and a backup folder in Keboola's layout: each answers
// one RestoreOutcome, skips with a reason, and creates nothing a second time.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createActivityDeps } from '../../activities';
import { createStackClient, type StackClient } from '../../stack';
import { startStackPair, type StackPair } from '../../scripts/stack-pair';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'keboola-backup');

let pair: StackPair;
let destination: StackClient;
let snapshotDir: string;
let activities: ReturnType<typeof createActivities>;
const heartbeats: unknown[] = [];

function run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return runWithCursor(undefined, fn, ...args);
}

/** Runs as a retry whose last attempt heartbeat `cursor`. */
function runWithCursor<A extends unknown[], R>(cursor: unknown, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  const env = new MockActivityEnvironment(cursor === undefined ? undefined : { heartbeatDetails: cursor });
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return env.run(fn, ...args);
}

async function editJson<T>(file: string, edit: (value: T) => T): Promise<void> {
  await fs.writeFile(file, JSON.stringify(edit(JSON.parse(await fs.readFile(file, 'utf8')) as T), null, 2));
}

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {};
  pair = await startStackPair({ jobDelayMs: 5, env });
  destination = createStackClient({ url: pair.destination.url, token: pair.tokens.destination });
  activities = createActivities(createActivityDeps({ snapshotRoot: os.tmpdir(), env }));

  // Keboola's backup, plus what a restore must leave out: a linked bucket with a table, an alias of that table,
  // and a configuration of a component the destination stack does not have.
  snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'activities-backup-'));
  await fs.cp(FIXTURE, snapshotDir, { recursive: true });
  type Json = Record<string, unknown>;
  await editJson<Json[]>(path.join(snapshotDir, 'buckets.json'), (buckets) => [
    ...buckets,
    { id: 'in.c-shared', name: 'c-shared', stage: 'in', backend: 'snowflake', sourceBucket: { id: 'in.c-marketing', project: { id: 9 } } },
  ]);
  await editJson<Json[]>(path.join(snapshotDir, 'tables.json'), (tables) => [
    ...tables,
    { id: 'in.c-shared.campaigns', name: 'campaigns', bucket: { id: 'in.c-shared' }, columns: ['id'], isAlias: false },
    { id: 'out.c-out.campaigns', name: 'campaigns', bucket: { id: 'out.c-out' }, columns: ['id'], isAlias: true, sourceTable: { id: 'in.c-shared.campaigns' } },
  ]);
  await editJson<Json[]>(path.join(snapshotDir, 'configurations.json'), (components) => [
    ...components,
    { id: 'kds-team.app-retired', name: 'Retired app', configurations: [{ id: 'old-1', name: 'Old one' }] },
  ]);
  await fs.mkdir(path.join(snapshotDir, 'configurations', 'kds-team.app-retired'));
  await fs.writeFile(path.join(snapshotDir, 'configurations', 'kds-team.app-retired', 'old-1.json'), JSON.stringify({ id: 'old-1', name: 'Old one', configuration: {} }));
});
afterAll(() => pair?.close());

const at = () => ({ destination: pair.destinationRef, snapshotDir });

describe('restore activities, one by one', () => {
  test('restoreBranchMetadata writes the project metadata and names its keys', async () => {
    expect(await run(activities.restoreBranchMetadata, at())).toEqual({ created: ['KBC.projectDescription'], existing: [], skipped: [] });
    expect((await destination.branches.listMetadata()).map((m) => [m.key, m.value])).toEqual([['KBC.projectDescription', 'Restored from a Keboola backup']]);
  });

  test('restoreBuckets creates the project buckets, skips the linked one with a reason, and creates nothing twice', async () => {
    const first = await run(activities.restoreBuckets, at());
    expect(first.created).toEqual(['in.c-main', 'out.c-out']);
    expect(first.existing).toEqual([]);
    expect(first.skipped).toEqual([{ id: 'in.c-shared', reason: expect.stringContaining('linked bucket') }]);
    const again = await run(activities.restoreBuckets, at());
    expect(again).toMatchObject({ created: [], existing: ['in.c-main', 'out.c-out'] });
    expect((await destination.buckets.list()).map((b) => b.id).sort()).toEqual(['in.c-main', 'out.c-out']);
  });

  test('restoreTable brings a typed table with its data, keeps a heartbeat cursor, and a re-run imports nothing', async () => {
    // as restoreProject does: the backup's data is fingerprinted first, which tells a re-run what is already there
    expect(await run(activities.fingerprintSnapshotTable, { snapshotDir, tableId: 'in.c-main.typed' })).toMatchObject({ rows: 3 });
    heartbeats.length = 0;
    const first = await run(activities.restoreTable, { ...at(), tableId: 'in.c-main.typed' });
    expect(first).toMatchObject({ tableId: 'in.c-main.typed', created: true });
    expect(heartbeats).toContainEqual({ fileId: expect.anything() });
    const table = await destination.tables.get('in.c-main.typed');
    expect(table).toMatchObject({ isTyped: true, rowsCount: 3 });
    const again = await run(activities.restoreTable, { ...at(), tableId: 'in.c-main.typed' });
    expect(again).toMatchObject({ created: false, rowsImported: 0, dataSkipped: 'already imported' });
  });

  test('restoreTable creates an untyped table from its one data file: one upload and one job, no import', async () => {
    await run(activities.fingerprintSnapshotTable, { snapshotDir, tableId: 'in.c-main.plain' }); // as restoreProject does
    const requests = async () => (await (await fetch(`${pair.destination.url}/_emulator/requests`)).json()) as Record<string, number>;
    const before = await requests();
    const result = await run(activities.restoreTable, { ...at(), tableId: 'in.c-main.plain' });
    const after = await requests();
    const added = (route: string) => (after[route] ?? 0) - (before[route] ?? 0);
    const listed = JSON.parse(await fs.readFile(path.join(snapshotDir, 'tables.json'), 'utf8')) as Array<{ id: string; rowsCount?: number }>;
    const rows = listed.find((t) => t.id === 'in.c-main.plain')?.rowsCount;
    expect(result).toEqual({ tableId: 'in.c-main.plain', created: true, rowsImported: rows });
    expect((await destination.tables.get('in.c-main.plain'))?.rowsCount).toBe(rows);
    expect([added('POST /v2/storage/files/prepare'), added('POST /v2/storage/buckets/{bucketId}/tables-async'), added('POST /v2/storage/tables/{tableId}/import-async')]).toEqual([1, 1, 0]);
  });

  test('restoreTable checks each file by the SHA-256 the snapshot recorded: another valid file in its place is refused before its import', async () => {
    const record = await run(activities.fingerprintSnapshotTable, { snapshotDir, tableId: 'in.c-main.sliced' });
    expect(Object.keys(record.digests ?? {}).sort()).toEqual(['in/c-main/sliced.part_0.csv.gz', 'in/c-main/sliced.part_1.csv.gz']);
    const slice = path.join(snapshotDir, 'in/c-main/sliced.part_1.csv.gz');
    const original = await fs.readFile(slice);
    try {
      // still a complete gzip of CSV, with a row changed: only the digest (or a CSV fingerprint) can tell
      await fs.writeFile(slice, gzipSync(gunzipSync(original).toString('utf8').replace(/\d/, (d) => String((Number(d) + 1) % 10))));
      await expect(run(activities.restoreTable, { ...at(), tableId: 'in.c-main.sliced' })).rejects.toMatchObject({
        type: 'MalformedSnapshot',
        nonRetryable: true,
        message: expect.stringMatching(/^sliced\.part_1\.csv\.gz of table in\.c-main\.sliced is not the file the snapshot wrote \(SHA-256 [0-9a-f]{12}, recorded [0-9a-f]{12}\)/),
      });
      expect((await destination.tables.get('in.c-main.sliced'))?.rowsCount ?? 0).toBe(0);
    } finally {
      await fs.writeFile(slice, original);
    }
    expect(await run(activities.restoreTable, { ...at(), tableId: 'in.c-main.sliced' })).toMatchObject({ rowsImported: record.rows });
  });

  test('restoreTable retried with a cursor whose uploaded file the stack no longer has uploads the data again', async () => {
    const lost = await destination.files.upload('lost.csv.gz', Buffer.from('gone'));
    await destination.files.delete(lost.id);
    heartbeats.length = 0;
    // a repair of the sliced table restored above: its import's cursor names a file the stack no longer has
    const result = await runWithCursor({ fileId: lost.id }, activities.restoreTable, { ...at(), tableId: 'in.c-main.sliced', reimport: true });
    expect(result).toMatchObject({ tableId: 'in.c-main.sliced', created: false, rowsImported: 25 });
    expect(heartbeats).toContainEqual({ fileId: expect.anything() });
    expect(heartbeats).not.toContainEqual({ fileId: lost.id });
    expect((await destination.tables.get('in.c-main.sliced'))?.rowsCount).toBe(25);
  });

  test('restoreTable of a table the snapshot does not list is a malformed snapshot, not retried', async () => {
    await expect(run(activities.restoreTable, { ...at(), tableId: 'in.c-main.missing' })).rejects.toMatchObject({
      type: 'MalformedSnapshot',
      nonRetryable: true,
      message: expect.stringContaining('in.c-main.missing is not in tables.json'),
    });
  });

  test('restoreAliases creates an alias after its source table and skips one whose source was not restored', async () => {
    await run(activities.restoreTable, { ...at(), tableId: 'in.c-main.plain' });
    const outcome = await run(activities.restoreAliases, at());
    expect(outcome.created).toEqual(['out.c-out.paid']);
    expect(outcome.skipped).toEqual([{ id: 'out.c-out.campaigns', reason: expect.stringContaining('in.c-shared.campaigns is not in the destination') }]);
    expect(await destination.tables.get('out.c-out.paid')).toMatchObject({ isAlias: true, aliasFilter: { column: 'status', values: ['paid'] } });
    expect((await run(activities.restoreAliases, at())).existing).toEqual(['out.c-out.paid']);
  });

  test('restoreConfigurations keeps IDs, empties encrypted values, skips a missing component, and finds its copies on a re-run', async () => {
    const batch = { ...at(), batchNumber: 0, batchSize: 50 };
    const first = await run(activities.restoreConfigurations, batch);
    expect(first.created.sort()).toEqual(['keboola.app-tree/empty-app', 'keboola.ex-db-mysql/legacy-db']);
    expect(first.skipped).toEqual([{ id: 'kds-team.app-retired/old-1', reason: 'the component does not exist on the destination stack' }]);
    const restored = await destination.configurations.get('keboola.ex-db-mysql', 'legacy-db');
    expect(restored?.configuration).toMatchObject({ parameters: { db: { host: 'db.example.com', '#password': '' } } });
    expect(restored?.state).toEqual({ component: { lastRun: '2024-01-01' } });
    const again = await run(activities.restoreConfigurations, batch);
    expect(again.created).toEqual([]);
    expect(again.existing.sort()).toEqual(['keboola.app-tree/empty-app', 'keboola.ex-db-mysql/legacy-db']);
    expect(await run(activities.verifyConfigurations, at())).toEqual({ checked: 2, mismatches: [] });
  });

  test('verifyConfigurations takes a secret encrypted since for a documented change, and any other edit for a difference', async () => {
    const ciphertext = await destination.encryption.encryptValue('entered again', { componentId: 'keboola.ex-db-mysql', projectId: pair.destinationRef.projectId });
    const restored = (await destination.configurations.get('keboola.ex-db-mysql', 'legacy-db'))!;
    const body = restored.configuration as { parameters: { db: Record<string, unknown> } };
    body.parameters.db['#password'] = ciphertext;
    await destination.configurations.update('keboola.ex-db-mysql', 'legacy-db', { configuration: body, changeDescription: 'password entered again' });
    expect(await run(activities.verifyConfigurations, at())).toEqual({ checked: 2, mismatches: [] });

    body.parameters.db.host = 'elsewhere.example.com';
    await destination.configurations.update('keboola.ex-db-mysql', 'legacy-db', { configuration: body, changeDescription: 'edited by hand' });
    expect(await run(activities.verifyConfigurations, at())).toEqual({ checked: 2, mismatches: [{ configuration: 'keboola.ex-db-mysql/legacy-db', difference: 'configuration body', repairable: false }] });
  });
});
