// The snapshot model: one reader checks each file of a backup folder against its schema and answers what the
// restore brings over. A backup written by someone else is untrusted: a malformed file names itself and the problem.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MalformedSnapshotError } from '../../snapshot/layout';
import { GROUPED_TABLE_MAX_BYTES, snapshotAt } from '../../snapshot/reader';
import { LocalSnapshotStore } from '../../snapshot/store';

async function backup(files: Record<string, unknown>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reader-'));
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const buckets = [
  { id: 'in.c-crm', name: 'c-crm', stage: 'in', backend: 'snowflake' },
  { id: 'in.c-linked', name: 'c-linked', stage: 'in', backend: 'snowflake', isLinkedBucket: true },
  { id: 'sys.c-system', name: 'c-system', stage: 'sys', backend: 'snowflake' },
];
const tables = [
  { id: 'in.c-crm.orders', name: 'orders', columns: ['id'], bucket: { id: 'in.c-crm' } },
  { id: 'in.c-crm.customers', name: 'customers', columns: ['id'], columnMetadata: [] },
  { id: 'in.c-crm.paid', name: 'paid', columns: ['id'], isAlias: true, sourceTable: { id: 'in.c-crm.orders' } },
  { id: 'in.c-linked.shared', name: 'shared', columns: ['id'] },
];

test('answers which buckets, tables, aliases and configurations a restore brings over', async () => {
  const dir = await backup({
    'buckets.json': buckets,
    'tables.json': tables,
    'configurations.json': [
      { id: 'keboola.ex-http', configurations: [{ id: 7, version: 4 }, { id: 'b' }] },
      { id: 'orchestrator', configurations: [{ id: '123', version: 2 }] },
    ],
  });
  const index = await snapshotAt(new LocalSnapshotStore(dir)).index();
  expect(index.restorableBuckets().map((b) => b.id)).toEqual(['in.c-crm']);
  expect(index.backends()).toEqual(['snowflake']);
  expect(index.dataTableIds).toEqual(['in.c-crm.customers', 'in.c-crm.orders']);
  expect(index.aliases.map((t) => t.id)).toEqual(['in.c-crm.paid']);
  // numeric IDs of older backups read as strings; the legacy orchestrator's configurations become orchestrations
  expect(index.configurations).toEqual([
    { componentId: 'keboola.ex-http', configId: '7' },
    { componentId: 'keboola.ex-http', configId: 'b' },
  ]);
  expect(index.configurationsOf('orchestrator')).toEqual([{ componentId: 'orchestrator', configId: '123' }]);
  expect(index.configurationsOf('keboola.ex-db')).toEqual([]);
  // the version a sync pass compares; a Keboola backup may list none
  expect(index.configurationVersion({ componentId: 'keboola.ex-http', configId: '7' })).toBe(4);
  expect(index.configurationVersion({ componentId: 'keboola.ex-http', configId: 'b' })).toBeUndefined();
  expect(index.configurationVersion({ componentId: 'orchestrator', configId: '123' })).toBe(2);
  expect(index.tableBatch(1, 1)).toEqual(['in.c-crm.orders']);
});

test('splits a batch by size: small tables moved together, a large or unsized one alone', async () => {
  const small = Array.from({ length: 5 }, (_, i) => ({ id: `in.c-crm.t${i}`, name: `t${i}`, columns: ['id'], dataSizeBytes: GROUPED_TABLE_MAX_BYTES - i }));
  const large = { id: 'in.c-crm.big', name: 'big', columns: ['id'], dataSizeBytes: GROUPED_TABLE_MAX_BYTES + 1 };
  const unsized = { id: 'in.c-crm.unknown', name: 'unknown', columns: ['id'] };
  const dir = await backup({ 'buckets.json': buckets, 'tables.json': [...small, large, unsized], 'configurations.json': [] });
  const index = await snapshotAt(new LocalSnapshotStore(dir)).index();
  expect(index.splitTableBatch(0, 100)).toEqual({ grouped: small.map((t) => t.id), alone: ['in.c-crm.big', 'in.c-crm.unknown'] });
  // a later batch splits only its own tables
  expect(index.splitTableBatch(1, 3)).toEqual({ grouped: ['in.c-crm.t2', 'in.c-crm.t3', 'in.c-crm.t4'], alone: [] });
});

test("keeps of each table the fields restore and sync read, and the bucket and an alias's source by ID only", async () => {
  const listed = {
    id: 'in.c-crm.orders',
    name: 'orders',
    displayName: 'Orders',
    columns: ['id', 'amount'],
    primaryKey: ['id'],
    metadata: [{ key: 'KBC.description', value: 'all orders', provider: 'user' }],
    lastImportDate: '2026-01-01T00:00:00+0000',
    uri: 'https://connection.keboola.com/v2/storage/tables/in.c-crm.orders',
    attributes: [{ name: 'x', value: 'y' }],
    bucket: { id: 'in.c-crm', name: 'c-crm', backend: 'snowflake', owner: { name: 'Jane', email: 'jane@example.com' } },
  };
  const alias = { id: 'in.c-crm.paid', name: 'paid', columns: ['id'], isAlias: true, sourceTable: { id: 'in.c-crm.orders', project: { id: 1, name: 'p' } } };
  const dir = await backup({ 'buckets.json': buckets, 'tables.json': [listed, alias], 'configurations.json': [] });
  const index = await snapshotAt(new LocalSnapshotStore(dir)).index();
  expect(index.table('in.c-crm.orders')).toEqual({
    id: 'in.c-crm.orders',
    name: 'orders',
    displayName: 'Orders',
    columns: ['id', 'amount'],
    primaryKey: ['id'],
    metadata: listed.metadata,
    lastImportDate: listed.lastImportDate,
    bucket: { id: 'in.c-crm' },
  });
  expect(index.table('in.c-crm.paid').sourceTable).toEqual({ id: 'in.c-crm.orders' });
  expect(index.tables.map((t) => t.id)).toEqual(['in.c-crm.orders', 'in.c-crm.paid']);
});

test("a configuration's ID is the listing's, never a field of its file", async () => {
  const dir = await backup({
    'buckets.json': [],
    'tables.json': [],
    'configurations.json': [{ id: 'keboola.ex-http', configurations: [{ id: 'right' }] }],
    'configurations/keboola.ex-http/right.json': { id: 'wrong', name: 'HTTP', configuration: { parameters: {} } },
  });
  const reader = snapshotAt(new LocalSnapshotStore(dir));
  const [ref] = (await reader.index()).configurations;
  expect(await reader.configuration(ref)).toMatchObject({ id: 'right', name: 'HTTP' });
});

test.each([
  ['a missing index file', { 'tables.json': [] }, /^buckets\.json is missing from the snapshot/],
  ['a file that is not JSON', { 'buckets.json': '[{"id":', 'tables.json': [] }, /^buckets\.json is not valid JSON: the snapshot is truncated or corrupted/],
  ['a table without its columns', { 'buckets.json': buckets, 'tables.json': [{ id: 'in.c-crm.x', name: 'x' }] }, /^tables\.json in the snapshot .* is not in Keboola's backup layout: 0\.columns: /],
  ['a bucket list that is an object', { 'buckets.json': { id: 'in.c-crm' }, 'tables.json': [] }, /^buckets\.json .* not in Keboola's backup layout: \(the whole file\): /],
])('%s is a MalformedSnapshotError that names the file and the problem', async (_case, files, message) => {
  const failure = await snapshotAt(new LocalSnapshotStore(await backup(files))).index().catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(MalformedSnapshotError);
  expect(failure).toMatchObject({ type: 'MalformedSnapshot', nonRetryable: true, message: expect.stringMatching(message) });
});

test('files a migration writes later are read when asked for and checked too', async () => {
  const dir = await backup({ 'buckets.json': [], 'tables.json': [], 'triggers.json': [{ id: 1, component: 'orchestration', configurationId: 2 }] });
  const failure = await snapshotAt(new LocalSnapshotStore(dir)).triggers().catch((error: unknown) => error);
  expect(failure).toMatchObject({ type: 'MalformedSnapshot', message: expect.stringMatching(/^triggers\.json .*0\.tables: /) });
  expect(await snapshotAt(new LocalSnapshotStore(dir)).orchestrations()).toEqual([]); // Keboola's own backups have none
});
