/**
 * What an incremental sync between two projects changes in a table and a configuration, in the emulator and through
 * the stack client (docs/CONTRACTS.md#table-structure): columns added and dropped (jobs), with their data; what the
 * emulator refuses, at the request and again in the job; primary key changes; `lastChangeDate` / `lastImportDate`;
 * table and bucket drops; configuration rows and state.
 */
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { startStack, type EmulatedStack } from '../../emulator/server';
import { CSV_READ_OPTIONS } from '../../emulator/csv';
import { createStackClient, StackError, type StackClient } from '../../stack';
import { readAll } from '../stack/helpers';
import { Api, tempDir } from './util';

/** Every item of a stream (Array.fromAsync arrives with Node 22). */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

const TOKEN = 'alter-master-token-0123456789';

const seed = {
  stack: {
    region: 'eu-central-1',
    snowflakeHost: 'keboola.eu-central-1.snowflakecomputing.com',
    outboundIpAddresses: ['10.0.0.1'],
    components: [{ id: 'keboola.ex-db-mysql', type: 'extractor' as const, name: 'MySQL' }],
  },
  projects: [
    {
      id: 301,
      name: 'Alterations',
      defaultBackend: 'snowflake' as const,
      backends: ['snowflake'],
      tokens: [{ token: TOKEN, description: 'master', isMasterToken: true, canManageBuckets: true }],
      buckets: [{ id: 'in.c-main' }, { id: 'out.c-reports' }, { id: 'in.c-linked', linkedFrom: { projectId: 77, bucketId: 'out.c-shared' } }],
      tables: [
        { id: 'in.c-main.users', primaryKey: ['id'], columns: ['id', 'name'], rows: [['1', 'alice'], ['2', 'bob'], ['3', 'carol']] },
        {
          id: 'in.c-main.typed',
          primaryKey: ['id'],
          columns: ['id', 'name'],
          typed: {
            columns: [
              { name: 'id', definition: { type: 'NUMBER', nullable: false }, basetype: 'NUMERIC' },
              { name: 'name', definition: { type: 'VARCHAR' }, basetype: 'STRING' },
            ],
          },
          rows: [['1', 'one']],
        },
        { id: 'in.c-main.single', columns: ['only'], rows: [['x']] },
        { id: 'in.c-main.orders', primaryKey: ['id'], columns: ['id', 'status', 'amount', 'note'], rows: [['1', 'paid', '10', ''], ['2', 'new', '5', '']] },
        { id: 'in.c-linked.shared', columns: ['a', 'b'], rows: [] },
      ],
      aliases: [
        { id: 'out.c-reports.users', sourceTable: 'in.c-main.users' },
        { id: 'out.c-reports.paid', sourceTable: 'in.c-main.orders', aliasFilter: { column: 'status', values: ['paid'] } },
        { id: 'out.c-reports.amounts', sourceTable: 'in.c-main.orders', aliasColumns: ['id', 'amount'] },
      ],
    },
  ],
};

const parseCsv = (text: string): string[][] => parse(text, CSV_READ_OPTIONS);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Keboola's timestamps have whole seconds: a change a second later is seen to move them. */
const nextSecond = () => sleep(1100);

let stack: EmulatedStack;
let api: Api;
let client: StackClient;

beforeAll(async () => {
  stack = await startStack({ dataDir: tempDir('emu-alter-'), seed, jobDelayMs: 20 });
  api = new Api(stack.url, TOKEN);
  client = createStackClient({ url: stack.url, token: TOKEN, jobPollIntervalMs: 10, timeoutMs: 10_000 });
});
afterAll(() => stack?.close());

/** The table's rows, by their first value (an export, read through the client's files area). */
async function rowsOf(tableId: string): Promise<string[][]> {
  const file = await client.tables.export(tableId);
  const rows: string[][] = [];
  for (const url of await client.files.sliceUrls(file)) rows.push(...parseCsv(gunzipSync(await readAll(client.files.openSlice(file, url))).toString('utf8')));
  return rows.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

const upload = async (name: string, content: string) => (await client.files.upload(name, Buffer.from(content))).id;

const detail = async (tableId: string) => (await api.get(`tables/${tableId}`)).body;

/** The StackError a call fails with. */
async function failure(call: Promise<unknown>): Promise<StackError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof StackError)) throw new Error(`expected a StackError, got ${String(error)}`);
  return error;
}

