/**
 * The Storage API endpoints whose answers are compared with the reference examples (every key of the example
 * exists in the emulator's answer with the same JSON type, recursively, and the status code matches). Shared by
 * test/emulator/conformance.test.ts (examples from the checked-in fixtures) and `npm run conformance` (examples
 * from a blueprint file). Ignored keys are listed with the reason next to them.
 */
import type { Api } from './util';

/** BigQuery/Synapse-only parts of a table definition: the emulated projects are Snowflake. */
const NON_SNOWFLAKE_DEFINITION = ['distribution', 'index', 'timePartitioning', 'rangePartitioning', 'clustering', 'requirePartitionFilter', 'partitions'];
const defIgnores = (prefix: string) => NON_SNOWFLAKE_DEFINITION.map((k) => `${prefix}.${k}`);

export interface StorageCase {
  name: string;
  /** the reference fixture (test/fixtures/reference/storage-api/<fixture>.json) whose example the answer must match */
  fixture: string;
  /** the file provider of the stack that answers, when not the seed's (`aws`): the example is of another cloud */
  fileProvider?: 'gcp';
  /** one request (or a few) to an emulated stack seeded with emulator/seeds/source-us.json, as its master token */
  call: (api: Api) => Promise<{ status: number; body: unknown }>;
  /** picks the element of the example to compare with (default: the whole example) */
  pickExample?: (example: any) => unknown;
  ignore?: string[];
}

/** Free-form content (component- or operation-specific): only its JSON type is compared. */
export const OPAQUE = ['operationParams', 'configuration', 'state', 'rows[].configuration', '[].configuration', '[].state', '[].rows[].configuration', '[].rows[].state',
  '[].configurations[].configuration', '[].configurations[].state', '[].configurationSchema', 'results'];
/** Maps keyed by data (bucket ids, column names): values are compared, keys are not. */
export const MAPS = ['bucketPermissions', 'columnMetadata', '[].columnMetadata', 'sourceTable.columnMetadata', '[].sourceTable.columnMetadata', 'columnsMetadata', 'owner.limits', 'owner.metrics'];

const jobId = (body: any) => body as { id: number };
let n = 0;
const uniq = (p: string) => `${p}${++n}`;

async function csvFile(api: Api, content = 'id,name\n1,a\n2,b\n'): Promise<number> {
  return api.upload('data.csv', Buffer.from(content));
}

