/**
 * The stack client against the emulator (emulator/server.ts): a real HTTP server speaking the documented API.
 * Checks that the client's requests and schemas agree with the emulator's answers, end to end, including the
 * file protocol of docs/CONTRACTS.md (export → stream slices → sliced upload → import) and fault injection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import pMap from 'p-map';
import { startStack } from '../../emulator/server';
import { z } from 'zod';
import { BucketSchema, createStackClient, StackClient, StackError, type ApiResponse, type FileInfo } from '../../stack';
import { readAll } from './helpers';

const TOKEN = 'emu-master-token-0123456789';

const seed = {
  stack: {
    region: 'eu-central-1',
    name: 'emulated',
    snowflakeHost: 'keboola.eu-central-1.snowflakecomputing.com',
    outboundIpAddresses: ['10.0.0.1'],
    features: ['emulated'],
    components: [
      { id: 'keboola.ex-db-snowflake', type: 'extractor', name: 'Snowflake extractor', flags: ['genericDockerUI'] },
      { id: 'keboola.orchestrator', type: 'other', name: 'Flow' },
    ],
  },
  projects: [
    {
      id: 101,
      name: 'Source',
      defaultBackend: 'snowflake',
      backends: ['snowflake'],
      tokens: [{ token: TOKEN, description: 'master', isMasterToken: true, canManageBuckets: true }],
      branchMetadata: [{ key: 'KBC.projectDescription', value: 'emulated project' }],
      buckets: [{ id: 'in.c-main', displayName: 'main', description: 'Main', metadata: [{ key: 'KBC.createdBy', value: 'seed', provider: 'system' }] }],
      tables: [
        {
          id: 'in.c-main.users',
          primaryKey: ['id'],
          columns: ['id', 'name'],
          typed: {
            columns: [
              { name: 'id', definition: { type: 'NUMBER', nullable: false }, basetype: 'NUMERIC' },
              { name: 'name', definition: { type: 'VARCHAR' }, basetype: 'STRING' },
            ],
          },
          columnMetadata: { id: [{ key: 'KBC.description', value: 'identifier', provider: 'user' }] },
          rows: [
            ['1', 'alice'],
            ['2', 'bob'],
            ['3', 'carol'],
          ],
        },
      ],
      aliases: [{ id: 'in.c-main.users-alias', sourceTable: 'in.c-main.users', aliasFilter: { column: 'id', values: ['1'], operator: 'eq' } }],
      configurations: [
        {
          componentId: 'keboola.ex-db-snowflake',
          id: 'cfg-1',
          name: 'Extractor',
          configuration: { parameters: { db: { host: 'h' } } },
          state: { last: 1 },
          rowsSortOrder: ['r2', 'r1'],
          rows: [
            { id: 'r1', name: 'one', configuration: { table: 'a' } },
            { id: 'r2', name: 'two', configuration: { table: 'b' } },
          ],
          metadata: [{ key: 'KBC.configuration.folderName', value: 'folder' }],
        },
      ],
    },
  ],
};

let dataDir: string;
let stack: { url: string; close(): Promise<void> };
let client: StackClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stack-client-emu-'));
  stack = await startStack({ port: 0, dataDir, seed, jobDelayMs: 20, exportSliceRows: 2 } as Parameters<typeof startStack>[0]);
  client = createStackClient({ url: stack.url, token: TOKEN, jobPollIntervalMs: 10, timeoutMs: 10_000 });
});

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function admin(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
}

/** The requests the client has no method for (the migration never makes them), by the raw request path. */
const getBucket = (id: string) => client.transport.request('GET', `/buckets/${id}`, BucketSchema, { allow404: true });
async function awaitIfJob(request: Promise<ApiResponse>): Promise<void> {
  const res = await request;
  if (res.status === 202) await client.transport.jobOf(res);
}

async function readCsvSlices(file: FileInfo): Promise<string> {
  const urls = await client.files.sliceUrls(file);
  let text = '';
  for (const url of urls) {
    const data = await readAll(client.files.openSlice(file, url));
    text += gunzipSync(data).toString('utf8');
  }
  return text;
}