describe('adding a column', () => {
  test('through the client: a job; rows get an empty value; an import then fills it; the synced alias shows it; the dates move', async () => {
    const before = await detail('in.c-main.users');
    await nextSecond();
    const job = await client.tables.addColumn('in.c-main.users', { name: 'email' });
    expect(job).toMatchObject({ status: 'success', operationName: 'tableColumnAdd', tableId: 'in.c-main.users' });
    const after = await detail('in.c-main.users');
    expect(after.columns).toEqual(['id', 'name', 'email']);
    expect(after.lastChangeDate > before.lastChangeDate).toBe(true);
    expect(after.lastImportDate).toBe(before.lastImportDate);
    expect((await api.get('buckets/in.c-main')).body.lastChangeDate).toBe(after.lastChangeDate);
    expect(await rowsOf('in.c-main.users')).toEqual([['1', 'alice', ''], ['2', 'bob', ''], ['3', 'carol', '']]);
    expect((await detail('out.c-reports.users')).columns).toEqual(['id', 'name', 'email']);

    await nextSecond();
    const file = await upload('users.csv', 'id,name,email\n2,bob,bob@example.com\n4,dan,dan@example.com\n');
    expect((await client.tables.import('in.c-main.users', { dataFileId: file, incremental: true })).status).toBe('success');
    const imported = await detail('in.c-main.users');
    expect(imported.lastImportDate > after.lastChangeDate).toBe(true);
    expect(imported.lastChangeDate).toBe(imported.lastImportDate);
    expect(imported.rowsCount).toBe(4);
    expect(await rowsOf('in.c-main.users')).toEqual([['1', 'alice', ''], ['2', 'bob', 'bob@example.com'], ['3', 'carol', ''], ['4', 'dan', 'dan@example.com']]);
    expect(await rowsOf('out.c-reports.users')).toEqual(await rowsOf('in.c-main.users'));
  });

  test('Keboola webalizes the name; the job names it in its parameters', async () => {
    const r = await api.post('tables/in.c-main.orders/columns', { name: '_Žluťoučký kůň--2_' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ operationName: 'tableColumnAdd', operationParams: { name: 'Zlutoucky_kun_2' }, tableId: 'in.c-main.orders' });
    expect((await api.waitJob(r.body)).status).toBe('success');
    expect((await detail('in.c-main.orders')).columns).toEqual(['id', 'status', 'amount', 'note', 'Zlutoucky_kun_2']);
    // the alias with its own columns keeps them
    expect((await detail('out.c-reports.amounts')).columns).toEqual(['id', 'amount']);
    expect((await api.job('DELETE', 'tables/in.c-main.orders/columns/Zlutoucky_kun_2?force=1')).status).toBe('success');
  });

  test('to a typed table: definition or basetype; the table definition shows the new column', async () => {
    await client.tables.addColumn('in.c-main.typed', { name: 'score', definition: { type: 'NUMBER', length: '10,2' } });
    await client.tables.addColumn('in.c-main.typed', { name: 'flag', basetype: 'BOOLEAN' });
    await client.tables.addColumn('in.c-main.typed', { name: 'kind', definition: { type: 'VARCHAR', nullable: false, default: 'plain' } });
    const t = await client.tables.get('in.c-main.typed');
    expect(t?.columns).toEqual(['id', 'name', 'score', 'flag', 'kind']);
    expect(t?.definition?.columns.slice(2)).toEqual([
      expect.objectContaining({ name: 'score', definition: expect.objectContaining({ type: 'NUMBER', length: '10,2', nullable: true }), basetype: 'NUMERIC' }),
      expect.objectContaining({ name: 'flag', definition: expect.objectContaining({ type: 'BOOLEAN' }), basetype: 'BOOLEAN' }),
      expect.objectContaining({ name: 'kind', definition: expect.objectContaining({ type: 'VARCHAR', nullable: false, default: 'plain' }), basetype: 'STRING' }),
    ]);
    // the rows there get the default of a column that has one
    expect(await rowsOf('in.c-main.typed')).toEqual([['1', 'one', '', '', 'plain']]);
  });

  test('refused at the request, with Keboola\'s codes', async () => {
    const refused = async (tableId: string, body: Record<string, unknown>) => {
      const r = await api.post(`tables/${tableId}/columns`, body);
      expect(r.status).toBe(400);
      return r.body as { code: string; error: string };
    };
    expect((await refused('in.c-main.users', { name: '' })).code).toBe('storage.tables.invalidColumnName');
    expect((await refused('in.c-main.users', { name: '--' })).code).toBe('storage.tables.invalidColumnName');
    expect((await refused('in.c-main.users', { name: 'x'.repeat(65) })).code).toBe('storage.tables.invalidColumnName');
    expect((await refused('in.c-main.users', { name: 'NAME' })).code).toBe('storage.tables.columnAlreadyExists');
    expect((await refused('out.c-reports.users', { name: 'extra' })).code).toBe('storage.tables.aliasNotAllowed');
    expect((await refused('in.c-linked.shared', { name: 'extra' })).code).toBe('storage.buckets.readOnly');
    expect(await refused('in.c-main.users', { name: 'typed', definition: { type: 'VARCHAR' } })).toMatchObject({
      code: 'storage.tables.validation',
      error: 'Invalid parameters - definition: This field was not expected.',
    });
    expect((await refused('in.c-main.users', { name: 'typed', basetype: 'STRING' })).code).toBe('storage.tables.validation');
    expect(await refused('in.c-main.typed', { name: 'untyped' })).toMatchObject({ code: 'storage.tables.validation', error: 'Column "definition" or "basetype" must be set.' });
    expect((await refused('in.c-main.typed', { name: 'x', basetype: 'MONEY' })).code).toBe('storage.tables.validation');
    expect((await refused('in.c-main.typed', { name: 'x', definition: { type: 'INT64' } })).code).toBe('storage.tables.validation.invalidType');
    expect((await refused('in.c-main.typed', { name: 'x', definition: { type: 'VARCHAR', nullable: false } })).code).toBe('storage.tables.validation');
    expect((await api.post('tables/in.c-main.nope/columns', { name: 'x' })).status).toBe(404);
    // through the client: a StackError with the code
    const error = await failure(client.tables.addColumn('in.c-main.users', { name: 'id' }));
    expect(error).toMatchObject({ kind: 'bad-request', code: 'storage.tables.columnAlreadyExists', retryable: false });
    expect((await detail('in.c-main.users')).columns).toEqual(['id', 'name', 'email']);
  });

  test('checked again when the job runs: of two adds of one name, the second job fails', async () => {
    const [a, b] = await Promise.all([api.post('tables/in.c-main.single/columns', { name: 'twin' }), api.post('tables/in.c-main.single/columns', { name: 'twin' })]);
    expect([a.status, b.status]).toEqual([202, 202]);
    const jobs = await Promise.all([api.waitJob(a.body), api.waitJob(b.body)]);
    expect(jobs.map((j) => j.status).sort()).toEqual(['error', 'success']);
    expect(jobs.find((j) => j.status === 'error').error).toMatchObject({ code: 'storage.tables.columnAlreadyExists' });
    expect((await detail('in.c-main.single')).columns).toEqual(['only', 'twin']);
    expect(await rowsOf('in.c-main.single')).toEqual([['x', '']]);
    expect((await api.job('DELETE', 'tables/in.c-main.single/columns/twin')).status).toBe('success');
  });
});

