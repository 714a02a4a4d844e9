/**
 * Conformance with the Storage API blueprint: for every implemented endpoint with an example, every key of the
 * example exists in the emulator's answer with the same JSON type (recursively), and the status code matches.
 * Ignored keys are listed with the reason next to them.
 */
import { startStack, type EmulatedStack } from '../../emulator/server';
import { blueprintExample, shapeDiff } from '../helpers/blueprint';
import { Api, SOURCE_SEED, SOURCE_TOKEN, tempDir } from './util';

/** BigQuery/Synapse-only parts of a table definition: the emulated projects are Snowflake. */
const NON_SNOWFLAKE_DEFINITION = ['distribution', 'index', 'timePartitioning', 'rangePartitioning', 'clustering', 'requirePartitionFilter', 'partitions'];
const defIgnores = (prefix: string) => NON_SNOWFLAKE_DEFINITION.map((k) => `${prefix}.${k}`);

let stack: EmulatedStack;
let api: Api;

beforeAll(async () => {
  stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20 });
  api = new Api(stack.url, SOURCE_TOKEN);
});
afterAll(() => stack.close());

interface Case {
  name: string;
  action: string;
  opts?: { status?: number; index?: number };
  call: () => Promise<{ status: number; body: unknown }>;
  /** picks the element of the example to compare with (default: the whole example) */
  pickExample?: (example: any) => unknown;
  ignore?: string[];
}

/** Free-form content (component- or operation-specific): only its JSON type is compared. */
const OPAQUE = ['operationParams', 'configuration', 'state', 'rows[].configuration', '[].configuration', '[].state', '[].rows[].configuration', '[].rows[].state',
  '[].configurations[].configuration', '[].configurations[].state', '[].configurationSchema', 'results'];
/** Maps keyed by data (bucket ids, column names): values are compared, keys are not. */
const MAPS = ['bucketPermissions', 'columnMetadata', '[].columnMetadata', 'sourceTable.columnMetadata', '[].sourceTable.columnMetadata', 'columnsMetadata', 'owner.limits', 'owner.metrics'];

const jobId = (body: any) => body as { id: number };
let n = 0;
const uniq = (p: string) => `${p}${++n}`;

async function csvFile(content = 'id,name\n1,a\n2,b\n'): Promise<number> {
  return api.upload('data.csv', Buffer.from(content));
}