describe('reading a project', () => {
  it('tokens.verify / services.index / branches / branch metadata', async () => {
    const info = await client.tokens.verify();
    expect(info.isMasterToken).toBe(true);
    expect(info.owner).toMatchObject({ name: 'Source', defaultBackend: 'snowflake', hasSnowflake: true });
    expect(JSON.stringify(info)).not.toContain(TOKEN);

    const index = await client.services.index();
    expect(index.components.map((c) => c.id)).toEqual(expect.arrayContaining(['keboola.ex-db-snowflake', 'keboola.orchestrator']));

    const branches = await client.transport.list('GET', '/dev-branches', z.looseObject({ isDefault: z.boolean() }));
    expect(branches.some((b) => b.isDefault)).toBe(true);

    const metadata = await client.branches.listMetadata();
    expect(metadata).toEqual([expect.objectContaining({ key: 'KBC.projectDescription', value: 'emulated project' })]);
  });

  it('buckets and tables', async () => {
    const buckets = await client.buckets.list();
    expect(buckets.map((b) => b.id)).toContain('in.c-main');
    expect(buckets.find((b) => b.id === 'in.c-main')?.metadata?.[0]).toMatchObject({ key: 'KBC.createdBy', provider: 'system' });
    expect(await getBucket('in.c-nope')).toBeNull();

    const tables = await client.tables.list();
    const users = tables.find((t) => t.id === 'in.c-main.users')!;
    expect(users.columns).toEqual(['id', 'name']);
    expect(users.primaryKey).toEqual(['id']);
    // Typed tables also carry the stack's own `storage` datatype entries: look up the user's entry.
    expect(users.columnMetadata?.id?.find((m) => m.provider !== 'storage')).toMatchObject({ key: 'KBC.description', value: 'identifier' });
    const alias = tables.find((t) => t.id === 'in.c-main.users-alias')!;
    expect(alias.isAlias).toBe(true);
    expect(alias.sourceTable?.id).toBe('in.c-main.users');
    expect(alias.aliasFilter).toMatchObject({ column: 'id', values: ['1'] });

    const detail = await client.tables.get('in.c-main.users');
    expect(detail?.definition?.columns.map((c) => c.name)).toEqual(['id', 'name']);
    expect(await client.tables.get('in.c-main.nope')).toBeNull();
  });

  it('components and configurations', async () => {
    const components = await client.components.list();
    const extractor = components.find((c) => c.id === 'keboola.ex-db-snowflake')!;
    const config = extractor.configurations.find((c) => c.id === 'cfg-1')!;
    expect(config.configuration).toEqual({ parameters: { db: { host: 'h' } } });
    expect(config.state).toEqual({ last: 1 });
    expect(config.rowsSortOrder).toEqual(['r2', 'r1']);
    expect(config.rows?.map((r) => r.id).sort()).toEqual(['r1', 'r2']);

    expect((await client.configurations.get('keboola.ex-db-snowflake', 'cfg-1'))?.name).toBe('Extractor');
    expect(await client.configurations.get('keboola.ex-db-snowflake', 'nope')).toBeNull();
    const metadata = await client.configurations.listMetadata('keboola.ex-db-snowflake', 'cfg-1');
    expect(metadata[0]).toMatchObject({ key: 'KBC.configuration.folderName', value: 'folder' });
  });

  it("a component of 10,000 configurations is read one at a time while a request is made for each, as the snapshot does", async () => {
    // Read straight from the connection, such a listing was cut ("other side closed") near its end once the caller
    // had worked on it for seconds: the client now takes the answer in whole, to a file, before handing it over.
    const token = 'emu-many-configurations-token';
    const configurations = Array.from({ length: 10_000 }, (_, i) => ({ componentId: 'keboola.ex-db-snowflake', id: `many-${i}`, name: `configuration ${i}`, configuration: { parameters: { index: i } } }));
    await admin('POST', '/_emulator/projects', { id: 150, name: 'Many configurations', defaultBackend: 'snowflake', backends: ['snowflake'], tokens: [{ token, description: 'master', isMasterToken: true }], configurations });
    const many = createStackClient({ url: stack.url, token, timeoutMs: 10_000 });
    const read: string[] = [];
    await pMap(
      many.configurations.stream('keboola.ex-db-snowflake'),
      async (configuration) => {
        await many.configurations.listMetadata('keboola.ex-db-snowflake', configuration.id);
        read.push(configuration.id);
      },
      { concurrency: 8 },
    );
    expect(read.length).toBe(10_000);
    expect(new Set(read)).toEqual(new Set(configurations.map((c) => c.id)));
  });

  it('exports a table as gzipped slices and streams them', async () => {
    const file = await client.tables.export('in.c-main.users');
    expect(file.isSliced).toBe(true);
    const urls = await client.files.sliceUrls(file);
    expect(urls.length).toBeGreaterThanOrEqual(2);
    const csv = await readCsvSlices(file);
    // slices without header, in table column order
    expect(csv.trim().split('\n').sort()).toEqual(['"1","alice"', '"2","bob"', '"3","carol"']);
  });
});

