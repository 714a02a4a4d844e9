/**
 * Emulator services for writers: Storage API workspaces field for field against the blueprint ("Group Workspaces":
 * the Workspace and WorkspaceCreated data structures, the password reset example; checked-in as reference fixtures
 * under test/fixtures/reference/storage-api), the Encryption API and the GoodData domain.
 */
import { startStack, type EmulatedStack } from '../../emulator/server';
import { shapeDiff, storageDataStructure, storageExample } from '../helpers/reference';
import { Api, DEST_SEED, DEST_TOKEN, SOURCE_SEED, SOURCE_TOKEN, tempDir } from '../emulator/util';

let source: EmulatedStack;
let destination: EmulatedStack;
let api: Api;
let destApi: Api;

beforeAll(async () => {
  source = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20 });
  destination = await startStack({ dataDir: tempDir(), seed: DEST_SEED, jobDelayMs: 20 });
  api = new Api(source.url, SOURCE_TOKEN);
  destApi = new Api(destination.url, DEST_TOKEN);
});
afterAll(async () => {
  await source?.close();
  await destination?.close();
});

/** Fields that exist only for file (ABS) or BigQuery workspaces; the emulated ones are Snowflake table workspaces. */
const FILE_OR_BIGQUERY_ONLY = ['connection.container', 'connection.connectionString', 'connection.credentials'];

describe('workspaces conform to the blueprint', () => {
  // example objects of the MSON data structures: placeholder values of the declared types, null where nullable
  const workspace = storageDataStructure('workspace');
  const created = storageDataStructure('workspace-created');

  test('the data structures were read', () => {
    expect(Object.keys(workspace)).toEqual(expect.arrayContaining(['id', 'name', 'component', 'configurationId', 'connection', 'creatorToken', 'ssoLoginAvailable']));
    expect(Object.keys(created.connection as object)).toContain('password');
  });

  test('create answers 201 with WorkspaceCreated, on the stack\'s own Snowflake host', async () => {
    const res = await destApi.post('workspaces', { backend: 'snowflake' });
    expect(res.status).toBe(201);
    expect(shapeDiff(created, res.body, { ignore: FILE_OR_BIGQUERY_ONLY })).toEqual([]);
    expect(res.body.connection).toMatchObject({ backend: 'snowflake', host: 'keboola.eu-central-1.snowflakecomputing.com', database: 'KEBOOLA_201' });
    expect(res.body.connection.password).toEqual(expect.any(String));
  });

  test('list and detail answer Workspace without the password; the workspace persists across a restart', async () => {
    const dir = tempDir();
    let stack = await startStack({ dataDir: dir, seed: DEST_SEED, jobDelayMs: 20 });
    const a = new Api(stack.url, DEST_TOKEN);
    const made = (await a.post('branch/default/workspaces', {})).body;
    await stack.close();
    stack = await startStack({ dataDir: dir, seed: DEST_SEED, jobDelayMs: 20 });
    const b = new Api(stack.url, DEST_TOKEN);
    const list = await b.get('workspaces');
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(shapeDiff(workspace, list.body[0], { ignore: FILE_OR_BIGQUERY_ONLY })).toEqual([]);
    const detail = await b.get(`workspaces/${made.id}`);
    expect(shapeDiff(workspace, detail.body, { ignore: FILE_OR_BIGQUERY_ONLY })).toEqual([]);
    expect(detail.body.connection.password).toBeUndefined();
    expect((await b.get('workspaces/424242')).status).toBe(404);
    await stack.close();
  });

  test('password reset matches the example and replaces the password', async () => {
    const made = (await destApi.post('workspaces', {})).body;
    const res = await destApi.post(`workspaces/${made.id}/password`);
    expect(res.status).toBe(201);
    expect(shapeDiff(storageExample('workspace-password-reset').body, res.body)).toEqual([]);
    const login = (password: string) => destApi.post('/_emulator/snowflake/login', { host: made.connection.host, user: made.connection.user, password });
    expect((await login(made.connection.password)).body.result).toBe('denied');
    expect((await login(res.body.password)).body.result).toBe('ok');
  });

  test('configuration workspaces belong to their configuration', async () => {
    const cfg = (await destApi.post('branch/default/components/keboola.wr-db-snowflake/configs', { name: 'w' })).body;
    const res = await destApi.post(`branch/default/components/keboola.wr-db-snowflake/configs/${cfg.id}/workspaces`, {});
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ component: 'keboola.wr-db-snowflake', configurationId: cfg.id });
    const list = await destApi.get(`branch/default/components/keboola.wr-db-snowflake/configs/${cfg.id}/workspaces`);
    expect(list.body.map((w: { id: number }) => w.id)).toEqual([res.body.id]);
    expect((await destApi.del(`workspaces/${res.body.id}`)).status).toBe(204);
    expect((await destApi.get(`branch/default/components/keboola.wr-db-snowflake/configs/${cfg.id}/workspaces`)).body).toEqual([]);
  });

  test('a Snowflake login checks host, user and password against this stack only', async () => {
    const made = (await destApi.post('workspaces', {})).body;
    const { host, user, password } = made.connection;
    expect((await destApi.post('/_emulator/snowflake/login', { host, user, password })).body.result).toBe('ok');
    expect((await destApi.post('/_emulator/snowflake/login', { host, user, password: 'wrong' })).status).toBe(401);
    expect((await api.post('/_emulator/snowflake/login', { host, user, password })).body.result).toBe('denied');
  });

  test('async creation is refused rather than answered with a different contract', async () => {
    expect((await destApi.post('workspaces?async=1', {})).status).toBe(400);
  });
});