const cases: Case[] = [
  { name: 'maintenance', action: 'Maintenance Response Example > Example [GET]', call: async () => {
      const f = await api.post('/_emulator/faults', { kind: 'outage', forRequests: 1, pathPattern: '^/v2/storage$' });
      expect(f.status).toBe(201);
      return api.get('/v2/storage');
    } },
  { name: 'token verify', action: 'Token verification [GET]', call: () => api.get('tokens/verify') },
  { name: 'api index', action: 'Component List [GET /v2/storage?exclude={exclude}]', call: () => api.get('/v2/storage') },
  { name: 'bucket list', action: 'List all buckets [GET /v2/storage/buckets?include={include}]', call: () => api.get('buckets?include=metadata,linkedBuckets') },
  { name: 'bucket create', action: 'Create Bucket [POST]', call: () => api.post('buckets', { name: uniq('conf-'), stage: 'in', description: 'x' }) },
  { name: 'bucket detail', action: 'Bucket Detail [GET]', call: () => api.get('buckets/in.c-crm') },
  { name: 'bucket drop async', action: 'Drop Bucket', opts: { status: 202 }, call: async () => {
      const name = uniq('drop-');
      await api.post('buckets', { name });
      return api.del(`buckets/in.c-${name}?force=1&async=1`);
    } },
  { name: 'tables in bucket', action: 'Tables in bucket', call: () => api.get('buckets/in.c-crm/tables?include=columns,metadata,columnMetadata') },
  { name: 'table definition create', action: 'Create new table definition [POST]', call: () =>
      api.post('buckets/in.c-crm/tables-definition', { name: uniq('typed'), primaryKeysNames: ['id'], columns: [{ name: 'id', definition: { type: 'INT' } }, { name: 'name', definition: { type: 'VARCHAR' } }] }),
    // runId is null unless the request carries X-KBC-RunId (other job examples show null)
    ignore: ['runId'] },
  { name: 'table create async', action: 'Create new table from CSV file asynchronously [POST]', call: async () =>
      api.post('buckets/in.c-crm/tables-async', { name: uniq('t'), dataFileId: await csvFile(), primaryKey: 'id' }) },
  { name: 'table import async', action: 'Import data from CSV file asynchronously [POST]', call: async () =>
      api.post('tables/in.c-crm.customers/import-async', { dataFileId: await csvFile('id,name\n99,x\n'), incremental: true }) },
  { name: 'table export async', action: 'Asynchronous Export [POST]', call: () => api.post('tables/in.c-crm.customers/export-async', { gzip: true }) },
  { name: 'table detail (alias of a typed table)', action: 'Table detail [GET]', call: () => api.get('tables/out.c-reports.paid_orders'),
    // "configuration" exists only for tables created by a component configuration (custom query manager)
    // length of NUMBER columns is "38,0" (a string); the example shows a bare VARCHAR length (a number), as the emulator does for such lengths
    ignore: ['configuration', ...defIgnores('definition'), ...defIgnores('sourceTable.definition'), 'definition.columns[].definition.length', 'sourceTable.definition.columns[].definition.length'] },
  { name: 'table update', action: 'Table update [PUT', opts: { status: 200 }, call: () => api.put('tables/out.c-reports.paid_orders', { displayName: 'Paid orders' }),
    ignore: ['configuration'] },
  { name: 'table update async', action: 'Table update [PUT', opts: { status: 202 }, call: () => api.req('PUT', 'tables/out.c-reports.paid_orders?async=1', { displayName: 'Paid orders' }) },
  { name: 'table drop async', action: 'Drop table', opts: { status: 202 }, call: async () => {
      const j = await api.job('POST', 'buckets/in.c-crm/tables-definition', { name: 'to-drop', columns: [{ name: 'a', definition: { type: 'VARCHAR' } }] });
      return api.del(`${'tables/'}${j.tableId}?async=1`);
    } },
  { name: 'table list', action: 'List All Tables [GET]', call: () => api.get('tables?include=columns,buckets,columnMetadata') },
  { name: 'primary key add', action: 'Create Primary Key [POST]', call: () => api.post('tables/out.c-reports.revenue_by_city/primary-key', { columns: ['city'] }) },
  { name: 'primary key remove', action: 'Remove Primary Key [DELETE]', call: () => api.del('tables/in.c-crm.customers/primary-key') },
  { name: 'alias create', action: 'Create new alias table [POST]', opts: { status: 201 }, call: () =>
      api.post('buckets/out.c-reports/table-aliases', { sourceTable: 'in.c-crm.orders', name: uniq('alias'), aliasFilter: { column: 'status', values: ['paid'], operator: 'eq' }, aliasColumns: ['id', 'status'] }) },
  { name: 'bucket metadata post', action: 'Bucket Metadata > Create or Update [POST]', call: () => api.post('buckets/in.c-crm/metadata', { provider: 'test', metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'bucket metadata list', action: 'Bucket Metadata > List [GET]', call: () => api.get('buckets/in.c-crm/metadata') },
  { name: 'table metadata post', action: 'Table Metadata > Create or Update [POST]', call: () =>
      api.post('tables/in.c-crm.customers/metadata', { provider: 'test', metadata: [{ key: 'k', value: 'v' }], columnsMetadata: { 0: [{ columnName: 'id', key: 'k', value: 'v' }] } }) },
  { name: 'table metadata post (deprecated form)', action: 'Table Metadata > Create or Update (deprecated)', call: () =>
      api.req('POST', 'tables/in.c-crm.customers/metadata', 'provider=test-component&metadata%5B0%5D%5Bkey%5D=some-key&metadata%5B0%5D%5Bvalue%5D=Some+value', { form: true }) },
  { name: 'table metadata list', action: 'Table Metadata > List [GET]', call: () => api.get('tables/in.c-crm.customers/metadata') },
  { name: 'column metadata post', action: 'Column Metadata > Create or Update [POST]', call: () => api.post('columns/in.c-crm.customers.email/metadata', { provider: 'test', metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'column metadata list', action: 'Column Metadata > List [GET]', call: () => api.get('columns/in.c-crm.customers.email/metadata') },
  { name: 'config metadata post', action: 'Components Configurations Metadata > Create or Update [POST]', call: () =>
      api.post('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/metadata', { metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'config metadata list', action: 'Components Configurations Metadata > List [GET]', call: () => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/metadata') },
  { name: 'branch metadata post', action: 'Development Branch Metadata > Create or Update [POST]', call: () => api.post('branch/default/metadata', { metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'branch metadata list', action: 'Development Branch Metadata > List [GET]', call: () => api.get('branch/default/metadata') },
  { name: 'job detail', action: 'Job detail [GET]', call: async () => {
      const r = await api.post('tables/in.c-crm.customers/export-async', {});
      await api.waitJob(jobId(r.body));
      return api.get(`jobs/${r.body.id}`);
    } },
  { name: 'file prepare (GCP)', action: 'Create File Resource [POST]', opts: { index: 2 }, call: () => api.post('files/prepare', { name: 'someFile.csv', tags: ['a'], sizeBytes: 10, federationToken: true }) },
  { name: 'file detail', action: 'File detail [GET', call: async () => api.get(`files/${await csvFile()}?federationToken=1`),
    // the example is an AWS stack; the emulator is a GCP file provider (gcsPath + gcsCredentials instead), see CONTRACTS.md
    ignore: ['s3Path', 'credentials'] },
  { name: 'branch list', action: 'List branches [GET]', call: () => api.get('dev-branches'), pickExample: (e: any[]) => [e.find((b) => b.isDefault)] },
  { name: 'branch detail', action: 'Branch detail [GET]', call: async () => api.get(`dev-branches/${(await api.get('dev-branches')).body[0].id}`),
    // the example is a development branch; the default branch has no creator (creatorToken: [] as in the list example)
    ignore: ['creatorToken'] },
  { name: 'components', action: 'Get components [GET /v2/storage/branch', call: () => api.get('branch/default/components?include=configuration,rows,state') },
  { name: 'config list', action: 'List configurations [GET /v2/storage/branch', call: () => api.get('branch/default/components/keboola.ex-db-mysql/configs') },
  { name: 'config create', action: 'Create Configuration [POST /v2/storage/branch', call: () =>
      api.post('branch/default/components/keboola.app-tree/configs', { name: 'My new configuration', configuration: { key: 'value' }, changeDescription: 'Initial configuration' }) },
  { name: 'config detail', action: 'Configuration Detail [GET /v2/storage/branch', call: () => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm') },
  { name: 'config update', action: 'Update Configuration [PUT /v2/storage/branch', call: () => api.put('branch/default/components/keboola.app-tree/configs/tree-categories', { description: 'updated' }) },
  { name: 'config state', action: 'Update Configuration State [PUT /v2/storage/branch', call: () => api.put('branch/default/components/keboola.app-tree/configs/tree-categories/state', { state: { lastId: 1 } }) },
  { name: 'row create', action: 'Create Configuration Row [POST /v2/storage/branch', call: () =>
      api.post('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows', { configuration: { host: 'localhost' }, changeDescription: 'Added new row' }) },
  { name: 'row list', action: 'Configuration Row List [GET /v2/storage/branch', call: () => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows') },
  { name: 'row detail', action: 'Configuration Row detail [GET /v2/storage/branch', call: () => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows/customers') },
  { name: 'row update', action: 'Update Configuration Row [PUT /v2/storage/branch', call: () => api.put('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows/orders', { changeDescription: 'x' }) },
  { name: 'row state', action: 'Update Configuration Row State [PUT /v2/storage/branch', call: () =>
      api.put('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows/orders/state', { state: { lastId: 123 } }) },
];

describe('Storage API blueprint conformance', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const example = blueprintExample(c.action, c.opts);
    const actual = await c.call();
    expect({ status: actual.status }).toEqual({ status: example.status });
    const expected = c.pickExample ? c.pickExample(example.body) : example.body;
    expect(shapeDiff(expected, actual.body, { ignore: c.ignore, opaque: OPAQUE, maps: MAPS })).toEqual([]);
  });

  test('error shape (401, 404, 400) follows the blueprint: error + code (+ status "error")', async () => {
    const example = blueprintExample('Configuration Diff > Configuration Three-Way Diff', { status: 404 });
    const bad = await new Api(stack.url, 'nope').get('tokens/verify');
    expect(bad.status).toBe(401);
    expect(shapeDiff(example.body, bad.body)).toEqual([]);
    expect(bad.body).toMatchObject({ code: 'storage.tokenInvalid', status: 'error' });
    const missing = await api.get('buckets/in.c-nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'storage.buckets.notFound', status: 'error' });
    const dup = await api.post('buckets', { name: 'crm', stage: 'in' });
    expect(dup.status).toBe(400);
    expect(dup.body).toMatchObject({ code: 'storage.buckets.alreadyExists', status: 'error' });
    expect(typeof dup.body.error).toBe('string');
  });
});