describe('deleting a column', () => {
  test('through the client: a job; the data goes; the dates move', async () => {
    const before = await detail('in.c-main.users');
    await nextSecond();
    // the synced alias shows the column: force drops it there too
    expect((await failure(client.tables.deleteColumn('in.c-main.users', 'email'))).code).toBe('storage.tables.columnUsedInAlias');
    const job = await client.tables.deleteColumn('in.c-main.users', 'email', { force: true });
    expect(job).toMatchObject({ status: 'success', operationName: 'tableColumnDelete', operationParams: { name: 'email', force: true } });
    const after = await detail('in.c-main.users');
    expect(after.columns).toEqual(['id', 'name']);
    expect(after.lastChangeDate > before.lastChangeDate).toBe(true);
    expect((await detail('out.c-reports.users')).columns).toEqual(['id', 'name']);
    expect(await rowsOf('in.c-main.users')).toEqual([['1', 'alice'], ['2', 'bob'], ['3', 'carol'], ['4', 'dan']]);
    expect(after.dataSizeBytes).toBeLessThan(before.dataSizeBytes);
  });

  test('a column no alias shows goes without force, with its metadata and its type', async () => {
    await client.tables.setMetadata('in.c-main.typed', 'user', { columnsMetadata: { flag: [{ key: 'KBC.description', value: 'a flag' }] } });
    await client.tables.deleteColumn('in.c-main.typed', 'flag');
    const t = await client.tables.get('in.c-main.typed');
    expect(t?.columns).toEqual(['id', 'name', 'score', 'kind']);
    expect(t?.definition?.columns.map((c) => c.name)).toEqual(['id', 'name', 'score', 'kind']);
    expect(t?.columnMetadata).not.toHaveProperty('flag');
    expect(await rowsOf('in.c-main.typed')).toEqual([['1', 'one', '', 'plain']]);
  });

  test('force takes the column from the aliases that sync their columns, filtered ones too', async () => {
    await client.tables.setMetadata('in.c-main.orders', 'user', { columnsMetadata: { note: [{ key: 'KBC.description', value: 'free text' }] } });
    await client.tables.deleteColumn('in.c-main.orders', 'note', { force: true });
    const t = await client.tables.get('in.c-main.orders');
    expect(t?.columns).toEqual(['id', 'status', 'amount']);
    expect(t?.columnMetadata).not.toHaveProperty('note');
    expect(await rowsOf('in.c-main.orders')).toEqual([['1', 'paid', '10'], ['2', 'new', '5']]);
    expect((await detail('out.c-reports.paid')).columns).toEqual(['id', 'status', 'amount']);
    expect(await rowsOf('out.c-reports.paid')).toEqual([['1', 'paid', '10']]);
  });

  test('refused: primary key, last column, alias filter, alias with its own columns, alias, read-only bucket, missing column', async () => {
    const refused = async (path: string, status = 400) => {
      const r = await api.del(path);
      expect(r.status).toBe(status);
      return (r.body as { code: string }).code;
    };
    expect(await refused('tables/in.c-main.users/columns/id')).toBe('storage.tables.cannotDeletePrimaryKeyColumn');
    expect(await refused('tables/in.c-main.single/columns/only')).toBe('storage.tables.cannotDeleteLastColumn');
    expect(await refused('tables/in.c-main.orders/columns/status?force=1')).toBe('storage.tables.columnUsedInAliasFilter');
    // `amounts` shows `amount` and does not sync its columns: not even force takes it from there
    expect(await refused('tables/in.c-main.orders/columns/amount')).toBe('storage.tables.columnUsedInAlias');
    expect(await refused('tables/in.c-main.orders/columns/amount?force=1')).toBe('storage.tables.columnUsedInAlias');
    expect(await refused('tables/out.c-reports.users/columns/name')).toBe('storage.tables.aliasNotAllowed');
    expect(await refused('tables/in.c-linked.shared/columns/b')).toBe('storage.buckets.readOnly');
    expect(await refused('tables/in.c-main.users/columns/nope', 404)).toBe('storage.tables.columnNotFound');
    expect((await failure(client.tables.deleteColumn('in.c-main.users', 'id'))).code).toBe('storage.tables.cannotDeletePrimaryKeyColumn');
    expect((await detail('in.c-main.orders')).columns).toEqual(['id', 'status', 'amount']);
  });
});

