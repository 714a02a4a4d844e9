/**
 * Writer steps against two emulated stacks, after the snapshot and the configuration restore made by the existing
 * activities: provisioned Snowflake writers work against their new workspace (shared users share one), the
 * customer-owned writer is untouched and listed, the GoodData project moves with its data, secrets migrate with
 * one failing configuration reported, and retries create no second workspace or GoodData project.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivityDeps } from '../../activities/deps';
import { createConfigurationActivities } from '../../activities/configurations';
import { createSnapshotActivities } from '../../activities/snapshot';
import { DUPLICATES_REMOVED_FILE, type RemovedDuplicate } from '../../activities/created-once';
import { createWriterActivities, WRITERS_RESULTS_FILE, type WritersResults } from '../../activities/writers';
import { readSeed, startStackPair, type StackPair } from '../../scripts/stack-pair';
import { Api } from '../emulator/util';

const MANAGE_TOKEN = 'us-manage-token-stack-migrate';
process.env.STACK_MIGRATE_TEST_MANAGE_TOKEN = MANAGE_TOKEN;
const manageTokenRef = 'env:STACK_MIGRATE_TEST_MANAGE_TOKEN';

interface Migration {
  pair: StackPair;
  snapshotDir: string;
  writers: ReturnType<typeof createWriterActivities>;
  src: Api;
  dst: Api;
  run<T>(fn: () => Promise<T>): Promise<T>;
}

async function prepare(
  options: { destinationSeed?: Awaited<ReturnType<typeof readSeed>>; beforeSnapshot?: (src: Api) => Promise<void>; lateWriteGraceMs?: number } = {},
): Promise<Migration> {
  const pair = await startStackPair({ jobDelayMs: 20, destinationSeed: options.destinationSeed });
  const deps = { ...createActivityDeps({ snapshotRoot: await fs.mkdtemp(path.join(os.tmpdir(), 'writers-snap-')) }), lateWriteGraceMs: options.lateWriteGraceMs };
  const env = new MockActivityEnvironment();
  const run = <T>(fn: () => Promise<T>): Promise<T> => env.run(fn) as Promise<T>;
  const src = new Api(pair.source.url, pair.tokens.source);
  const dst = new Api(pair.destination.url, pair.tokens.destination);
  await options.beforeSnapshot?.(src);
  const snapshot = createSnapshotActivities(deps);
  const plan = await run(() => snapshot.snapshotProjectMetadata({ source: pair.sourceRef, snapshotId: `writers-${Date.now()}-${Math.random()}` }));
  const configurations = createConfigurationActivities(deps);
  const count = await run(() => configurations.countSnapshotConfigurations({ snapshotDir: plan.snapshotDir }));
  await run(() => configurations.restoreConfigurations({ destination: pair.destinationRef, snapshotDir: plan.snapshotDir, batchNumber: 0, batchSize: count }));
  return { pair, snapshotDir: plan.snapshotDir, writers: createWriterActivities(deps), src, dst, run };
}

const config = async (api: Api, componentId: string, configId: string) => (await api.get(`branch/default/components/${componentId}/configs/${configId}`)).body;
const decrypt = async (api: Api, value: string) => (await api.post('/_emulator/encryption/decrypt', { value })).body;
const workspaces = async (api: Api) => (await api.get('workspaces')).body as Array<{ id: number; component: string | null; configurationId: string | null }>;
const readResults = async (m: Migration) => JSON.parse(await fs.readFile(path.join(m.snapshotDir, WRITERS_RESULTS_FILE), 'utf8')) as WritersResults;

describe('writers, secrets and GoodData between two stacks', () => {
  let m: Migration;
  beforeAll(async () => {
    m = await prepare({
      // a value encrypted the regular way, by the source's Encryption API for its configuration
      beforeSnapshot: async (src) => {
        const encrypted = await src.req('POST', '/_services/encryption/encrypt?componentId=keboola.ex-db-mysql&projectId=101&configId=mysql-api', { '#password': 'api-encrypted-password' });
        await src.post('branch/default/components/keboola.ex-db-mysql/configs', {
          configurationId: 'mysql-api',
          name: 'Encrypted through the API',
          configuration: { parameters: { db: { host: 'db.acme.example', user: 'app', '#password': encrypted.body['#password'] } } },
        });
      },
    });
  });
  afterAll(() => m?.pair.close());

  test('provisioned Snowflake writers work against their new workspace; writers of one user share it; the customer-owned one is listed', async () => {
    const result = await m.run(() => m.writers.provisionSnowflakeWriters({ source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir }));
    const byConfig = new Map(result.moved.map((x) => [x.configuration, x]));
    const sales = byConfig.get('keboola.wr-db-snowflake/wr-sales-mart')!;
    const finance = byConfig.get('keboola.wr-db-snowflake/wr-finance-mart')!;
    const reports = byConfig.get('keboola.wr-snowflake/wr-snowflake-reports')!;
    expect(sales.workspaceId).toBe(finance.workspaceId);
    expect(sales.sharedWith).toEqual(['keboola.wr-db-snowflake/wr-finance-mart']);
    expect(finance.sharedWith).toEqual(['keboola.wr-db-snowflake/wr-sales-mart']);
    expect(reports.workspaceId).not.toBe(sales.workspaceId);
    expect(reports.sharedWith).toEqual([]);
    expect(result.customerOwned).toEqual([{ configuration: 'keboola.wr-db-snowflake/wr-customer-dwh', host: 'acme.eu-west-1.snowflakecomputing.com' }]);
    expect(await workspaces(m.dst)).toHaveLength(2);

    for (const [componentId, configId, workspaceId] of [
      ['keboola.wr-db-snowflake', 'wr-sales-mart', sales.workspaceId],
      ['keboola.wr-db-snowflake', 'wr-finance-mart', sales.workspaceId],
      ['keboola.wr-snowflake', 'wr-snowflake-reports', reports.workspaceId],
    ] as const) {
      const db = (await config(m.dst, componentId, configId)).configuration.parameters.db;
      expect(db.host).toBe('keboola.eu-central-1.snowflakecomputing.com');
      expect(db.schema).toBe(`WORKSPACE_${workspaceId}`);
      // the password is ciphertext of the destination, for this project and component
      const plain = await decrypt(m.dst, db['#password']);
      expect(plain).toMatchObject({ stack: 'connection.eu-central-1.keboola.com', projectId: 201, componentId });
      expect((await decrypt(m.src, db['#password'])).plain).toBeUndefined();
      const login = await m.dst.post('/_emulator/snowflake/login', { host: db.host, user: db.user, password: plain.plain });
      expect(login.body).toMatchObject({ result: 'ok', workspaceId: Number(workspaceId), projectId: 201 });
    }
    const customer = (await config(m.dst, 'keboola.wr-db-snowflake', 'wr-customer-dwh')).configuration.parameters.db;
    expect(customer).toMatchObject({ host: 'acme.eu-west-1.snowflakecomputing.com', user: 'KEBOOLA_LOADER', database: 'ACME_DWH', '#password': '' });
    const saved = await readResults(m);
    expect(saved.snowflake).toMatchObject({ moved: result.moved, customerOwned: result.customerOwned });
  });

  test('a retry of the Snowflake step creates no second workspace and keeps the writers working', async () => {
    const before = await workspaces(m.dst);
    const again = await m.run(() => m.writers.provisionSnowflakeWriters({ source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir }));
    expect((await workspaces(m.dst)).map((w) => w.id)).toEqual(before.map((w) => w.id));
    expect(new Set(again.moved.map((x) => x.workspaceId)).size).toBe(2);
    const db = (await config(m.dst, 'keboola.wr-db-snowflake', 'wr-finance-mart')).configuration.parameters.db;
    const plain = (await decrypt(m.dst, db['#password'])).plain;
    expect((await m.dst.post('/_emulator/snowflake/login', { host: db.host, user: db.user, password: plain })).body.result).toBe('ok');
  });

  test('the GoodData project moves with its model and data, once', async () => {
    const input = { source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir };
    const result = await m.run(() => m.writers.moveGoodDataProjects(input));
    expect(result.moved).toEqual([{ configuration: 'keboola.gooddata-writer/gd-sales', oldProjectId: 'k3x9salesdash101', newProjectId: expect.any(String) }]);
    const newPid = result.moved[0]!.newProjectId;
    const [from, to] = [(await m.src.get('/_emulator/gooddata/projects/k3x9salesdash101')).body, (await m.dst.get(`/_emulator/gooddata/projects/${newPid}`)).body];
    expect(to.ownerProjectId).toBe(201);
    expect(to.title).toBe(from.title);
    expect(to.model).toEqual(from.model);
    expect(to.data).toEqual(from.data);
    expect((await config(m.dst, 'keboola.gooddata-writer', 'gd-sales')).configuration.parameters.project.pid).toBe(newPid);

    const again = await m.run(() => m.writers.moveGoodDataProjects(input));
    expect(again.moved).toEqual(result.moved);
    expect((await m.dst.get('/_emulator/gooddata/projects')).body).toHaveLength(1);
    expect((await readResults(m)).gooddata?.moved).toEqual(result.moved);
  });

  test('secrets migrate through the Encryption API; the configuration that fails is reported and the rest go on', async () => {
    const input = { source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir, manageTokenRef };
    const dry = await m.run(() => m.writers.migrateSecrets({ ...input, dryRun: true }));
    expect(dry.migrated).toEqual(expect.arrayContaining(['keboola.ex-db-mysql/mysql-crm', 'keboola.ex-db-mysql/mysql-api', 'keboola.wr-db-snowflake/wr-customer-dwh']));
    expect((await config(m.dst, 'keboola.ex-db-mysql', 'mysql-crm')).configuration.parameters.db['#password']).toBe('');

    const result = await m.run(() => m.writers.migrateSecrets(input));
    expect([...result.migrated].sort()).toEqual(['keboola.ex-db-mysql/mysql-api', 'keboola.ex-db-mysql/mysql-crm', 'keboola.wr-db-snowflake/wr-customer-dwh']);
    expect(result.failed).toEqual([{ configuration: 'keboola.ex-db-mysql/mysql-legacy-erp', error: expect.stringContaining('cannot be decrypted') }]);
    expect(result.skipped.map((s) => s.configuration).sort()).toEqual([
      'keboola.gooddata-writer/gd-sales',
      'keboola.wr-db-snowflake/wr-finance-mart',
      'keboola.wr-db-snowflake/wr-sales-mart',
      'keboola.wr-snowflake/wr-snowflake-reports',
    ]);

    const crm = (await config(m.dst, 'keboola.ex-db-mysql', 'mysql-crm')).configuration.parameters.db;
    expect(await decrypt(m.dst, crm['#password'])).toMatchObject({ plain: 'mysql-password', projectId: 201, componentId: 'keboola.ex-db-mysql' });
    expect((await decrypt(m.dst, crm.ssh.keys['#private'])).plain).toBe('ssh-private-key');
    const api = (await config(m.dst, 'keboola.ex-db-mysql', 'mysql-api')).configuration.parameters.db;
    expect((await decrypt(m.dst, api['#password'])).plain).toBe('api-encrypted-password');
    expect((await config(m.dst, 'keboola.ex-db-mysql', 'mysql-legacy-erp')).configuration.parameters.db['#password']).toBe('');
    // the provisioned writers keep their workspace password
    const sales = (await config(m.dst, 'keboola.wr-db-snowflake', 'wr-sales-mart')).configuration.parameters.db;
    expect((await m.dst.post('/_emulator/snowflake/login', { host: sales.host, user: sales.user, password: (await decrypt(m.dst, sales['#password'])).plain })).body.result).toBe('ok');

    const saved = await readResults(m);
    expect(saved.secrets).toMatchObject({ dryRun: false, migrated: result.migrated, failed: result.failed });
    const everything = JSON.stringify({ saved, result, dry });
    for (const secret of [MANAGE_TOKEN, m.pair.tokens.source, m.pair.tokens.destination, 'mysql-password', 'api-encrypted-password']) expect(everything).not.toContain(secret);
  });
});

describe('a retry after a failure in the middle', () => {
  test('the Snowflake step fails after creating the workspace; the retry reuses it with a new password', async () => {
    const m = await prepare();
    try {
      const fault = await m.dst.post('/_emulator/faults', { kind: 'outage', forRequests: 1, method: 'PUT', pathPattern: 'configs/wr-finance-mart$', retryAfterSeconds: 1 });
      expect(fault.status).toBe(201);
      const input = { source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir };
      await expect(m.run(() => m.writers.provisionSnowflakeWriters(input))).rejects.toMatchObject({ kind: 'maintenance' });
      // the shared-user group came first: its workspace exists, Sales mart points at it, Finance mart does not yet
      const afterFailure = await workspaces(m.dst);
      expect(afterFailure).toHaveLength(1);
      const result = await m.run(() => m.writers.provisionSnowflakeWriters(input));
      const after = await workspaces(m.dst);
      expect(after).toHaveLength(2);
      expect(after.map((w) => w.id)).toContain(afterFailure[0]!.id);
      const shared = result.moved.filter((x) => x.configuration.includes('-mart')).map((x) => x.workspaceId);
      expect(shared).toEqual([String(afterFailure[0]!.id), String(afterFailure[0]!.id)]);
      for (const configId of ['wr-sales-mart', 'wr-finance-mart']) {
        const db = (await config(m.dst, 'keboola.wr-db-snowflake', configId)).configuration.parameters.db;
        const login = await m.dst.post('/_emulator/snowflake/login', { host: db.host, user: db.user, password: (await decrypt(m.dst, db['#password'])).plain });
        expect(login.body.result).toBe('ok');
      }
      expect(result.moved).toHaveLength(3);
    } finally {
      await m.pair.close();
    }
  });

  test('a workspace or GoodData project create that lands after its retry leaves one of each', async () => {
    const m = await prepare({ lateWriteGraceMs: 1500 });
    try {
      const input = { source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir };
      // each first create reaches the stack 700 ms after its client gave up; the retry (at once) creates another
      await m.dst.post('/_emulator/faults', { kind: 'late-write', method: 'POST', pathPattern: '/workspaces$', latencyMs: 700, forRequests: 1 });
      await m.dst.post('/_emulator/faults', { kind: 'late-write', method: 'POST', pathPattern: '/gdc/projects$', latencyMs: 700, forRequests: 1 });
      await expect(m.run(() => m.writers.provisionSnowflakeWriters(input))).rejects.toMatchObject({ kind: 'network' });
      const snowflake = await m.run(() => m.writers.provisionSnowflakeWriters(input));
      const after = await workspaces(m.dst);
      expect(after.map((w) => String(w.id)).sort()).toEqual([...new Set(snowflake.moved.map((x) => x.workspaceId))].sort());
      expect(after).toHaveLength(2);

      await expect(m.run(() => m.writers.moveGoodDataProjects(input))).rejects.toMatchObject({ kind: 'network' });
      const gooddata = await m.run(() => m.writers.moveGoodDataProjects(input));
      const projects = (await m.dst.get('/_emulator/gooddata/projects')).body as Array<{ pid: string }>;
      expect(projects.map((p) => p.pid)).toEqual([gooddata.moved[0]!.newProjectId]);

      const removed = JSON.parse(await fs.readFile(path.join(m.snapshotDir, DUPLICATES_REMOVED_FILE), 'utf8')) as RemovedDuplicate[];
      expect(removed.map((r) => r.entity.split(' ')[0])).toEqual(['workspace', 'GoodData']);
    } finally {
      await m.pair.close();
    }
  });

  test('component IDs that differ between stacks are translated', async () => {
    const seed = await readSeed('destination-eu');
    for (const c of seed.stack.components) if (c.id === 'keboola.wr-db-snowflake') c.id = 'keboola.wr-snowflake-blob-storage';
    const m = await prepare({ destinationSeed: seed });
    try {
      const result = await m.run(() => m.writers.provisionSnowflakeWriters({ source: m.pair.sourceRef, destination: m.pair.destinationRef, snapshotDir: m.snapshotDir }));
      expect(result.moved.map((x) => x.configuration).sort()).toEqual([
        'keboola.wr-snowflake-blob-storage/wr-finance-mart',
        'keboola.wr-snowflake-blob-storage/wr-sales-mart',
        'keboola.wr-snowflake/wr-snowflake-reports',
      ]);
      expect(result.customerOwned).toEqual([{ configuration: 'keboola.wr-snowflake-blob-storage/wr-customer-dwh', host: 'acme.eu-west-1.snowflakecomputing.com' }]);
      const db = (await config(m.dst, 'keboola.wr-snowflake-blob-storage', 'wr-sales-mart')).configuration.parameters.db;
      expect(await decrypt(m.dst, db['#password'])).toMatchObject({ componentId: 'keboola.wr-snowflake-blob-storage' });
    } finally {
      await m.pair.close();
    }
  });
});