describe('writing a project', () => {
  it('buckets, typed tables, sliced upload + import, metadata, keys, aliases', async () => {
    const bucket = await client.buckets.create({ name: 'copy', stage: 'out', displayName: 'copy', description: 'restored' });
    expect(bucket.id).toBe('out.c-copy');
    await client.buckets.setMetadata(bucket.id, 'user', [{ key: 'KBC.description', value: 'restored bucket' }]);
    expect((await getBucket(bucket.id))?.metadata?.some((m) => m.key === 'KBC.description')).toBe(true);

    const tableId = await client.tables.createDefinition(bucket.id, {
      name: 'users',
      primaryKeysNames: ['id'],
      columns: [
        { name: 'id', definition: { type: 'NUMBER', nullable: false }, basetype: 'NUMERIC' },
        { name: 'name', definition: { type: 'VARCHAR' }, basetype: 'STRING' },
      ],
    });
    expect(tableId).toBe('out.c-copy.users');
    const table = (await client.tables.get(tableId))!;
    expect(table).toMatchObject({ id: 'out.c-copy.users', columns: ['id', 'name'], primaryKey: ['id'] });

    // copy the source export slice by slice, streaming each slice from download to upload
    const exported = await client.tables.export('in.c-main.users');
    const urls = await client.files.sliceUrls(exported);
    const uploaded = await client.files.get((await client.files.uploadSliced('out.c-copy.users.csv.gz', urls.map((url) => () => client.files.openSlice(exported, url)))).id);
    const job = await client.tables.import(table.id, { dataFileId: uploaded.id, incremental: false, withoutHeaders: true, columns: ['id', 'name'] });
    expect(job.status).toBe('success');
    expect((await client.tables.get(table.id))?.rowsCount).toBe(3);
    const copied = await readCsvSlices(await client.tables.export(table.id));
    expect(copied.trim().split('\n').sort()).toEqual(['"1","alice"', '"2","bob"', '"3","carol"']);

    await client.tables.setMetadata(table.id, 'user', {
      metadata: [{ key: 'KBC.description', value: 'users' }],
      columnsMetadata: { name: [{ key: 'KBC.description', value: 'the name' }] },
    });
    const withMeta = await client.tables.get(table.id);
    expect(withMeta?.metadata?.some((m) => m.value === 'users')).toBe(true);
    expect(withMeta?.columnMetadata?.name?.find((m) => m.provider !== 'storage')).toMatchObject({ value: 'the name' });
    const tableOnly = await client.tables.setMetadata(table.id, 'user', { metadata: [{ key: 'KBC.other', value: 'x' }] });
    expect(tableOnly.metadata?.some((m) => m.key === 'KBC.other')).toBe(true);

    expect((await client.tables.update(table.id, { displayName: 'Users' })).displayName).toBe('Users');
    await awaitIfJob(client.transport.send('DELETE', `/tables/${table.id}/primary-key`));
    expect((await client.tables.get(table.id))?.primaryKey).toEqual([]);
    await awaitIfJob(client.transport.send('POST', `/tables/${table.id}/primary-key`, { json: { columns: ['id'] } }));
    expect((await client.tables.get(table.id))?.primaryKey).toEqual(['id']);

    const alias = await client.tables.createAlias(bucket.id, { sourceTable: table.id, name: 'users-alias', aliasFilter: { column: 'id', values: ['2'] } });
    expect(alias).toMatchObject({ id: 'out.c-copy.users-alias', isAlias: true });

    await awaitIfJob(client.transport.send('DELETE', `/tables/${alias.id}`, { query: { async: 1 } }));
    expect(await client.tables.get(alias.id)).toBeNull();
    await client.buckets.delete(bucket.id, { force: true });
    expect(await getBucket(bucket.id)).toBeNull();
  });

  it('a table from a plain gzipped CSV with header', async () => {
    await client.buckets.create({ name: 'plain', stage: 'in' });
    const csv = gzipSync('id,value\n1,x\n2,y\n');
    const file = await client.files.get((await client.files.upload('plain.csv.gz', () => Readable.from([csv]), { tags: ['test'] })).id);
    expect(file.isSliced).toBe(false);
    expect(await client.files.sliceUrls(file)).toEqual([file.url]);
    expect(gunzipSync(await readAll(client.files.openSlice(file, file.url))).toString()).toBe('id,value\n1,x\n2,y\n');
    const tableId = await client.tables.createFromFile('in.c-plain', { name: 'values', dataFileId: file.id, primaryKey: ['id'] });
    expect(await client.tables.get(tableId)).toMatchObject({ id: 'in.c-plain.values', columns: ['id', 'value'], primaryKey: ['id'], rowsCount: 2 });
    await client.buckets.delete('in.c-plain', { force: true });
  });

  it('configurations with kept ids, rows, order, state and metadata', async () => {
    const created = await client.configurations.create('keboola.ex-db-snowflake', {
      configurationId: 'cfg-restored',
      name: 'Restored',
      description: 'migrated',
      configuration: { parameters: { x: 1 } },
      state: { cursor: 5 },
      isDisabled: true,
      changeDescription: 'migration',
    });
    expect(created).toMatchObject({ id: 'cfg-restored', name: 'Restored', configuration: { parameters: { x: 1 } } });
    await client.configurations.createRow('keboola.ex-db-snowflake', 'cfg-restored', { rowId: 'a', name: 'A', configuration: { t: 'a' } });
    const row = await client.configurations.createRow('keboola.ex-db-snowflake', 'cfg-restored', { rowId: 'b', name: 'B', configuration: { t: 'b' }, state: { s: 1 } });
    expect(row).toMatchObject({ id: 'b', configuration: { t: 'b' } });
    const updated = await client.configurations.update('keboola.ex-db-snowflake', 'cfg-restored', { rowsSortOrder: ['b', 'a'], changeDescription: 'order' });
    expect(updated.rowsSortOrder).toEqual(['b', 'a']);
    await client.configurations.setMetadata('keboola.ex-db-snowflake', 'cfg-restored', [{ key: 'KBC.configuration.folderName', value: 'f' }]);
    expect((await client.configurations.listMetadata('keboola.ex-db-snowflake', 'cfg-restored'))[0]).toMatchObject({ value: 'f' });

    await client.branches.setMetadata([{ key: 'KBC.projectDescription', value: 'changed' }]);
    expect((await client.branches.listMetadata()).find((m) => m.key === 'KBC.projectDescription')?.value).toBe('changed');

    await client.configurations.delete('keboola.ex-db-snowflake', 'cfg-restored');
    const after = await client.configurations.get('keboola.ex-db-snowflake', 'cfg-restored');
    expect(after === null || after.isDeleted === true).toBe(true);
  });
});