describe('primary key', () => {
  test('setPrimaryKey replaces the key (removed first), removes it with [], and sends nothing when it is already so', async () => {
    const before = await detail('in.c-main.users');
    await nextSecond();
    await client.tables.setPrimaryKey('in.c-main.users', ['id', 'name']);
    const changed = await detail('in.c-main.users');
    expect(changed.primaryKey).toEqual(['id', 'name']);
    expect(changed.lastChangeDate > before.lastChangeDate).toBe(true);
    expect((await detail('out.c-reports.users')).primaryKey).toEqual(['id', 'name']);

    const send = jest.spyOn(client.transport, 'send');
    const sent = () => send.mock.calls.map(([method, path]) => `${method} ${path}`).filter((call) => !call.startsWith('GET /jobs/'));
    try {
      await client.tables.setPrimaryKey('in.c-main.users', ['id', 'name']);
      expect(sent()).toEqual(['GET /tables/in.c-main.users']);
      send.mockClear();
      await client.tables.setPrimaryKey('in.c-main.users', []);
      expect(sent()).toEqual(['GET /tables/in.c-main.users', 'DELETE /tables/in.c-main.users/primary-key']);
      expect((await detail('in.c-main.users')).primaryKey).toEqual([]);
      send.mockClear();
      await client.tables.setPrimaryKey('in.c-main.users', ['id']);
      expect(sent()).toEqual(['GET /tables/in.c-main.users', 'POST /tables/in.c-main.users/primary-key']);
    } finally {
      send.mockRestore();
    }
    expect((await detail('in.c-main.users')).primaryKey).toEqual(['id']);
    // a key of a column the table lacks fails its job; a missing table is not-found
    expect((await failure(client.tables.setPrimaryKey('in.c-main.users', ['nope']))).code).toBe('storage.tables.invalidPrimaryKeyColumns');
    expect((await detail('in.c-main.users')).primaryKey).toEqual([]);
    await client.tables.setPrimaryKey('in.c-main.users', ['id']);
    expect((await failure(client.tables.setPrimaryKey('in.c-main.nope', ['id']))).kind).toBe('not-found');
  });
});

