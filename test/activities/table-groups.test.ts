// The activities that move tables a group at a time, in a MockActivityEnvironment against an emulated destination
// and Keboola's backup fixture: each table of the group is restored and verified in turn, a retry goes on after what
// its previous attempt finished, and a table that differs after its import is imported again (a bounded number of
// times) before it counts as a mismatch.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Info } from '@temporalio/activity';
import { createActivities, createActivityDeps, type ActivityDeps } from '../../activities';
import { createStackClient, StackError, type StackClient } from '../../stack';
import { startStackPair, type StackPair } from '../../scripts/stack-pair';
import { TABLE_REPAIRS, type TableVerification } from '../../workflows/types';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'keboola-backup');
const ONE_ROW = 'in.c-main.sliced';

let pair: StackPair;
let destination: StackClient;
let snapshotDir: string;
let deps: ActivityDeps;
const heartbeats: unknown[] = [];

function run<A extends unknown[], R>(info: Partial<Info>, fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  const env = new MockActivityEnvironment(info);
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return env.run(fn, ...args);
}

type TableImport = StackClient['tables']['import'];

/** The activities over a destination whose table imports go through `around`, which calls the stack's when it will. */
function activitiesAroundImport(around: (realImport: TableImport, client: StackClient, ...args: Parameters<TableImport>) => ReturnType<TableImport>) {
  return createActivities({
    ...deps,
    // a client of its own, changed here: the worker's clients are shared by every activity (activities/deps.ts)
    async stackClient(ref) {
      const client = createStackClient({ url: ref.url, token: await deps.resolveToken(ref.tokenRef) });
      const realImport = client.tables.import.bind(client.tables);
      client.tables.import = (tableId, input) => around(realImport, client, tableId, input);
      return client;
    },
  });
}

/**
 * The activities over a destination that loses rows: after each of the first `losses` imports of ONE_ROW has
 * finished, the table is overwritten with a single row (as a stack that lost a write would leave it).
 */
function activitiesLosingRows(losses: number, imported: string[]) {
  return activitiesAroundImport(async (realImport, client, tableId, input) => {
    const job = await realImport(tableId, input);
    imported.push(tableId);
    if (tableId === ONE_ROW && imported.filter((id) => id === ONE_ROW).length <= losses) {
      const file = await client.files.upload('one-row.csv', Buffer.from('"id","name","note"\n"1","lost","row"\n'));
      await realImport(tableId, { dataFileId: file.id, incremental: false });
    }
    return job;
  });
}

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {};
  pair = await startStackPair({ jobDelayMs: 5, env });
  destination = createStackClient({ url: pair.destination.url, token: pair.tokens.destination });
  deps = createActivityDeps({ snapshotRoot: os.tmpdir(), env });
  snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'table-groups-'));
  await fs.cp(FIXTURE, snapshotDir, { recursive: true });
  const activities = createActivities(deps);
  await run({}, activities.restoreBuckets, { destination: pair.destinationRef, snapshotDir });
  expect(await run({}, activities.fingerprintTableGroup, { snapshotDir, tableIds: ['in.c-main.plain', 'in.c-main.typed', ONE_ROW], lanes: 2 })).toEqual([4, 3, 25]);
});
afterAll(() => pair?.close());

const group = (tableIds: string[]) => ({ destination: pair.destinationRef, snapshotDir, tableIds, lanes: 2 });