describe('Encryption API', () => {
  const encrypt = (a: Api, query: string, body: unknown) => a.req('POST', `/_services/encryption/encrypt?${query}`, body);

  test('the API index lists the encryption and GoodData services', async () => {
    const services = (await api.get('/v2/storage')).body.services.map((s: { id: string }) => s.id);
    expect(services).toEqual(expect.arrayContaining(['encryption', 'gooddata-provisioning']));
    expect(services.filter((id: string) => id === 'encryption')).toHaveLength(1);
  });

  test('encrypts # values for a stack, project and component; only the admin endpoint of that stack decrypts', async () => {
    const res = await encrypt(destApi, 'componentId=keboola.ex-db-mysql&projectId=201', { plain: 'x', nested: { '#password': 'secret' } });
    expect(res.status).toBe(200);
    expect(res.body.plain).toBe('x');
    const cipher = res.body.nested['#password'];
    expect(cipher).toMatch(/^KBC::ProjectSecure::/);
    expect(cipher).not.toContain('secret');
    const decrypted = await destApi.post('/_emulator/encryption/decrypt', { value: cipher });
    expect(decrypted.body).toMatchObject({ plain: 'secret', stack: 'connection.eu-central-1.keboola.com', projectId: 201, componentId: 'keboola.ex-db-mysql', configId: null });
    expect((await api.post('/_emulator/encryption/decrypt', { value: cipher })).status).toBe(400);
    const tampered = cipher.slice(0, -8) + 'AAAAAAA=';
    expect((await destApi.post('/_emulator/encryption/decrypt', { value: tampered })).status).toBe(400);
  });

  test('refuses unknown components and projects', async () => {
    expect((await encrypt(destApi, 'componentId=keboola.ex-restbox&projectId=201', { '#a': 'b' })).status).toBe(400);
    expect((await encrypt(destApi, 'componentId=keboola.ex-db-mysql&projectId=999', { '#a': 'b' })).status).toBe(400);
    expect((await encrypt(destApi, 'projectId=201', { '#a': 'b' })).status).toBe(400);
  });

  test('migrate-configuration needs a Manage API token of the stack', async () => {
    const body = { sourceStorageApiToken: SOURCE_TOKEN, destinationStack: new URL(destination.url).host, destinationStorageApiToken: DEST_TOKEN, componentId: 'keboola.ex-db-mysql', configId: 'mysql-crm', branchId: 'default' };
    expect((await api.req('POST', '/_services/encryption/migrate-configuration', body)).status).toBe(401);
    expect((await api.req('POST', '/_services/encryption/migrate-configuration', body, { headers: { 'X-KBC-ManageApiToken': 'nope' } })).status).toBe(401);
    const dry = await api.req('POST', '/_services/encryption/migrate-configuration?dry-run=true', body, { headers: { 'X-KBC-ManageApiToken': 'us-manage-token-stack-migrate' } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ message: expect.stringContaining('dry run'), data: { componentId: 'keboola.ex-db-mysql', configId: 'mysql-crm', branchId: 'default' } });
    expect((await destApi.get('branch/default/components/keboola.ex-db-mysql/configs/mysql-crm')).status).toBe(404);
  });
});

