/**
 * Each area method's request (method, path, query, body) and the parsing of its documented answer; the raw request
 * path (`transport`) for the requests the client has no method for.
 */
import pMap from 'p-map';
import { z } from 'zod';
import { BucketSchema, createStackClient, JobSchema, StackClient, StackError } from '../../stack';
import * as fx from './fixtures';
import { job, sendJson, TestServer, TOKEN } from './helpers';

let server: TestServer;
let client: StackClient;

beforeAll(async () => {
  server = await new TestServer().start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  client = createStackClient({ url: `${server.url}/`, token: TOKEN, jobPollIntervalMs: 5 });
});

/** Answers every `GET /v2/storage/jobs/{id}` with success and the given results / tableId. */
function jobsSucceed(extra: Record<string, unknown> = {}): void {
  server.on('GET', /^\/v2\/storage\/jobs\/\d+$/, (req, res) => {
    const id = Number(req.path.split('/').pop());
    sendJson(res, 200, job(id, 'success', extra));
  });
}

describe('client basics', () => {
  it('exposes the normalised url and sends the token header on API calls', async () => {
    expect(client.url).toBe(server.url);
    server.reply('GET', '/v2/storage/tokens/verify', 200, fx.tokenVerify);
    await client.tokens.verify();
    const req = server.last('GET', '/v2/storage/tokens/verify');
    expect(req.headers['x-storageapi-token']).toBe(TOKEN);
  });

  it('rejects an invalid URL and an empty token without echoing the token', () => {
    expect(() => createStackClient({ url: 'not a url', token: TOKEN })).toThrow(StackError);
    expect(() => createStackClient({ url: 'https://connection.keboola.com', token: '' })).toThrow(/no Storage API token/);
  });
});

describe('tokens, index, branches', () => {
  it('tokens.verify parses the owner and strips the token from the answer', async () => {
    server.reply('GET', '/v2/storage/tokens/verify', 200, fx.tokenVerify);
    const info = await client.tokens.verify();
    expect(info.owner).toMatchObject({ id: '58', region: 'us-east-1', defaultBackend: 'snowflake', hasSnowflake: true, features: [] });
    expect(info.owner.assignedBackends).toEqual(['snowflake']);
    expect(info.isMasterToken).toBe(true);
    expect(info.canManageBuckets).toBe(true);
    expect(info.admin?.name).toBe('John Doe');
    expect((info as Record<string, unknown>).token).toBeUndefined();
    expect(JSON.stringify(info)).not.toContain(TOKEN);
    // undocumented fields pass through
    expect((info.owner as Record<string, unknown>).dataRetentionTimeInDays).toBe(7);
  });

  it('services.index: GET /v2/storage', async () => {
    server.reply('GET', '/v2/storage', 200, fx.apiIndex);
    const index = await client.services.index();
    expect(server.last().path).toBe('/v2/storage');
    expect(index.components.map((c) => c.id)).toEqual(['orchestrator-2', 'keboola.ex-db-snowflake']);
    expect(index.components[1].flags).toEqual(['genericDockerUI']);
    expect(index.services).toContainEqual({ id: 'syrup', url: 'https://syrup.keboola.com' });
    expect(index.features).toEqual(['disable-sync-import-data']);
  });

  it('dev branches (raw request path)', async () => {
    server.reply('GET', '/v2/storage/dev-branches', 200, fx.devBranches);
    const branches = await client.transport.list('GET', '/dev-branches', z.looseObject({ id: z.union([z.string(), z.number()]), isDefault: z.boolean() }));
    expect(branches.find((b) => b.isDefault)?.id).toBe(5);
  });

  it('branches.listMetadata / setMetadata use the default branch', async () => {
    server.reply('GET', '/v2/storage/branch/default/metadata', 200, fx.branchMetadata);
    server.reply('POST', '/v2/storage/branch/default/metadata', 201, fx.branchMetadata);
    expect(await client.branches.listMetadata()).toEqual(fx.branchMetadata);
    await client.branches.setMetadata([{ key: 'KBC.projectDescription', value: 'Some value' }]);
    expect(server.last('POST').json).toEqual({ metadata: [{ key: 'KBC.projectDescription', value: 'Some value' }] });
  });
});