describe('tables moved a group per activity', () => {
  test('a retry goes on after the tables its previous attempt finished, with the cursor of the table it was in', async () => {
    const lost = await destination.files.upload('lost.csv.gz', Buffer.from('gone'));
    await destination.files.delete(lost.id);
    const finished: TableVerification = { tableId: 'in.c-main.plain', expected: { rows: 4, checksum: 'm3:aa' }, actual: { rows: 4, checksum: 'm3:aa' }, ok: true };
    heartbeats.length = 0;
    const summary = await run(
      { attempt: 2, heartbeatDetails: { done: { 'in.c-main.plain': finished }, inHand: { 'in.c-main.typed': { fileId: lost.id } } } },
      createActivities(deps).restoreTableGroup,
      group(['in.c-main.plain', 'in.c-main.typed']),
    );
    // the finished table is answered from the heartbeat, not restored again
    expect(summary).toMatchObject({ tables: 2, ok: 2, rows: 7, mismatches: [] });
    expect(await destination.tables.get('in.c-main.plain')).toBeNull();
    // the table in hand had a cursor whose file the stack no longer has: its data was uploaded again
    expect(await destination.tables.get('in.c-main.typed')).toMatchObject({ rowsCount: 3 });
    const uploaded = heartbeats.find((h): h is { inHand: Record<string, { fileId: unknown }> } => Object.keys((h as { inHand?: object }).inHand ?? {}).length > 0);
    expect(uploaded).toEqual({ done: { 'in.c-main.plain': finished }, inHand: { 'in.c-main.typed': { fileId: expect.anything() } } });
    expect(uploaded?.inHand['in.c-main.typed'].fileId).not.toEqual(lost.id);
    expect(heartbeats.at(-1)).toEqual({ done: { 'in.c-main.plain': finished, 'in.c-main.typed': expect.objectContaining({ ok: true }) }, inHand: {} });
  });

  test('a table that lost rows after its import is imported again and verified again; the group answers every table', async () => {
    const imported: string[] = [];
    const summary = await run({}, activitiesLosingRows(1, imported).restoreTableGroup, group(['in.c-main.plain', ONE_ROW]));
    expect(summary).toMatchObject({ tables: 2, ok: 2, rows: 4 + 25, mismatches: [] });
    // the untyped plain table is created from its data file (no import job); the sliced one is imported, then again
    expect(imported).toEqual([ONE_ROW, ONE_ROW]);
    expect(await destination.tables.get('in.c-main.plain')).toMatchObject({ rowsCount: 4 });
    expect(await destination.tables.get(ONE_ROW)).toMatchObject({ rowsCount: 25 });
  });

  test('a table that stays different after the bounded repairs is a mismatch of the group, not a failed activity', async () => {
    await destination.tables.delete(ONE_ROW, { force: true }); // restored by the test before
    const imported: string[] = [];
    const summary = await run({}, activitiesLosingRows(Infinity, imported).restoreTableGroup, group([ONE_ROW]));
    expect(imported).toHaveLength(1 + TABLE_REPAIRS);
    expect(summary).toMatchObject({ tables: 1, ok: 0, rows: 1, mismatches: [{ tableId: ONE_ROW, expected: { rows: 25 }, actual: { rows: 1 }, ok: false }] });
  });

  test('a cancelled group finishes the table in hand, starts no other, and ends cancelled', async () => {
    for (const tableId of ['in.c-main.plain', 'in.c-main.typed']) await destination.tables.delete(tableId, { force: true }).catch(() => undefined);
    const env = new MockActivityEnvironment({});
    const activities = activitiesAroundImport((realImport, _client, tableId, input) => {
      env.cancel(); // the migration is cancelled while the first table's data is on its way in (the typed one's)
      return realImport(tableId, input);
    });
    await expect(env.run(activities.restoreTableGroup, { ...group(['in.c-main.typed', 'in.c-main.plain']), lanes: 1 })).rejects.toMatchObject({
      name: 'CancelledFailure',
      message: "cancelled after 1 of the group's 2 tables; the tables in hand finished",
    });
    expect(await destination.tables.get('in.c-main.typed')).toMatchObject({ rowsCount: 3 });
    expect(await destination.tables.get('in.c-main.plain')).toBeNull();
  });

  test('a table that fails does not stop the others; the retry has only it left, with its cursor', async () => {
    for (const tableId of ['in.c-main.plain', 'in.c-main.typed']) await destination.tables.delete(tableId, { force: true }).catch(() => undefined);
    let failed = false;
    const activities = activitiesAroundImport(async (realImport, _client, tableId, input) => {
      if (tableId === 'in.c-main.typed' && !failed) {
        failed = true;
        throw new StackError({ kind: 'server', message: 'POST tables/in.c-main.typed/import-async: 500 internal error', endpoint: 'POST /tables/{tableId}/import-async' });
      }
      return realImport(tableId, input);
    });
    heartbeats.length = 0;
    await expect(run({}, activities.restoreTableGroup, { ...group(['in.c-main.typed', 'in.c-main.plain']), lanes: 1 })).rejects.toMatchObject({
      type: 'StackServerError',
      nonRetryable: false,
      message: expect.stringContaining('500 internal error'),
    });
    expect(await destination.tables.get('in.c-main.plain')).toMatchObject({ rowsCount: 4 }); // restored after the failure
    const left = heartbeats.at(-1) as { done: Record<string, TableVerification>; inHand: Record<string, unknown> };
    expect(Object.keys(left.done)).toEqual(['in.c-main.plain']);
    expect(left.inHand).toEqual({ 'in.c-main.typed': { fileId: expect.anything() } });

    const retried = await run({ attempt: 2, heartbeatDetails: left }, activities.restoreTableGroup, { ...group(['in.c-main.typed', 'in.c-main.plain']), lanes: 1 });
    expect(retried).toMatchObject({ tables: 2, ok: 2, mismatches: [] });
    expect(await destination.tables.get('in.c-main.typed')).toMatchObject({ rowsCount: 3 });
  });

  test('a failure no retry repairs stops the group: no other table starts, and the failure names the table', async () => {
    await destination.tables.delete('in.c-main.plain', { force: true }).catch(() => undefined);
    await expect(run({}, createActivities(deps).restoreTableGroup, { ...group(['in.c-main.missing', 'in.c-main.plain']), lanes: 1 })).rejects.toMatchObject({
      type: 'MalformedSnapshot',
      nonRetryable: true,
      message: expect.stringContaining('in.c-main.missing is not in tables.json'),
    });
    expect(await destination.tables.get('in.c-main.plain')).toBeNull();
  });

  test('an untyped table exported in one slice is created from that slice with its header row put back: no import job', async () => {
    const tableId = 'in.c-main.oneslice';
    // a backup of its own (the index of the one above is read once per process), with the one-slice table added
    const oneSlice = await fs.mkdtemp(path.join(os.tmpdir(), 'table-groups-slice-'));
    await fs.cp(FIXTURE, oneSlice, { recursive: true });
    await fs.writeFile(path.join(oneSlice, 'in/c-main/oneslice.part_0.csv.gz'), gzipSync('"1","first"\n"2","second, with a comma"\n'));
    const listing = JSON.parse(await fs.readFile(path.join(oneSlice, 'tables.json'), 'utf8')) as unknown[];
    const table = { id: tableId, name: 'oneslice', bucket: { id: 'in.c-main' }, columns: ['id', 'label'], primaryKey: ['id'], rowsCount: 2, dataSizeBytes: 64, isAlias: false };
    await fs.writeFile(path.join(oneSlice, 'tables.json'), JSON.stringify([...listing, table]));
    const activities = createActivities(deps);
    expect(await run({}, activities.fingerprintTableGroup, { snapshotDir: oneSlice, tableIds: [tableId], lanes: 1 })).toEqual([2]);
    const requests = async () => (await (await fetch(`${pair.destination.url}/_emulator/requests`)).json()) as Record<string, number>;
    const before = await requests();
    expect(await run({}, activities.restoreTableGroup, { ...group([tableId]), snapshotDir: oneSlice, lanes: 1 })).toMatchObject({ tables: 1, ok: 1, rows: 2 });
    const after = await requests();
    const added = (route: string) => (after[route] ?? 0) - (before[route] ?? 0);
    expect([added('POST /v2/storage/files/prepare'), added('POST /v2/storage/buckets/{bucketId}/tables-async'), added('POST /v2/storage/tables/{tableId}/import-async')]).toEqual([1, 1, 0]);
    expect(await destination.tables.get(tableId)).toMatchObject({ columns: ['id', 'label'], primaryKey: ['id'], rowsCount: 2 });
  });
});