describe('errors from the emulator', () => {
  afterEach(async () => {
    await admin('DELETE', '/_emulator/faults');
  });

  it('an unknown token is invalid-token, not retryable, and not echoed', async () => {
    const stranger = createStackClient({ url: stack.url, token: 'not-a-token-at-all-123' });
    const error = (await stranger.tokens.verify().catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ kind: 'invalid-token', status: 401, retryable: false });
    expect(error.message).not.toContain('not-a-token-at-all-123');
  });

  it('a refused request names its endpoint', async () => {
    const error = (await client.tables.createFromFile('in.c-main', { name: 'broken', dataFileId: 99999999 }).catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ kind: 'not-found', retryable: false, endpoint: 'POST /v2/storage/buckets/in.c-main/tables-async' });
  });

  it('a failing job surfaces as a non-retryable StackError with the job id and code', async () => {
    const file = await client.files.get((await client.files.upload('bad.csv', Buffer.from('id,unknown\n1,x\n'))).id);
    const error = (await client.tables.import('in.c-main.users', { dataFileId: file.id, incremental: true }).catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ kind: 'job-failed', retryable: false, code: 'csvImport.columnsNotMatch', endpoint: 'POST /v2/storage/tables/in.c-main.users/import-async' });
    expect(typeof error.jobId).toBe('number');
    expect(error.message).toMatch(/job \d+ \(tableImport\).*unknown/);
  });

  it('an outage is maintenance with Retry-After', async () => {
    await admin('POST', '/_emulator/faults', { kind: 'outage', forSeconds: 30, retryAfterSeconds: 12 });
    const error = (await client.buckets.list().catch((e: unknown) => e)) as StackError;
    expect(error).toMatchObject({ kind: 'maintenance', status: 503, retryable: true, retryAfterSeconds: 12 });
  });

  it('rate limiting is retryable with Retry-After', async () => {
    await admin('POST', '/_emulator/faults', { kind: 'rate-limit', forRequests: 1, retryAfterSeconds: 3 });
    const error = (await client.buckets.list().catch((e: unknown) => e)) as StackError;
    expect(error).toMatchObject({ kind: 'rate-limited', status: 429, retryable: true, retryAfterSeconds: 3 });
  });

  it('a dropped connection is a retryable network error', async () => {
    await admin('POST', '/_emulator/faults', { kind: 'drop', forRequests: 1 });
    const error = (await client.buckets.list().catch((e: unknown) => e)) as StackError;
    expect(error).toMatchObject({ kind: 'network', retryable: true });
  });
});
