/** stack/ clients of workspaces, the Encryption API and the GoodData domain, against emulated stacks. */
import { startStack, type EmulatedStack } from '../../emulator/server';
import { createStackClient, EncryptedObjectSchema, StackError, stackHost, type StackClient } from '../../stack';
import { Api, DEST_SEED, DEST_TOKEN, SOURCE_SEED, SOURCE_TOKEN, tempDir } from '../emulator/util';

const MANAGE_TOKEN = 'us-manage-token-stack-migrate';
let source: EmulatedStack;
let destination: EmulatedStack;
let src: StackClient;
let dst: StackClient;

beforeAll(async () => {
  source = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20 });
  destination = await startStack({ dataDir: tempDir(), seed: DEST_SEED, jobDelayMs: 20 });
  src = createStackClient({ url: source.url, token: SOURCE_TOKEN });
  dst = createStackClient({ url: destination.url, token: DEST_TOKEN });
});
afterAll(async () => {
  await source?.close();
  await destination?.close();
});

test('workspaces: create (with password), get and list (without), configuration workspaces, password reset', async () => {
  const created = await dst.workspaces.create();
  expect(created.connection).toMatchObject({ backend: 'snowflake', host: 'keboola.eu-central-1.snowflakecomputing.com', password: expect.any(String) });
  const detail = await dst.workspaces.get(created.id);
  expect(detail?.connection.user).toBe(created.connection.user);
  expect((detail?.connection as Record<string, unknown>).password).toBeUndefined();
  expect(await dst.workspaces.get(123456)).toBeNull();
  await dst.configurations.create('keboola.wr-db-snowflake', { configurationId: 'client-ws', name: 'client' });
  const owned = await dst.workspaces.create({ configuration: { componentId: 'keboola.wr-db-snowflake', configId: 'client-ws' } });
  expect((await dst.workspaces.list({ componentId: 'keboola.wr-db-snowflake', configId: 'client-ws' })).map((w) => w.id)).toEqual([owned.id]);
  expect((await dst.workspaces.list()).map((w) => w.id)).toEqual(expect.arrayContaining([created.id, owned.id]));
  const password = await dst.workspaces.resetPassword(owned.id);
  const login = await new Api(destination.url, null).post('/_emulator/snowflake/login', { host: owned.connection.host, user: owned.connection.user, password });
  expect(login.body.result).toBe('ok');
});

test('Encryption API: encrypt finds the service in the API index; an unknown component is a bad request', async () => {
  const encryption = dst.encryption;
  expect(await dst.transport.serviceUrl('encryption')).toBe(`${destination.url}/_services/encryption`);
  const cipher = await encryption.encryptValue('p4ss', { componentId: 'keboola.ex-db-mysql', projectId: 201 });
  expect(cipher).toMatch(/^KBC::ProjectSecure::/);
  // a whole object (the client itself encrypts single values only): the raw request path
  const query = { componentId: 'keboola.ex-db-mysql', projectId: 201, configId: 'cfg' };
  const nested = await dst.transport.request('POST', '/encrypt', EncryptedObjectSchema, { service: 'encryption', query, json: { a: 1, b: { '#c': 'x' } } });
  expect(nested).toMatchObject({ a: 1, b: { '#c': expect.stringMatching(/^KBC::ConfigSecure::/) } });
  await expect(encryption.encryptValue('x', { componentId: 'keboola.ex-restbox' })).rejects.toMatchObject({ kind: 'bad-request', retryable: false });
});

test('migrate-configuration: dry run and run; a wrong Manage token is an invalid token and never appears in messages', async () => {
  const encryption = src.encryption;
  const input = { manageToken: MANAGE_TOKEN, sourceStorageApiToken: SOURCE_TOKEN, destinationStack: stackHost(destination.url), destinationStorageApiToken: DEST_TOKEN, componentId: 'keboola.ex-db-mysql', configId: 'mysql-crm' };
  const dry = await encryption.migrateConfiguration({ ...input, dryRun: true });
  expect(dry.data).toMatchObject({ componentId: 'keboola.ex-db-mysql', configId: 'mysql-crm', branchId: 'default' });
  expect(await dst.configurations.get('keboola.ex-db-mysql', 'mysql-crm')).toBeNull();
  await encryption.migrateConfiguration(input);
  const migrated = await dst.configurations.get('keboola.ex-db-mysql', 'mysql-crm');
  expect((migrated?.configuration as any).parameters.db['#password']).toMatch(/^KBC::ProjectSecure::/);
  expect(migrated?.rows).toHaveLength(2);

  const wrong = 'wrong-manage-token-value';
  const error = await encryption.migrateConfiguration({ ...input, manageToken: wrong }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StackError);
  expect(error).toMatchObject({ kind: 'invalid-token', retryable: false });
  const failed = await encryption.migrateConfiguration({ ...input, configId: 'mysql-legacy-erp' }).catch((e: unknown) => e as StackError);
  expect(failed).toMatchObject({ kind: 'bad-request' });
  for (const e of [error as StackError, failed as StackError]) {
    const text = `${e.message} ${JSON.stringify(e.toJSON())}`;
    for (const secret of [wrong, MANAGE_TOKEN, SOURCE_TOKEN, DEST_TOKEN]) expect(text).not.toContain(secret);
  }
});

test('GoodData: create, wait, export, import, poll', async () => {
  const [from, to] = [src.gooddata, dst.gooddata];
  expect((await from.listProjects()).map((p) => p.pid)).toEqual(['k3x9salesdash101']);
  const pid = await to.createProject('Copy', 'marker');
  expect((await to.getProject(pid))?.state).toBe('PREPARING');
  expect(await to.waitForProject(pid, { pollMs: 20 })).toMatchObject({ pid, title: 'Copy', summary: 'marker', state: 'ENABLED' });
  const exported = await from.exportProject('k3x9salesdash101');
  await from.waitForTask(exported.statusUri, { pollMs: 20 });
  const imported = await to.importProject(pid, exported.token);
  await to.waitForTask(imported.statusUri, { pollMs: 20 });
  const again = await to.importProject(pid, exported.token);
  await expect(to.waitForTask(again.statusUri, { pollMs: 20 })).rejects.toMatchObject({ kind: 'job-failed' });
  expect(await to.getProject('k3x9salesdash101')).toBeNull();
});
