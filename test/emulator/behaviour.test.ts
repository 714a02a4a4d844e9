/** Behaviour of the emulated stack: entities, table data semantics, file transfer, jobs, isolation, persistence. */
import { gunzipSync, gzipSync } from 'node:zlib';
import { startStack, type EmulatedStack } from '../../emulator/server';
import { parse } from 'csv-parse/sync';
import { CSV_READ_OPTIONS } from '../../emulator/csv';
import { Api, objectsOf, DEST_SEED, DEST_TOKEN, SOURCE_SEED, SOURCE_TOKEN, tempDir } from './util';

const parseCsv = (text: string): string[][] => parse(text, CSV_READ_OPTIONS);

async function exportRows(api: Api, tableId: string, body: Record<string, unknown> = {}): Promise<{ rows: string[][]; slices: number }> {
  const job = await api.job('POST', `tables/${tableId}/export-async`, { gzip: true, ...body });
  expect(job.status).toBe('success');
  const slices = await api.download(job.results.file.id);
  const rows = slices.flatMap((s) => {
    expect(s[0]).toBe(0x1f); // gzip magic
    return parseCsv(gunzipSync(s).toString('utf8'));
  });
  return { rows, slices: slices.length };
}

describe('emulated stack behaviour', () => {
  let source: EmulatedStack;
  let dest: EmulatedStack;
  let src: Api;
  let dst: Api;
  beforeAll(async () => {
    source = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 30, exportSliceRows: 7 });
    dest = await startStack({ dataDir: tempDir(), seed: DEST_SEED, jobDelayMs: 30 });
    src = new Api(source.url, SOURCE_TOKEN);
    dst = new Api(dest.url, DEST_TOKEN);
  });
  afterAll(async () => {
    await source.close();
    await dest.close();
  });

  test('token verify describes the project and the stack', async () => {
    const s = await src.get('tokens/verify');
    expect(s.body.owner).toMatchObject({ id: '101', region: 'us-east-1', defaultBackend: 'snowflake', hasSnowflake: true, hasRedshift: false, assignedBackends: ['snowflake'] });
    const d = await dst.get('tokens/verify');
    expect(d.body.owner).toMatchObject({ id: '201', region: 'eu-central-1' });
    const index = await dst.get('/v2/storage');
    const ids = index.body.components.map((c: { id: string }) => c.id);
    expect(ids).toContain('keboola.ex-db-mysql');
    expect(ids).not.toContain('keboola.ex-restbox');
    expect(index.body.services.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining(['encryption', 'orchestrator', 'oauth', 'syrup']));
    const brief = await src.get('/v2/storage?exclude=componentDetails');
    expect(brief.body.components.find((c: { id: string }) => c.id === 'keboola.ex-google-analytics').flags).toContain('deprecated');
    expect((await src.get('/v2/storage?exclude=components')).body.components).toBeUndefined();
  });

  test('the destination project is empty', async () => {
    expect((await dst.get('buckets')).body).toEqual([]);
    expect((await dst.get('branch/default/components')).body).toEqual([]);
  });

  test('bucket create (JSON and form), list, metadata, delete', async () => {
    const a = await dst.post('buckets', { name: 'crm', stage: 'in', displayName: 'crm', description: 'CRM' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ id: 'in.c-crm', name: 'c-crm', stage: 'in' });
    const b = await dst.req('POST', 'buckets', { name: 'reports', stage: 'out' }, { form: true });
    expect(b.status).toBe(201);
    expect(b.body.id).toBe('out.c-reports');
    const dup = await dst.post('buckets', { name: 'crm', stage: 'in' });
    expect(dup.status).toBe(400);
    expect(dup.body.code).toBe('storage.buckets.alreadyExists');
    const meta = await dst.post('buckets/in.c-crm/metadata', { provider: 'user', metadata: [{ key: 'KBC.description', value: 'x' }] });
    expect(meta.status).toBe(201);
    const list = await dst.get('buckets?include=metadata');
    expect(list.body.map((x: { id: string }) => x.id).sort()).toEqual(['in.c-crm', 'out.c-reports']);
    expect(list.body.find((x: { id: string }) => x.id === 'in.c-crm').metadata[0]).toMatchObject({ key: 'KBC.description', value: 'x', provider: 'user' });
    const del = await dst.del(`buckets/in.c-crm/metadata/${meta.body[0].id}`);
    expect(del.status).toBe(204);
    const job = await dst.job('DELETE', 'buckets/out.c-reports?force=1&async=1');
    expect(job.status).toBe('success');
    expect((await dst.get('buckets/out.c-reports')).status).toBe(404);
  });

  test('linked buckets are read-only and show their source', async () => {
    const b = await src.get('buckets/in.c-shared-marketing');
    expect(b.body).toMatchObject({ isReadOnly: true, isLinkedBucket: true, sourceBucket: { id: 'out.c-marketing', project: { id: 77 } } });
  });

  test('typed table via tables-definition, import with header, incremental dedupe on the primary key', async () => {
    const def = await dst.job('POST', 'buckets/in.c-crm/tables-definition', {
      name: 'orders',
      primaryKeysNames: ['id'],
      columns: [
        { name: 'id', definition: { type: 'NUMBER', length: '38,0', nullable: false }, basetype: 'INTEGER' },
        { name: 'status', definition: { type: 'VARCHAR' }, basetype: 'STRING' },
      ],
    });
    expect(def).toMatchObject({ status: 'success', tableId: 'in.c-crm.orders', results: { id: 'in.c-crm.orders' } });
    const detail = await dst.get('tables/in.c-crm.orders');
    expect(detail.body).toMatchObject({ isTyped: true, primaryKey: ['id'], columns: ['id', 'status'], definition: { primaryKeysNames: ['id'] } });
    expect(detail.body.definition.columns[0]).toMatchObject({ name: 'id', basetype: 'INTEGER', definition: { type: 'NUMBER', length: '38,0', nullable: false } });

    const f1 = await dst.upload('o.csv', Buffer.from('id,status\n1,new\n2,new\n3,new\n'));
    expect((await dst.job('POST', 'tables/in.c-crm.orders/import-async', { dataFileId: f1 })).status).toBe('success');
    // incremental: key 2 updated (last occurrence wins), key 4 added; header order differs from the table
    const f2 = await dst.upload('o2.csv.gz', gzipSync(Buffer.from('status,id\nfirst,2\npaid,2\nnew,4\n')));
    const imp = await dst.job('POST', 'tables/in.c-crm.orders/import-async', { dataFileId: f2, incremental: 1 });
    expect(imp.status).toBe('success');
    const { rows } = await exportRows(dst, 'in.c-crm.orders');
    expect(rows.sort((a, b) => a[0]!.localeCompare(b[0]!))).toEqual([['1', 'new'], ['2', 'paid'], ['3', 'new'], ['4', 'new']]);
    expect((await dst.get('tables/in.c-crm.orders')).body.rowsCount).toBe(4);
    // full load replaces
    const f3 = await dst.upload('o3.csv', Buffer.from('9,x\n'));
    await dst.job('POST', 'tables/in.c-crm.orders/import-async', { dataFileId: f3, withoutHeaders: true });
    expect((await exportRows(dst, 'in.c-crm.orders')).rows).toEqual([['9', 'x']]);
    // unknown column -> failed job with code and message
    const bad = await dst.upload('bad.csv', Buffer.from('id,nope\n1,2\n'));
    const failed = await dst.job('POST', 'tables/in.c-crm.orders/import-async', { dataFileId: bad });
    expect(failed.status).toBe('error');
    expect(failed.error).toMatchObject({ code: 'csvImport.columnsNotMatch' });
    expect(typeof failed.error.message).toBe('string');
  });

  test('tables-async from a sliced gzip file, primary key, display name, metadata, delete', async () => {
    const head = 'id,name,note\n';
    const slices = [gzipSync(Buffer.from(`${head}1,"Smith, John","said ""hi""\nbye"\n`)), Buffer.from('2,Žluťoučký kůň 🐴,\n3,x,"a,b"\n')];
    // sliced files: the header is the first line of the first slice
    const fileId = await dst.upload('customers.csv', slices, { sliced: true });
    const job = await dst.job('POST', 'buckets/in.c-crm/tables-async', { name: 'customers', dataFileId: fileId, primaryKey: 'id' });
    expect(job.status).toBe('success');
    const t = (await dst.get('tables/in.c-crm.customers')).body;
    expect(t).toMatchObject({ columns: ['id', 'name', 'note'], primaryKey: ['id'], rowsCount: 3, isTyped: false });
    const { rows } = await exportRows(dst, 'in.c-crm.customers');
    expect(rows).toEqual([
      ['1', 'Smith, John', 'said "hi"\nbye'],
      ['2', 'Žluťoučký kůň 🐴', ''],
      ['3', 'x', 'a,b'],
    ]);
    expect((await dst.put('tables/in.c-crm.customers', { displayName: 'Customers' })).body.displayName).toBe('Customers');
    const meta = await dst.post('tables/in.c-crm.customers/metadata', { provider: 'user', metadata: [{ key: 'KBC.description', value: 'd' }], columnsMetadata: { name: [{ key: 'KBC.datatype.basetype', value: 'STRING' }] } });
    expect(meta.status).toBe(201);
    expect(meta.body.columnsMetadata.name[0]).toMatchObject({ key: 'KBC.datatype.basetype', value: 'STRING', provider: 'user' });
    expect((await dst.job('DELETE', 'tables/in.c-crm.customers/primary-key')).status).toBe('success');
    expect((await dst.job('POST', 'tables/in.c-crm.customers/primary-key', { columns: ['id', 'name'] })).status).toBe('success');
    expect((await dst.get('tables/in.c-crm.customers')).body.primaryKey).toEqual(['id', 'name']);
    const dupName = await dst.job('POST', 'buckets/in.c-crm/tables-async', { name: 'customers', dataFileId: fileId }).catch((e: Error) => e);
    expect(String(dupName)).toContain('400');
  });

  test('sliced export of the source and reassembly; alias exports its filtered, projected view', async () => {
    const { rows, slices } = await exportRows(src, 'in.c-crm.customers');
    expect(rows).toHaveLength(30);
    expect(slices).toBe(5); // 30 rows, 7 per slice
    expect(rows.some((r) => r.some((v) => v.includes('\n')))).toBe(true);
    const alias = (await src.get('tables/out.c-reports.paid_orders')).body;
    expect(alias).toMatchObject({ isAlias: true, columns: ['id', 'customer_id', 'amount'], aliasFilter: { column: 'status', operator: 'eq', values: ['paid'] }, sourceTable: { id: 'in.c-crm.orders' } });
    const view = await exportRows(src, 'out.c-reports.paid_orders');
    const orders = await exportRows(src, 'in.c-crm.orders');
    const paid = orders.rows.filter((r) => r[3] === 'paid').map((r) => r.slice(0, 3));
    expect(view.rows).toEqual(paid);
    expect(alias.rowsCount).toBe(paid.length);
    const partial = await exportRows(src, 'in.c-crm.orders', { columns: ['id'], whereFilters: [{ column: 'status', operator: 'eq', values: ['refunded'] }] });
    expect(partial.rows).toEqual(orders.rows.filter((r) => r[3] === 'refunded').map((r) => [r[0]]));
  });

  test('alias create in the destination; drop of a table with aliases needs force', async () => {
    const a = await dst.post('buckets/in.c-crm/table-aliases', { sourceTable: 'in.c-crm.orders', name: 'orders-alias', aliasColumns: ['id'] });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ id: 'in.c-crm.orders-alias', isAlias: true, aliasColumnsAutoSync: false, columns: ['id'] });
    expect((await dst.del('tables/in.c-crm.orders')).status).toBe(400);
    expect((await dst.del('tables/in.c-crm.orders?force=1')).status).toBe(204);
    expect((await dst.get('tables/in.c-crm.orders-alias')).status).toBe(404);
  });

  test('configurations: kept ids, JSON-string form bodies, rows, state, metadata, delete to trash and purge', async () => {
    const base = 'branch/default/components/keboola.ex-db-mysql/configs';
    const c = await dst.req(
      'POST',
      base,
      { configurationId: 'mysql-crm', name: 'CRM', configuration: JSON.stringify({ parameters: { db: { host: 'h' } } }), state: JSON.stringify({ a: 1 }), isDisabled: '1' },
      { form: true },
    );
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ id: 'mysql-crm', configuration: { parameters: { db: { host: 'h' } } }, state: { a: 1 }, isDisabled: true, version: 1 });
    expect((await dst.post(base, { configurationId: 'mysql-crm', name: 'again' })).status).toBe(400);
    const r1 = await dst.post(`${base}/mysql-crm/rows`, { rowId: 'orders', name: 'Orders', configuration: { t: 1 }, state: { last: 5 } });
    const r2 = await dst.post(`${base}/mysql-crm/rows`, { rowId: 'customers', name: 'Customers' });
    expect([r1.status, r2.status, r1.body.id]).toEqual([201, 201, 'orders']);
    const up = await dst.put(`${base}/mysql-crm`, { rowsSortOrder: ['customers', 'orders'], changeDescription: 'sort' });
    expect(up.body).toMatchObject({ rowsSortOrder: ['customers', 'orders'], changeDescription: 'sort' });
    expect(up.body.version).toBeGreaterThan(1);
    expect((await dst.put(`${base}/mysql-crm/state`, { state: { b: 2 } })).body.state).toEqual({ b: 2 });
    await dst.post(`${base}/mysql-crm/metadata`, { metadata: [{ key: 'KBC.configuration.folderName', value: 'CRM' }] });
    const detail = (await dst.get(`${base}/mysql-crm`)).body;
    expect(detail.rows.map((r: { id: string }) => r.id)).toEqual(['orders', 'customers']);
    expect(detail.rows[0].state).toEqual({ last: 5 });
    const comps = (await dst.get('branch/default/components?include=configuration,rows,state')).body;
    expect(comps[0]).toMatchObject({ id: 'keboola.ex-db-mysql', configurations: [{ id: 'mysql-crm', state: { b: 2 } }] });
    expect((await dst.get('components/keboola.ex-db-mysql/configs/mysql-crm')).body.id).toBe('mysql-crm'); // deprecated path
    expect((await dst.del(`${base}/mysql-crm/rows/customers`)).status).toBe(204);
    expect((await dst.del(`${base}/mysql-crm`)).status).toBe(204);
    expect((await dst.get(`${base}/mysql-crm`)).status).toBe(404);
    expect((await dst.get(`${base}?isDeleted=1`)).body.map((x: { id: string }) => x.id)).toEqual(['mysql-crm']);
    expect((await dst.del(`${base}/mysql-crm`)).status).toBe(204); // purge
    expect((await dst.post(base, { configurationId: 'mysql-crm', name: 'again' })).status).toBe(201);
    expect((await dst.post('branch/default/components/keboola.ex-restbox/configs', { name: 'x' })).status).toBe(404);
  });

  test('source configurations carry what the migration must handle', async () => {
    const mysql = (await src.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm')).body;
    expect(mysql.configuration.parameters.db['#password']).toMatch(/^KBC::ProjectSecure::/);
    expect(mysql.configuration.parameters.db.ssh.keys['#private']).toBeDefined();
    expect(mysql.rowsSortOrder).toEqual(['customers', 'orders']);
    const writer = (await src.get('branch/default/components/keboola.wr-snowflake/configs/wr-snowflake-reports')).body;
    expect(writer.configuration.parameters.db.host).toBe((await src.get('/v2/storage')).body.stack.snowflakeHost);
    const flow = (await src.get('branch/default/components/keboola.orchestrator/configs/daily-flow')).body;
    expect(flow.configuration.tasks.length).toBeGreaterThan(3);
    const legacy = (await src.get('branch/default/components/transformation/configs/legacy-crm')).body;
    expect(legacy.rows[0].configuration).toMatchObject({ backend: 'snowflake', type: 'simple' });
  });

  test('several projects in one stack are isolated by their tokens; admin API creates projects', async () => {
    const created = await fetch(`${dest.url}/_emulator/projects`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 202, name: 'Other', defaultBackend: 'snowflake', backends: ['snowflake'], tokens: [{ token: '202-token', description: 'm', isMasterToken: true }], buckets: [{ id: 'in.c-secret' }] }),
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as any).tokens[0].token).toBe('202-token');
    const other = new Api(dest.url, '202-token');
    expect((await other.get('buckets')).body.map((b: { id: string }) => b.id)).toEqual(['in.c-secret']);
    expect((await dst.get('buckets/in.c-secret')).status).toBe(404);
    expect((await other.get('tables/in.c-crm.orders-alias')).status).toBe(404);
    // a file of one project cannot be read with another project's credentials
    const fileId = await dst.upload('p.csv', Buffer.from('a\n1\n'));
    expect((await other.get(`files/${fileId}`)).status).toBe(404);
    const d = (await dst.get(`files/${fileId}?federationToken=1`)).body;
    // (an AWS stack: the other file's own user of the S3 gateway is refused)
    expect(d.provider).toBe('aws');
    const otherFile = objectsOf((await other.post('files/prepare', { name: 'x' })).body, 'upload');
    await expect(otherFile.get(d.s3Path.key)).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(objectsOf(d, 'download').get(d.s3Path.key)).resolves.toEqual(Buffer.from('a\n1\n'));
    // the presigned URL works without credentials
    expect((await fetch(d.url)).status).toBe(200);
  });

  test('job lifecycle: waiting -> processing -> success with timestamps', async () => {
    const slow = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 400 });
    try {
      const api = new Api(slow.url, SOURCE_TOKEN);
      const r = await api.post('tables/in.c-crm.customers/export-async', {});
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ status: 'waiting', startTime: null, endTime: null, results: null, operationName: 'tableExport' });
      const seen = new Set<string>();
      let job = r.body;
      while (job.status !== 'success' && job.status !== 'error') {
        await new Promise((x) => setTimeout(x, 20));
        job = (await api.get(`jobs/${r.body.id}`)).body;
        seen.add(job.status);
      }
      expect(seen.has('processing')).toBe(true);
      expect(job.status).toBe('success');
      expect(job.startTime).not.toBeNull();
      expect(job.endTime).not.toBeNull();
      expect((await api.get('jobs/999999')).status).toBe(404);
    } finally {
      await slow.close();
    }
  });

  test('the job delay changes at runtime through the admin API (the bench\'s 2 s jobs)', async () => {
    const stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 0 });
    try {
      const admin = new Api(stack.url, null);
      const api = new Api(stack.url, SOURCE_TOKEN);
      expect((await admin.put('/_emulator/job-delay', { ms: -1 })).status).toBe(400);
      expect((await admin.put('/_emulator/job-delay', { ms: 'soon' })).status).toBe(400);
      expect(await admin.put('/_emulator/job-delay', { ms: 60_000 })).toMatchObject({ status: 200, body: { ms: 60_000 } });
      const slow = (await api.post('tables/in.c-crm.customers/export-async', {})).body;
      await new Promise((x) => setTimeout(x, 500));
      expect((await api.get(`jobs/${slow.id}`)).body.status).not.toBe('success');
      await admin.put('/_emulator/job-delay', { ms: 0 });
      expect((await api.waitJob(await (await api.post('tables/in.c-crm.customers/export-async', {})).body, 10_000)).status).toBe('success');
    } finally {
      await stack.close();
    }
  });

  test('error shapes: 401 without or with a bad token, 404 unknown entity, 400 validation', async () => {
    const none = await new Api(dest.url, null).get('buckets');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ status: 'error', code: 'storage.tokenMissing' });
    const bad = await new Api(dest.url, 'wrong').get('buckets');
    expect(bad.body).toMatchObject({ error: 'Invalid access token', code: 'storage.tokenInvalid', status: 'error' });
    const nf = await dst.get('tables/in.c-crm.nope');
    expect(nf).toMatchObject({ status: 404, body: { code: 'storage.tables.notFound', status: 'error' } });
    const v = await dst.post('buckets', { stage: 'in' });
    expect(v.status).toBe(400);
    expect(v.body.status).toBe('error');
    // what the Storage API rules out: names over 96 characters, a JSON text sent under another content type
    const long = await dst.post('buckets', { name: 'b'.repeat(97), stage: 'in' });
    expect(long).toMatchObject({ status: 400, body: { code: 'storage.buckets.validation', error: expect.stringContaining('at most 96 characters') } });
    const longTable = await dst.post('buckets/in.c-crm/tables-definition', { name: 't'.repeat(97), columns: [{ name: 'id', definition: { type: 'VARCHAR' } }] });
    expect(longTable).toMatchObject({ status: 400, body: { code: 'storage.tables.validation' } });
    const text = await fetch(`${dest.url}/v2/storage/buckets`, { method: 'POST', headers: { 'X-StorageApi-Token': DEST_TOKEN, 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'plain', stage: 'in' }) });
    expect(text.status).toBe(400);
    expect(await text.json()).toMatchObject({ code: 'storage.unsupportedContentType' });
    expect((await dst.get('buckets/in.c-plain')).status).toBe(404);
  });

  test('Notification service: the project\'s subscriptions, checked as the service checks them', async () => {
    const index = await src.get('/v2/storage');
    const base = new URL(index.body.services.find((s: { id: string }) => s.id === 'notification').url).pathname;
    const listed = await src.get(`${base}/project-subscriptions`);
    expect(listed.status).toBe(200);
    expect(listed.body.map((s: { event: string }) => s.event).sort()).toEqual(['job-failed', 'job-processing-long']);
    const created = await dst.post(`${base}/project-subscriptions`, { event: 'job-failed', filters: [{ field: 'job.configuration.id', value: 'x', operator: '==' }], recipient: { channel: 'email', address: 'a@b.example' } });
    expect(created).toMatchObject({ status: 201, body: { event: 'job-failed', recipient: { channel: 'email', address: 'a@b.example' } } });
    expect((await dst.get(`${base}/project-subscriptions`)).body.map((s: { id: string }) => s.id)).toEqual([created.body.id]);
    // refused: an unknown event, a recipient without an address, a JSON body not sent as JSON, another project's token
    expect((await dst.post(`${base}/project-subscriptions`, { event: 'job-exploded', recipient: { channel: 'email', address: 'a@b.example' } })).body).toMatchObject({ code: 'notification.validation' });
    expect((await dst.post(`${base}/project-subscriptions`, { event: 'job-failed', recipient: { channel: 'email' } })).status).toBe(400);
    const asText = await dst.req('POST', `${base}/project-subscriptions`, undefined, { headers: { 'Content-Type': 'text/plain' } });
    expect(asText.body).toMatchObject({ code: 'notification.invalidContentType' });
    expect((await src.get(`${base}/project-subscriptions/${created.body.id}`)).status).toBe(404);
    expect((await dst.req('DELETE', `${base}/project-subscriptions/${created.body.id}`)).status).toBe(204);
    expect((await new Api(dst.url, null).get(`${base}/project-subscriptions`)).status).toBe(401);
  });
});