describe('GoodData domain', () => {
  const gd = '/_services/gooddata-provisioning';
  const waitTask = async (a: Api, uri: string) => {
    for (let i = 0; i < 100; i++) {
      const s = (await a.get(`${gd}${uri}`)).body.taskState;
      if (s.status !== 'RUNNING') return s;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('task did not finish');
  };

  test('a project is exported cross-data-center and imported into another stack\'s project with its model and data', async () => {
    expect((await api.get(`${gd}/gdc/projects`)).body.projects.map((p: any) => p.project.meta.title)).toEqual(['Acme Sales Dashboard']);
    expect((await destApi.get(`${gd}/gdc/projects/k3x9salesdash101`)).status).toBe(404);
    const created = await destApi.post(`${gd}/gdc/projects`, { project: { meta: { title: 'Copy' }, content: { driver: 'Pg' } } });
    expect(created.status).toBe(201);
    const pid = created.body.uri.split('/').pop();
    for (let i = 0; i < 50 && (await destApi.get(`${gd}/gdc/projects/${pid}`)).body.project.content.state !== 'ENABLED'; i++) await new Promise((r) => setTimeout(r, 20));
    const exported = await api.post(`${gd}/gdc/md/k3x9salesdash101/maintenance/export`, { exportProject: { exportUsers: 0, exportData: 1, crossDataCenterExport: 1 } });
    expect(exported.status).toBe(201);
    expect(await waitTask(api, exported.body.exportArtifact.status.uri)).toEqual({ status: 'OK' });
    const imported = await destApi.post(`${gd}/gdc/md/${pid}/maintenance/import`, { importProject: { token: exported.body.exportArtifact.token } });
    expect(imported.status).toBe(201);
    expect(await waitTask(destApi, imported.body.uri)).toEqual({ status: 'OK' });
    const [from, to] = [(await api.get('/_emulator/gooddata/projects/k3x9salesdash101')).body, (await destApi.get(`/_emulator/gooddata/projects/${pid}`)).body];
    expect(to.model).toEqual(from.model);
    expect(to.data).toEqual(from.data);
    expect(to.data['dataset.orders']).toHaveLength(3);
    // a second import into the now full project fails as a task
    const again = await destApi.post(`${gd}/gdc/md/${pid}/maintenance/import`, { importProject: { token: exported.body.exportArtifact.token } });
    expect((await waitTask(destApi, again.body.uri)).status).toBe('ERROR');
  });

  test('needs a token of a project that owns the GoodData project', async () => {
    expect((await new Api(source.url, null).get(`${gd}/gdc/projects`)).status).toBe(401);
    expect((await destApi.post(`${gd}/gdc/md/k3x9salesdash101/maintenance/export`, { exportProject: {} })).status).toBe(404);
    expect((await destApi.post(`${gd}/gdc/md/xyz/maintenance/import`, { importProject: { token: 'garbage' } })).status).toBe(404);
  });
});