describe('buckets', () => {
  it('buckets.list asks for metadata and keeps linked-bucket fields', async () => {
    server.reply('GET', '/v2/storage/buckets', 200, [fx.bucket, fx.linkedBucket]);
    const buckets = await client.buckets.list();
    expect(server.last().query).toEqual({ include: 'metadata' });
    expect(buckets).toHaveLength(2);
    expect(buckets[0].metadata?.[0].key).toBe('KBC.createdBy.component.id');
    expect(buckets[1].sourceBucket?.project?.id).toBe(123);
    expect(buckets[1].isLinkedBucket).toBe(true);
  });

  it('a bucket by id answers null on 404 (raw request path)', async () => {
    server.reply('GET', '/v2/storage/buckets/in.c-main', 200, fx.bucket);
    const getBucket = (id: string) => client.transport.request('GET', `/buckets/${id}`, BucketSchema, { allow404: true });
    expect((await getBucket('in.c-main'))?.id).toBe('in.c-main');
    expect(await getBucket('in.c-missing')).toBeNull();
    expect(server.last().path).toBe('/v2/storage/buckets/in.c-missing');
  });

  it('buckets.create posts only the given fields', async () => {
    server.reply('POST', '/v2/storage/buckets', 201, fx.bucket);
    const created = await client.buckets.create({ name: 'main', stage: 'in', displayName: 'main', description: 'Main user storage' });
    expect(created.id).toBe('in.c-main');
    expect(server.last('POST').json).toEqual({ name: 'main', stage: 'in', displayName: 'main', description: 'Main user storage' });
  });

  it('buckets.delete runs asynchronously and awaits the job', async () => {
    server.reply('DELETE', '/v2/storage/buckets/in.c-main', 202, job(11, 'waiting', { operationName: 'bucketDelete' }));
    jobsSucceed();
    await client.buckets.delete('in.c-main', { force: true });
    const del = server.last('DELETE');
    expect(del.query).toEqual({ force: '1', async: '1' });
    expect(server.last('GET').path).toBe('/v2/storage/jobs/11');
  });

  it('buckets.delete accepts a synchronous 204', async () => {
    server.reply('DELETE', '/v2/storage/buckets/in.c-main', 204);
    await client.buckets.delete('in.c-main');
    expect(server.last('DELETE').query).toEqual({ async: '1' });
  });

  it('buckets.setMetadata', async () => {
    server.reply('POST', '/v2/storage/buckets/in.c-main/metadata', 201, fx.metadataList);
    const result = await client.buckets.setMetadata('in.c-main', 'user', [{ key: 'attribute_key', value: 'attribute_value' }]);
    expect(result[0].provider).toBe('keboola.some-komponent');
    expect(server.last('POST').json).toEqual({ provider: 'user', metadata: [{ key: 'attribute_key', value: 'attribute_value' }] });
  });
});