describe('dropping tables and buckets', () => {
  test('tables.delete: answers once the table is gone; one already gone is fine; aliases need force', async () => {
    await api.job('POST', 'buckets/in.c-main/tables-definition', { name: 'scratch', primaryKeysNames: [], columns: [{ name: 'a', definition: { type: 'VARCHAR' } }] });
    await client.tables.delete('in.c-main.scratch');
    expect(await client.tables.get('in.c-main.scratch')).toBeNull();
    await client.tables.delete('in.c-main.scratch');
    await client.tables.delete('in.c-nobucket.scratch');

    expect((await failure(client.tables.delete('in.c-main.users'))).code).toBe('storage.tables.cannotDeleteTableWithAliases');
    expect(await client.tables.get('in.c-main.users')).not.toBeNull();
    // an alias goes on its own; its source stays
    await client.tables.delete('out.c-reports.users');
    expect(await client.tables.get('out.c-reports.users')).toBeNull();
    await client.tables.createAlias('out.c-reports', { sourceTable: 'in.c-main.users', name: 'users' });
    await client.tables.delete('in.c-main.users', { force: true });
    expect(await client.tables.get('in.c-main.users')).toBeNull();
    expect(await client.tables.get('out.c-reports.users')).toBeNull();
    // the synchronous form (deprecated) behaves the same
    expect((await api.del('tables/in.c-main.orders')).body).toMatchObject({ code: 'storage.tables.cannotDeleteTableWithAliases' });
  });

  test('bucket delete with force=true: refused while an alias elsewhere reads one of its tables, then takes tables and aliases', async () => {
    const refused = await api.del('buckets/in.c-main?force=true');
    expect(refused).toMatchObject({ status: 400, body: { code: 'storage.buckets.tablesHaveAliases' } });
    expect((await api.del('buckets/in.c-main')).body.code).toBe('buckets.deleteNotEmpty');
    await client.buckets.delete('out.c-reports', { force: true });
    expect((await api.get('tables/out.c-reports.paid')).status).toBe(404);
    await client.buckets.delete('in.c-main', { force: true });
    expect((await api.get('buckets/in.c-main')).status).toBe(404);
    expect((await api.get('tables')).body.map((t: { id: string }) => t.id)).toEqual(['in.c-linked.shared']);
  });
});

describe('configurations: list, rows, state', () => {
  test('updateRow changes only what it is given; deleteRow; updateState; list', async () => {
    const componentId = 'keboola.ex-db-mysql';
    await client.configurations.create(componentId, { configurationId: 'crm', name: 'CRM', configuration: { parameters: { db: 'crm' } } });
    await client.configurations.createRow(componentId, 'crm', { rowId: 'orders', name: 'Orders', configuration: { table: 'orders' }, state: { last: 1 } });
    await client.configurations.createRow(componentId, 'crm', { rowId: 'customers', name: 'Customers', configuration: { table: 'customers' } });
    const version = (await client.configurations.get(componentId, 'crm'))!.version!;

    const row = await client.configurations.updateRow(componentId, 'crm', 'orders', { configuration: { table: 'orders', incremental: true }, changeDescription: 'sync' });
    expect(row).toMatchObject({ id: 'orders', name: 'Orders', configuration: { table: 'orders', incremental: true }, state: { last: 1 }, version: 2, changeDescription: 'sync' });
    await client.configurations.deleteRow(componentId, 'crm', 'customers', { changeDescription: 'gone from the source' });
    await client.configurations.deleteRow(componentId, 'crm', 'orders');
    const afterRows = await client.configurations.get(componentId, 'crm');
    expect(afterRows?.rows).toEqual([]);
    expect(afterRows?.version).toBe(version + 3);
    expect(afterRows?.changeDescription).toBe('Row orders deleted');

    const stated = await client.configurations.updateState(componentId, 'crm', { component: { lastId: 42 } });
    expect(stated.state).toEqual({ component: { lastId: 42 } });
    expect(stated.version).toBe(afterRows?.version);

    await client.configurations.create(componentId, { configurationId: 'other', name: 'Other' });
    await client.configurations.delete(componentId, 'other');
    const list = await collect(client.configurations.stream(componentId));
    expect(list.map((c) => c.id)).toEqual(['crm']);
    expect(list[0]).toMatchObject({ configuration: { parameters: { db: 'crm' } }, state: { component: { lastId: 42 } } });
    expect(await collect(client.configurations.stream('keboola.ex-db-mysql-none'))).toEqual([]);
    expect((await failure(client.configurations.updateRow(componentId, 'crm', 'nope', { name: 'x' }))).kind).toBe('not-found');
  });
});