export const STORAGE_CASES: StorageCase[] = [
  { name: 'maintenance', fixture: 'maintenance', call: async (api) => {
      const f = await api.post('/_emulator/faults', { kind: 'outage', forRequests: 1, pathPattern: '^/v2/storage$' });
      if (f.status !== 201) throw new Error(`fault injection: expected 201, got ${f.status}`);
      return api.get('/v2/storage');
    } },
  { name: 'token verify', fixture: 'token-verify', call: (api) => api.get('tokens/verify') },
  { name: 'api index', fixture: 'api-index', call: (api) => api.get('/v2/storage') },
  { name: 'bucket list', fixture: 'bucket-list', call: (api) => api.get('buckets?include=metadata,linkedBuckets') },
  { name: 'bucket create', fixture: 'bucket-create', call: (api) => api.post('buckets', { name: uniq('conf-'), stage: 'in', description: 'x' }) },
  { name: 'bucket detail', fixture: 'bucket-detail', call: (api) => api.get('buckets/in.c-crm') },
  { name: 'bucket drop async', fixture: 'bucket-drop-async', call: async (api) => {
      const name = uniq('drop-');
      await api.post('buckets', { name });
      return api.del(`buckets/in.c-${name}?force=1&async=1`);
    } },
  { name: 'tables in bucket', fixture: 'tables-in-bucket', call: (api) => api.get('buckets/in.c-crm/tables?include=columns,metadata,columnMetadata') },
  { name: 'table definition create', fixture: 'table-definition-create', call: (api) =>
      api.post('buckets/in.c-crm/tables-definition', { name: uniq('typed'), primaryKeysNames: ['id'], columns: [{ name: 'id', definition: { type: 'INT' } }, { name: 'name', definition: { type: 'VARCHAR' } }] }),
    // runId is null unless the request carries X-KBC-RunId (other job examples show null)
    ignore: ['runId'] },
  { name: 'table create async', fixture: 'table-create-async', call: async (api) =>
      api.post('buckets/in.c-crm/tables-async', { name: uniq('t'), dataFileId: await csvFile(api), primaryKey: 'id' }) },
  { name: 'table import async', fixture: 'table-import-async', call: async (api) =>
      api.post('tables/in.c-crm.customers/import-async', { dataFileId: await csvFile(api, 'id,name\n99,x\n'), incremental: true }) },
  { name: 'table export async', fixture: 'table-export-async', call: (api) => api.post('tables/in.c-crm.customers/export-async', { gzip: true }) },
  { name: 'table detail (alias of a typed table)', fixture: 'table-detail', call: (api) => api.get('tables/out.c-reports.paid_orders'),
    // "configuration" exists only for tables created by a component configuration (custom query manager)
    // length of NUMBER columns is "38,0" (a string); the example shows a bare VARCHAR length (a number), as the emulator does for such lengths
    ignore: ['configuration', ...defIgnores('definition'), ...defIgnores('sourceTable.definition'), 'definition.columns[].definition.length', 'sourceTable.definition.columns[].definition.length'] },
  { name: 'table update', fixture: 'table-update', call: (api) => api.put('tables/out.c-reports.paid_orders', { displayName: 'Paid orders' }),
    ignore: ['configuration'] },
  { name: 'table update async', fixture: 'table-update-async', call: (api) => api.req('PUT', 'tables/out.c-reports.paid_orders?async=1', { displayName: 'Paid orders' }) },
  { name: 'table drop async', fixture: 'table-drop-async', call: async (api) => {
      const j = await api.job('POST', 'buckets/in.c-crm/tables-definition', { name: 'to-drop', columns: [{ name: 'a', definition: { type: 'VARCHAR' } }] });
      return api.del(`${'tables/'}${j.tableId}?async=1`);
    } },
  { name: 'table list', fixture: 'table-list', call: (api) => api.get('tables?include=columns,buckets,columnMetadata') },
  { name: 'primary key add', fixture: 'primary-key-create', call: (api) => api.post('tables/out.c-reports.revenue_by_city/primary-key', { columns: ['city'] }) },
  { name: 'primary key remove', fixture: 'primary-key-remove', call: (api) => api.del('tables/in.c-crm.customers/primary-key') },
  { name: 'table column add', fixture: 'table-column-add', call: async (api) => {
      const j = await api.job('POST', 'buckets/in.c-crm/tables-async', { name: uniq('columns'), dataFileId: await csvFile(api) });
      return api.post(`tables/${j.tableId}/columns`, { name: 'new-column' });
    } },
  { name: 'table column delete', fixture: 'table-column-delete', call: async (api) => {
      const j = await api.job('POST', 'buckets/in.c-crm/tables-async', { name: uniq('columns'), dataFileId: await csvFile(api) });
      return api.del(`tables/${j.tableId}/columns/name`);
    } },
  { name: 'alias create', fixture: 'alias-create', call: (api) =>
      api.post('buckets/out.c-reports/table-aliases', { sourceTable: 'in.c-crm.orders', name: uniq('alias'), aliasFilter: { column: 'status', values: ['paid'], operator: 'eq' }, aliasColumns: ['id', 'status'] }) },
  { name: 'bucket metadata post', fixture: 'bucket-metadata-create', call: (api) => api.post('buckets/in.c-crm/metadata', { provider: 'test', metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'bucket metadata list', fixture: 'bucket-metadata-list', call: (api) => api.get('buckets/in.c-crm/metadata') },
  { name: 'table metadata post', fixture: 'table-metadata-create', call: (api) =>
      api.post('tables/in.c-crm.customers/metadata', { provider: 'test', metadata: [{ key: 'k', value: 'v' }], columnsMetadata: { 0: [{ columnName: 'id', key: 'k', value: 'v' }] } }) },
  { name: 'table metadata post (deprecated form)', fixture: 'table-metadata-create-deprecated', call: (api) =>
      api.req('POST', 'tables/in.c-crm.customers/metadata', 'provider=test-component&metadata%5B0%5D%5Bkey%5D=some-key&metadata%5B0%5D%5Bvalue%5D=Some+value', { form: true }) },
  { name: 'table metadata list', fixture: 'table-metadata-list', call: (api) => api.get('tables/in.c-crm.customers/metadata') },
  { name: 'column metadata post', fixture: 'column-metadata-create', call: (api) => api.post('columns/in.c-crm.customers.email/metadata', { provider: 'test', metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'column metadata list', fixture: 'column-metadata-list', call: (api) => api.get('columns/in.c-crm.customers.email/metadata') },
  { name: 'config metadata post', fixture: 'configuration-metadata-create', call: (api) =>
      api.post('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/metadata', { metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'config metadata list', fixture: 'configuration-metadata-list', call: (api) => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/metadata') },
  { name: 'branch metadata post', fixture: 'branch-metadata-create', call: (api) => api.post('branch/default/metadata', { metadata: [{ key: 'k', value: 'v' }] }) },
  { name: 'branch metadata list', fixture: 'branch-metadata-list', call: (api) => api.get('branch/default/metadata') },
  { name: 'job detail', fixture: 'job-detail', call: async (api) => {
      const r = await api.post('tables/in.c-crm.customers/export-async', {});
      await api.waitJob(jobId(r.body));
      return api.get(`jobs/${r.body.id}`);
    } },
  { name: 'file prepare (GCP)', fixture: 'file-prepare-gcp', fileProvider: 'gcp', call: (api) => api.post('files/prepare', { name: 'someFile.csv', tags: ['a'], sizeBytes: 10, federationToken: true }) },
  { name: 'file detail', fixture: 'file-detail', call: async (api) => api.get(`files/${await csvFile(api)}?federationToken=1`) },
  { name: 'branch list', fixture: 'branch-list', call: (api) => api.get('dev-branches'), pickExample: (e: any[]) => [e.find((b) => b.isDefault)] },
  { name: 'branch detail', fixture: 'branch-detail', call: async (api) => api.get(`dev-branches/${(await api.get('dev-branches')).body[0].id}`),
    // the example is a development branch; the default branch has no creator (creatorToken: [] as in the list example)
    ignore: ['creatorToken'] },
  { name: 'components', fixture: 'components', call: (api) => api.get('branch/default/components?include=configuration,rows,state') },
  { name: 'config list', fixture: 'configuration-list', call: (api) => api.get('branch/default/components/keboola.ex-db-mysql/configs') },
  { name: 'config create', fixture: 'configuration-create', call: (api) =>
      api.post('branch/default/components/keboola.app-tree/configs', { name: 'My new configuration', configuration: { key: 'value' }, changeDescription: 'Initial configuration' }) },
  { name: 'config detail', fixture: 'configuration-detail', call: (api) => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm') },
  { name: 'config update', fixture: 'configuration-update', call: (api) => api.put('branch/default/components/keboola.app-tree/configs/tree-categories', { description: 'updated' }) },
  { name: 'config state', fixture: 'configuration-state', call: (api) => api.put('branch/default/components/keboola.app-tree/configs/tree-categories/state', { state: { lastId: 1 } }) },
  { name: 'row create', fixture: 'row-create', call: (api) =>
      api.post('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows', { configuration: { host: 'localhost' }, changeDescription: 'Added new row' }) },
  { name: 'row list', fixture: 'row-list', call: (api) => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows') },
  { name: 'row detail', fixture: 'row-detail', call: (api) => api.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows/customers') },
  { name: 'row update', fixture: 'row-update', call: (api) => api.put('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows/orders', { changeDescription: 'x' }) },
  { name: 'row state', fixture: 'row-state', call: (api) =>
      api.put('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm/rows/orders/state', { state: { lastId: 123 } }) },
];