describe('tables', () => {
  it('tables.list asks for columns, metadata, column metadata and buckets', async () => {
    server.reply('GET', '/v2/storage/tables', 200, [fx.table, fx.aliasTable]);
    const tables = await client.tables.list();
    expect(server.last().query).toEqual({ include: 'columns,metadata,columnMetadata,buckets' });
    expect(tables[0].definition?.columns[0]).toMatchObject({ name: 'visit_id', basetype: 'STRING' });
    expect(tables[0].columnMetadata?.number_of_items[0].value).toBe('INTEGER');
    // PHP's empty map `[]` reads as {}
    expect(tables[1].columnMetadata).toEqual({});
    expect(tables[1].sourceTable?.id).toBe('in.c-main.cashier-data');
    expect(tables[1].aliasFilter?.values).toEqual(['1', '2']);
  });

  it('tables.get encodes the id and answers null on 404', async () => {
    server.reply('GET', '/v2/storage/tables/in.c-main.cashier-data', 200, fx.table);
    expect((await client.tables.get('in.c-main.cashier-data'))?.primaryKey).toEqual(['visit_id']);
    expect(await client.tables.get('in.c-main.nope')).toBeNull();
  });

  it('tables.createDefinition posts the definition, awaits the job and answers the table ID without reading the table', async () => {
    server.reply('POST', '/v2/storage/buckets/in.c-main/tables-definition', 202, job(356, 'waiting', { operationName: 'tableDefinitionCreate' }));
    jobsSucceed({ tableId: 'in.c-main.cashier-data' });
    const created = await client.tables.createDefinition('in.c-main', {
      name: 'cashier-data',
      primaryKeysNames: ['visit_id'],
      columns: [
        { name: 'visit_id', definition: { type: 'VARCHAR', nullable: false } },
        { name: 'number_of_items', definition: { type: 'NUMBER', length: '38,0' }, basetype: 'NUMERIC' },
      ],
    });
    expect(created).toBe('in.c-main.cashier-data');
    expect(server.requests.filter((r) => r.path.startsWith('/v2/storage/tables/'))).toEqual([]);
    expect(server.last('POST').json).toEqual({
      name: 'cashier-data',
      primaryKeysNames: ['visit_id'],
      columns: [
        { name: 'visit_id', definition: { type: 'VARCHAR', nullable: false } },
        { name: 'number_of_items', definition: { type: 'NUMBER', length: '38,0' }, basetype: 'NUMERIC' },
      ],
    });
  });

  it('tables.createFromFile sends the primary key comma-separated and falls back to bucket.name', async () => {
    server.reply('POST', '/v2/storage/buckets/in.c-main/tables-async', 202, job(12, 'waiting', { operationName: 'tableCreate' }));
    jobsSucceed();
    const created = await client.tables.createFromFile('in.c-main', { name: 'cashier-data', dataFileId: 234, primaryKey: ['a', 'b'] });
    expect(created).toBe('in.c-main.cashier-data');
    expect(server.last('POST').json).toEqual({ name: 'cashier-data', dataFileId: 234, primaryKey: 'a,b' });
  });

  it('tables.import posts the options and answers the finished job', async () => {
    server.reply('POST', '/v2/storage/tables/in.c-main.t/import-async', 202, job(22070846, 'waiting'));
    jobsSucceed({ results: { importedRowsCount: 3 } });
    const done = await client.tables.import('in.c-main.t', { dataFileId: 12345, incremental: false, withoutHeaders: true, columns: ['a', 'b'] });
    expect(done.status).toBe('success');
    expect(done.results).toEqual({ importedRowsCount: 3 });
    expect(server.last('POST').json).toEqual({ dataFileId: 12345, incremental: false, withoutHeaders: true, columns: ['a', 'b'] });
  });

  it('tables.export asks for gzip, awaits the job and answers the file detail with credentials', async () => {
    server.reply('POST', '/v2/storage/tables/in.c-main.t/export-async', 202, job(22070936, 'waiting', { operationName: 'tableExport' }));
    jobsSucceed({ results: { file: { id: 234 }, cacheHit: false } });
    server.reply('GET', '/v2/storage/files/234', 200, {
      id: 234,
      name: 'in.c-main.t.csv.gz',
      isSliced: true,
      url: `${server.url}/_gcs/files/exp/234.csv.gzmanifest?X-Goog-Signature=abc`,
      provider: 'gcp',
      sizeBytes: 10,
      tags: [],
      gcsCredentials: { access_token: 'x', expires_in: 3599, token_type: 'Bearer', projectId: 'p' },
      gcsPath: { bucket: 'files', key: 'exp/234.csv.gz' },
    });
    const file = await client.tables.export('in.c-main.t');
    expect(server.last('POST').json).toEqual({ gzip: true });
    expect(server.last('GET', '/v2/storage/files/234').query).toEqual({ federationToken: '1' });
    expect(file).toMatchObject({ id: 234, isSliced: true, gcsPath: { bucket: 'files' } });
  });

  it('tables.export fails readably when the job results lack the file', async () => {
    server.reply('POST', '/v2/storage/tables/in.c-main.t/export-async', 202, job(5, 'waiting'));
    jobsSucceed({ results: { cacheHit: false } });
    await expect(client.tables.export('in.c-main.t')).rejects.toMatchObject({
      kind: 'unexpected-response',
      message: expect.stringContaining('file'),
    });
  });

  it('tables.createAlias: synchronous 201', async () => {
    server.reply('POST', '/v2/storage/buckets/in.c-main/table-aliases', 201, fx.aliasTable);
    const alias = await client.tables.createAlias('in.c-main', {
      sourceTable: 'in.c-main.cashier-data',
      name: 'cashier-data-alias',
      aliasFilter: { column: 'visit_id', values: ['1', '2'], operator: 'eq' },
      aliasColumns: ['visit_id'],
    });
    expect(alias.isAlias).toBe(true);
    expect(server.last('POST').json).toEqual({
      sourceTable: 'in.c-main.cashier-data',
      name: 'cashier-data-alias',
      aliasFilter: { column: 'visit_id', values: ['1', '2'], operator: 'eq' },
      aliasColumns: ['visit_id'],
    });
  });

  it('tables.createAlias: asynchronous 202 (BigQuery view)', async () => {
    server.reply('POST', '/v2/storage/buckets/in.c-main/table-aliases', 202, job(11, 'waiting', { operationName: 'aliasCreate' }));
    jobsSucceed();
    server.reply('GET', '/v2/storage/tables/in.c-main.cashier-data-alias', 200, fx.aliasTable);
    const alias = await client.tables.createAlias('in.c-main', { sourceTable: 'in.c-main.cashier-data', name: 'cashier-data-alias' });
    expect(alias.id).toBe('in.c-main.cashier-data-alias');
  });

  it('primary key set / removed through their jobs (raw request path)', async () => {
    server.reply('POST', '/v2/storage/tables/in.c-main.t/primary-key', 202, job(1189, 'waiting', { operationName: 'tablePrimaryKeyAdd' }));
    server.reply('DELETE', '/v2/storage/tables/in.c-main.t/primary-key', 202, job(1190, 'waiting', { operationName: 'tablePrimaryKeyDelete' }));
    jobsSucceed();
    const { transport } = client;
    await transport.jobOf(await transport.send('POST', '/tables/in.c-main.t/primary-key', { json: { columns: ['id', 'name'] } }));
    expect(server.last('POST').json).toEqual({ columns: ['id', 'name'] });
    expect(server.last('GET').path).toBe('/v2/storage/jobs/1189');
    await transport.jobOf(await transport.send('DELETE', '/tables/in.c-main.t/primary-key'));
    expect(server.last('GET').path).toBe('/v2/storage/jobs/1190');
  });

  it('tables.update sets the display name', async () => {
    server.reply('PUT', '/v2/storage/tables/in.c-main.cashier-data', 200, { ...fx.table, displayName: 'nice' });
    const updated = await client.tables.update('in.c-main.cashier-data', { displayName: 'nice' });
    expect(updated.displayName).toBe('nice');
    expect(server.last('PUT').json).toEqual({ displayName: 'nice' });
  });

  it('tables.setMetadata sends table and column metadata (column name as key and in each entry)', async () => {
    server.reply('POST', '/v2/storage/tables/in.c-main.t/metadata', 201, {
      metadata: [{ id: '19509', key: 'KBC.description', value: 'd', provider: 'user', timestamp: '2017-02-13 23:36:10' }],
      columnsMetadata: { id: [{ id: '19510', key: 'KBC.datatype.type', value: 'INTEGER', provider: 'user', timestamp: '2017-02-13 23:36:10' }] },
    });
    const result = await client.tables.setMetadata('in.c-main.t', 'user', {
      metadata: [{ key: 'KBC.description', value: 'd' }],
      columnsMetadata: { id: [{ key: 'KBC.datatype.type', value: 'INTEGER' }] },
    });
    expect(result.columnsMetadata?.id[0].value).toBe('INTEGER');
    expect(server.last('POST').json).toEqual({
      provider: 'user',
      metadata: [{ key: 'KBC.description', value: 'd' }],
      columnsMetadata: { id: [{ columnName: 'id', key: 'KBC.datatype.type', value: 'INTEGER' }] },
    });
  });

  it('tables.setMetadata reads the plain-list answer of the table-only form', async () => {
    server.reply('POST', '/v2/storage/tables/in.c-main.t/metadata', 201, [
      { id: '19509', key: 'KBC.description', value: 'd', provider: 'user', timestamp: '2017-02-13 23:36:10' },
    ]);
    const result = await client.tables.setMetadata('in.c-main.t', 'user', { metadata: [{ key: 'KBC.description', value: 'd' }] });
    expect(result.metadata?.[0].key).toBe('KBC.description');
    expect(server.last('POST').json).toEqual({ provider: 'user', metadata: [{ key: 'KBC.description', value: 'd' }] });
  });

  it('a table is deleted asynchronously (raw request path)', async () => {
    server.reply('DELETE', '/v2/storage/tables/in.c-main.t', 202, job(1189, 'waiting', { operationName: 'tableDrop' }));
    jobsSucceed();
    await client.transport.jobOf(await client.transport.send('DELETE', '/tables/in.c-main.t', { query: { async: 1 } }));
    expect(server.last('DELETE').query).toEqual({ async: '1' });
  });
});

describe('jobs', () => {
  it('JobSchema parses the blueprint job', async () => {
    server.reply('GET', '/v2/storage/jobs/22077337', 200, job(22077337, 'success', { operationName: 'workspaceLoad', metrics: { outBytes: 7168 } }));
    const detail = await client.transport.request('GET', '/jobs/22077337', JobSchema);
    expect(detail).toMatchObject({ id: 22077337, status: 'success', operationName: 'workspaceLoad' });
  });
});

describe('configurations (default branch)', () => {
  it('components.list includes configuration, rows and state', async () => {
    server.reply('GET', '/v2/storage/branch/default/components', 200, fx.components);
    const components = await client.components.list();
    expect(server.last().query).toEqual({ include: 'configuration,rows,state' });
    const config = components[0].configurations[0];
    expect(config.configuration).toEqual({ key1: 'val1' });
    expect(config.rows?.[0].state).toEqual({});
    expect(config.rowsSortOrder).toEqual(['row1']);
    expect(config.state).toEqual({ lastId: 3 });
  });

  it('configurations.get answers null on 404 and encodes ids', async () => {
    server.reply('GET', '/v2/storage/branch/default/components/keboola.app-tree/configs/main-1', 200, fx.configuration);
    expect((await client.configurations.get('keboola.app-tree', 'main-1'))?.name).toBe('Main 1');
    expect(await client.configurations.get('keboola.app-tree', 'a b')).toBeNull();
    expect(server.last().path).toBe('/v2/storage/branch/default/components/keboola.app-tree/configs/a%20b');
  });

  it('configurations.create sends configuration and state as JSON objects, keeping the id', async () => {
    server.reply('POST', '/v2/storage/branch/default/components/keboola.app-tree/configs', 201, fx.configuration);
    await client.configurations.create('keboola.app-tree', {
      configurationId: 'main-1',
      name: 'Main 1',
      configuration: { key1: 'val1' },
      state: { lastId: 3 },
      isDisabled: true,
      changeDescription: 'migrated',
    });
    expect(server.last('POST').headers['content-type']).toContain('application/json');
    expect(server.last('POST').json).toEqual({
      configurationId: 'main-1',
      name: 'Main 1',
      configuration: { key1: 'val1' },
      state: { lastId: 3 },
      isDisabled: true,
      changeDescription: 'migrated',
    });
  });

  it('configurations.update sends only the given fields', async () => {
    server.reply('PUT', '/v2/storage/branch/default/components/keboola.app-tree/configs/main-1', 200, fx.configuration);
    await client.configurations.update('keboola.app-tree', 'main-1', { rowsSortOrder: ['row1'], changeDescription: 'order' });
    expect(server.last('PUT').json).toEqual({ rowsSortOrder: ['row1'], changeDescription: 'order' });
  });

  it('configurations.delete', async () => {
    server.reply('DELETE', '/v2/storage/branch/default/components/keboola.app-tree/configs/main-1', 204);
    await client.configurations.delete('keboola.app-tree', 'main-1');
    expect(server.last().method).toBe('DELETE');
  });

  it('configurations.createRow', async () => {
    server.reply('POST', '/v2/storage/branch/default/components/keboola.app-tree/configs/main-1/rows', 201, fx.row);
    const created = await client.configurations.createRow('keboola.app-tree', 'main-1', {
      rowId: '236781646',
      name: '',
      configuration: { host: 'localhost', port: 4406 },
    });
    expect(created.id).toBe('236781646');
    expect(server.last('POST').json).toEqual({ rowId: '236781646', name: '', configuration: { host: 'localhost', port: 4406 } });
  });

  it('configurations.stream hands every configuration, in the order listed, to a caller making requests of its own', async () => {
    const path = '/v2/storage/branch/default/components/keboola.app-tree/configs';
    const listing = Array.from({ length: 1000 }, (_, i) => ({ ...fx.configuration, id: `c${i}`, configuration: { padding: 'x'.repeat(2000) } }));
    server.reply('GET', path, 200, listing);
    server.on('GET', /\/metadata$/, (_req, res) => void setTimeout(() => sendJson(res, 200, []), 5));
    // What the snapshot does: a request of its own for each configuration, several in flight.
    const started: string[] = [];
    const done = new Set<string>();
    await pMap(
      client.configurations.stream('keboola.app-tree'),
      async (configuration) => {
        started.push(configuration.id);
        await client.configurations.listMetadata('keboola.app-tree', configuration.id);
        done.add(configuration.id);
      },
      { concurrency: 8 },
    );
    expect(started).toEqual(listing.map((c) => c.id));
    expect(done.size).toBe(1000);
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('configurations.stream: a mistyped item, an object, a cut-short list and a refusal are StackErrors naming the endpoint', async () => {
    const path = '/v2/storage/branch/default/components/keboola.app-tree/configs';
    const seen: string[] = [];
    const collect = async () => {
      for await (const configuration of client.configurations.stream('keboola.app-tree')) seen.push(configuration.id);
    };
    server.reply('GET', path, 200, [fx.configuration, { ...fx.configuration, id: 7 }]);
    await expect(collect()).rejects.toMatchObject({ kind: 'unexpected-response', endpoint: `GET ${path}`, message: expect.stringMatching(/1\.id/) });
    expect(seen).toEqual([fx.configuration.id]); // the items before the bad one were handed over
    server.reply('GET', path, 200, { configurations: [] });
    await expect(collect()).rejects.toMatchObject({ kind: 'unexpected-response', message: expect.stringContaining('an object where a list was documented') });
    server.on('GET', path, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`[${JSON.stringify(fx.configuration)},`));
    await expect(collect()).rejects.toMatchObject({ kind: 'unexpected-response', message: expect.stringContaining('cut short') });
    server.reply('GET', path, 403, { error: 'You do not have permission', code: 'accessDenied' });
    await expect(collect()).rejects.toMatchObject({ kind: 'forbidden', status: 403 });
  });

  it('list/set configuration metadata', async () => {
    const path = '/v2/storage/branch/default/components/keboola.app-tree/configs/main-1/metadata';
    server.reply('GET', path, 200, [{ id: '123', timestamp: '2016-09-19 13:02:11', key: 'k', value: 'v' }]);
    server.reply('POST', path, 201, [{ id: '124', timestamp: '2016-09-19 13:02:11', key: 'k', value: 'v' }]);
    expect((await client.configurations.listMetadata('keboola.app-tree', 'main-1'))[0].key).toBe('k');
    await client.configurations.setMetadata('keboola.app-tree', 'main-1', [{ key: 'k', value: 'v' }]);
    expect(server.last('POST').json).toEqual({ metadata: [{ key: 'k', value: 'v' }] });
  });
});

describe('schema failures', () => {
  it('names the missing field and the endpoint', async () => {
    const { owner: _owner, ...noOwner } = fx.tokenVerify;
    server.reply('GET', '/v2/storage/tokens/verify', 200, noOwner);
    const error = (await client.tokens.verify().catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error.kind).toBe('unexpected-response');
    expect(error.retryable).toBe(false);
    expect(error.endpoint).toBe('GET /v2/storage/tokens/verify');
    expect(error.message).toContain('owner');
    expect(error.message).toContain('GET /v2/storage/tokens/verify');
    expect(error.message).not.toContain(TOKEN);
  });

  it('names a mistyped field inside a list item', async () => {
    server.reply('GET', '/v2/storage/buckets', 200, [fx.bucket, { ...fx.linkedBucket, stage: 42 }]);
    await expect(client.buckets.list()).rejects.toMatchObject({
      kind: 'unexpected-response',
      message: expect.stringMatching(/1\.stage/),
    });
  });

  it('rejects an object where a list is documented', async () => {
    server.reply('GET', '/v2/storage/tables', 200, { tables: [] });
    await expect(client.tables.list()).rejects.toMatchObject({ kind: 'unexpected-response', endpoint: 'GET /v2/storage/tables' });
  });

  it('rejects a body that is not JSON', async () => {
    server.on('GET', '/v2/storage', (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>'));
    await expect(client.services.index()).rejects.toMatchObject({ kind: 'unexpected-response', message: expect.stringContaining('not JSON') });
  });

  it('rejects an unknown job status', async () => {
    server.reply('GET', '/v2/storage/jobs/1', 200, job(1, 'success', { status: 'exploded' }));
    await expect(client.transport.request('GET', '/jobs/1', JobSchema)).rejects.toMatchObject({ kind: 'unexpected-response', message: expect.stringContaining('status') });
  });

  it('does not follow redirects (the token must not travel elsewhere)', async () => {
    server.on('GET', '/v2/storage', (_req, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end());
    await expect(client.services.index()).rejects.toMatchObject({ kind: 'unexpected-response', status: 302 });
  });
});
