/**
 * The emulator's legacy Orchestrator API, Storage triggers and token management: conformance with the blueprint
 * examples (every example key present with the same JSON type, same status code; the examples are checked-in
 * reference fixtures under test/fixtures/reference) and the behaviour the migration relies on (new numeric IDs
 * per stack, a run token per orchestration, validation, persistence).
 */
import { startStack, type EmulatedStack } from '../../emulator/server';
import { orchestratorExample, shapeDiff, storageExample } from '../helpers/reference';
import { Api, DEST_SEED, DEST_TOKEN, SOURCE_SEED, SOURCE_TOKEN, tempDir } from '../emulator/util';

const OPAQUE = { opaque: ['tasks[].actionParameters', '[].actionParameters', 'notifications[].parameters', '[].parameters'] };

let source: EmulatedStack;
let destination: EmulatedStack;
let sourceDir: string;
let api: Api;
let service: string;

beforeAll(async () => {
  sourceDir = tempDir();
  source = await startStack({ dataDir: sourceDir, seed: SOURCE_SEED, jobDelayMs: 20 });
  destination = await startStack({ dataDir: tempDir(), seed: DEST_SEED, jobDelayMs: 20 });
  api = new Api(source.url, SOURCE_TOKEN);
  service = `/_services/orchestrator`;
});
afterAll(async () => {
  await source?.close();
  await destination?.close();
});

const put = (path: string, body: unknown) => api.req('PUT', path, body);
const del = (path: string) => api.req('DELETE', path);

describe('Orchestrator API conformance (orchestrator-api.apib)', () => {
  test('the API index advertises the service where it is served', async () => {
    const index = await new Api(source.url, null).get('/v2/storage');
    const orchestrator = index.body.services.find((s: { id: string }) => s.id === 'orchestrator');
    expect(orchestrator.url).toBe(`${source.url}${service}`);
    expect((await api.get(`${service}/orchestrations`)).status).toBe(200);
  });

  test('list: Orchestrations Collection', async () => {
    const res = await api.get(`${service}/orchestrations`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(3);
    // without a schedule crontabRecord and nextScheduledTime are null (the blueprint's crontabRecord is optional)
    expect(shapeDiff(orchestratorExample('orchestrations-collection'), res.body, { ...OPAQUE, ignore: ['[].crontabRecord', '[].nextScheduledTime'] })).toEqual([]);
    const scheduled = res.body.filter((o: { crontabRecord: string | null }) => o.crontabRecord !== null);
    expect(shapeDiff(orchestratorExample('orchestrations-collection'), scheduled, OPAQUE)).toEqual([]);
    expect(res.body[0]).not.toHaveProperty('tasks');
  });

  test('create (201), detail, update (200), delete (204): Manage Orchestration', async () => {
    const request = orchestratorExample('create-orchestration-request') as Record<string, unknown>;
    delete request.tokenId; // the example's token 1661 does not exist here: a new token is created instead
    const created = await api.post(`${service}/orchestrations`, request);
    expect(created.status).toBe(201);
    const model = orchestratorExample('manage-orchestration');
    expect(shapeDiff(model, created.body, OPAQUE)).toEqual([]);
    expect(created.body).toMatchObject({ name: 'Main orchestrator', crontabRecord: '0 * * * *', active: true });
    expect(created.body.tasks.map((t: Record<string, unknown>) => t.component ?? t.componentUrl)).toEqual(['ex-facebook', 'transformation', 'https://syrup.keboola.com/gooddata-writer/execute-reports']);
    expect(created.body.notifications[1]).toEqual({ email: 'someone@somewhere.com', channel: 'waiting', parameters: { timeout: 10 } });

    const id = created.body.id as number;
    const detail = await api.get(`${service}/orchestrations/${id}`);
    expect(detail.status).toBe(200);
    expect(shapeDiff(model, detail.body, OPAQUE)).toEqual([]);

    const updated = await put(`${service}/orchestrations/${id}`, { active: false });
    expect(updated.status).toBe(200);
    // a disabled orchestration is never scheduled: nextScheduledTime is null
    expect(shapeDiff(model, updated.body, { ...OPAQUE, ignore: ['nextScheduledTime'] })).toEqual([]);
    expect(updated.body).toMatchObject({ active: false, nextScheduledTime: null, name: 'Main orchestrator' });

    expect((await del(`${service}/orchestrations/${id}`)).status).toBe(204);
    expect((await api.get(`${service}/orchestrations/${id}`)).status).toBe(404);
  });

  test('tasks GET/PUT (202): Orchestration Tasks', async () => {
    const model = orchestratorExample('orchestration-tasks') as unknown[];
    const current = await api.get(`${service}/orchestrations/123450003/tasks`);
    expect(current.status).toBe(200);
    expect(shapeDiff(model, current.body, OPAQUE)).toEqual([]);
    const created = await api.post(`${service}/orchestrations`, { name: 'tasks target' });
    const replaced = await put(`${service}/orchestrations/${created.body.id}/tasks`, model);
    expect(replaced.status).toBe(202);
    expect(shapeDiff(model, replaced.body, OPAQUE)).toEqual([]);
    expect((await api.get(`${service}/orchestrations/${created.body.id}`)).body.tasks).toHaveLength(3);
  });

  test('notifications GET/PUT (202), under both spellings: Orchestration Notifications', async () => {
    const model = orchestratorExample('orchestration-notifications') as unknown[];
    const current = await api.get(`${service}/orchestrations/123450003/notifications`);
    expect(current.status).toBe(200);
    expect(shapeDiff(model, current.body, OPAQUE)).toEqual([]);
    const created = await api.post(`${service}/orchestrations`, { name: 'notifications target' });
    for (const resource of ['notifications', 'nofitications']) {
      const replaced = await put(`${service}/orchestrations/${created.body.id}/${resource}`, model);
      expect(replaced.status).toBe(202);
      expect(shapeDiff(model, replaced.body, OPAQUE)).toEqual([]);
    }
    expect((await api.get(`${service}/orchestrations/${created.body.id}/nofitications`)).body).toEqual(model);
  });
});

describe('Orchestrator API behaviour', () => {
  test('the seed: a nested orchestration with schedule, time zone, notifications and task attributes', async () => {
    const nightly = (await api.get(`${service}/orchestrations/123450003`)).body;
    expect(nightly).toMatchObject({ name: 'Nightly master', crontabRecord: '15 3 * * *', crontabTimezone: 'America/New_York', active: true });
    expect(nightly.notifications).toHaveLength(3);
    expect(nightly.tasks[0]).toMatchObject({ component: 'orchestrator', action: 'run', actionParameters: { config: '123450001' }, continueOnFailure: false, active: true, timeoutMinutes: null, phase: 'Extract' });
    expect(nightly.tasks[2]).toMatchObject({ component: 'keboola.app-tree', active: false, continueOnFailure: true });
  });

  test('new numeric IDs, different per stack; a new run token; a mirrored `orchestrator` configuration', async () => {
    const a = await api.post(`${service}/orchestrations`, { name: 'id probe' });
    const b = await api.post(`${service}/orchestrations`, { name: 'id probe' });
    expect(typeof a.body.id).toBe('number');
    expect(b.body.id).toBe(a.body.id + 1);
    expect(a.body.token.id).not.toBe(b.body.token.id);
    const dest = new Api(destination.url, DEST_TOKEN);
    const c = await dest.post(`${service}/orchestrations`, { name: 'id probe' });
    expect(c.status).toBe(201);
    expect(Math.abs(c.body.id - a.body.id)).toBeGreaterThan(1000);
    const mirror = await api.get(`branch/default/components/orchestrator/configs/${a.body.id}`);
    expect(mirror.status).toBe(200);
    expect(mirror.body.name).toBe('id probe');
    await put(`${service}/orchestrations/${a.body.id}`, { name: 'renamed probe', active: false });
    expect((await api.get(`branch/default/components/orchestrator/configs/${a.body.id}`)).body).toMatchObject({ name: 'renamed probe', isDisabled: true });
    await del(`${service}/orchestrations/${a.body.id}`);
    expect((await api.get(`branch/default/components/orchestrator/configs/${a.body.id}`)).status).toBe(404);
  });

  test('an explicit tokenId must be a token of the project', async () => {
    const verify = await api.get('tokens/verify');
    const ok = await api.post(`${service}/orchestrations`, { name: 'own token', tokenId: Number(verify.body.id) });
    expect(ok.status).toBe(201);
    expect(ok.body.token.id).toBe(Number(verify.body.id));
    const foreign = await new Api(destination.url, DEST_TOKEN).get('tokens/verify');
    const bad = await api.post(`${service}/orchestrations`, { name: 'foreign token', tokenId: Number(foreign.body.id) + 100000 });
    expect(bad.status).toBe(400);
  });

  test('authentication, not found and validation errors in Keboola shape', async () => {
    expect((await new Api(source.url, null).get(`${service}/orchestrations`)).status).toBe(401);
    const invalid = await new Api(source.url, 'nope').get(`${service}/orchestrations`);
    expect(invalid.status).toBe(401);
    expect(invalid.body).toMatchObject({ status: 'error', code: 'orchestrator.tokenInvalid' });
    expect((await api.get(`${service}/orchestrations/999`)).status).toBe(404);
    // another project's orchestration is not visible
    expect((await new Api(destination.url, DEST_TOKEN).get(`${service}/orchestrations/123450001`)).status).toBe(404);
    for (const body of [{}, { name: 'x', crontabRecord: 'every day' }, { name: 'x', tasks: [{ action: 'run' }] }, { name: 'x', tasks: [{ componentUrl: 'http://insecure' }] }, { name: 'x', notifications: [{ email: 'a@b.c', channel: 'never' }] }]) {
      const res = await api.post(`${service}/orchestrations`, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual(expect.any(String));
    }
    expect((await put(`${service}/orchestrations/123450001/tasks`, { not: 'a list' })).status).toBe(400);
  });

  test('orchestrations and triggers persist across a restart', async () => {
    const created = await api.post(`${service}/orchestrations`, { name: 'survivor', crontabRecord: '0 1 * * *' });
    await source.close();
    source = await startStack({ dataDir: sourceDir, seed: SOURCE_SEED, jobDelayMs: 20 });
    api = new Api(source.url, SOURCE_TOKEN);
    const after = await api.get(`${service}/orchestrations/${created.body.id}`);
    expect(after.body).toMatchObject({ name: 'survivor', crontabRecord: '0 1 * * *' });
    expect((await api.get('triggers')).body).toHaveLength(1);
    const next = await api.post(`${service}/orchestrations`, { name: 'after restart' });
    expect(next.body.id).toBe(created.body.id + 1);
  });
});

describe('Storage triggers and tokens (storage-api.apib)', () => {
  test('trigger create (201), list, detail, update, delete (204) match the blueprint', async () => {
    const token = await api.post('tokens', { description: 'trigger runner', canManageBuckets: true });
    expect(token.status).toBe(201);
    const body = { runWithTokenId: Number(token.body.id), component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 20, tableIds: ['in.c-crm.customers', 'in.c-crm.orders'] };
    const created = await api.post('triggers', body);
    expect(created.status).toBe(201);
    expect(shapeDiff(storageExample('trigger-create').body, created.body)).toEqual([]);
    expect(created.body).toMatchObject({ runWithTokenId: Number(token.body.id), component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 20, tables: [{ tableId: 'in.c-crm.customers' }, { tableId: 'in.c-crm.orders' }] });

    const listed = await api.get('triggers?component=orchestration&configurationId=123450001');
    expect(shapeDiff(storageExample('trigger-list').body, listed.body)).toEqual([]);
    expect(listed.body.map((t: { id: string }) => t.id)).toEqual([created.body.id]);

    const detail = await api.get(`triggers/${created.body.id}`);
    expect(shapeDiff(storageExample('trigger-detail').body, detail.body)).toEqual([]);
    const updated = await put(`/v2/storage/triggers/${created.body.id}`, { coolDownPeriodMinutes: 45, tableIds: ['in.c-crm.orders'] });
    expect(updated.status).toBe(200);
    expect(shapeDiff(storageExample('trigger-update').body, updated.body)).toEqual([]);
    expect(updated.body).toMatchObject({ coolDownPeriodMinutes: 45, tables: [{ tableId: 'in.c-crm.orders' }] });

    // a token that runs a trigger cannot be deleted; the trigger can
    expect((await del(`/v2/storage/tokens/${token.body.id}`)).status).toBe(400);
    expect((await del(`/v2/storage/triggers/${created.body.id}`)).status).toBe(204);
    expect((await api.get(`triggers/${created.body.id}`)).status).toBe(404);
    expect((await del(`/v2/storage/tokens/${token.body.id}`)).status).toBe(204);
  });

  test('runWithTokenId must be a token of the project; tables must exist; cool down at least 1', async () => {
    const foreign = await new Api(destination.url, DEST_TOKEN).get('tokens/verify');
    const own = await api.get('tokens/verify');
    const base = { component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 5, tableIds: ['in.c-crm.orders'] };
    expect((await api.post('triggers', { ...base, runWithTokenId: Number(foreign.body.id) + 100000 })).status).toBe(400);
    expect((await api.post('triggers', { ...base })).status).toBe(400);
    expect((await api.post('triggers', { ...base, runWithTokenId: Number(own.body.id), tableIds: ['in.c-crm.nope'] })).status).toBe(400);
    expect((await api.post('triggers', { ...base, runWithTokenId: Number(own.body.id), coolDownPeriodMinutes: 0 })).status).toBe(400);
    const limited = new Api(source.url, '101-source-readonly-token');
    expect((await limited.post('triggers', { ...base, runWithTokenId: Number(own.body.id) })).status).toBe(403);
  });

  test('token create matches the blueprint; the seeded trigger runs with an [_internal] token', async () => {
    const created = await api.post('tokens', { description: 'my-new-token', bucketPermissions: { 'in.c-crm': 'read' }, componentAccess: ['keboola.ex-db-mysql'], expiresIn: 60 });
    expect(created.status).toBe(201);
    expect(shapeDiff(storageExample('token-create').body, created.body, { maps: ['bucketPermissions'] })).toEqual([]);
    expect(created.body).toMatchObject({ description: 'my-new-token', isMasterToken: false, bucketPermissions: { 'in.c-crm': 'read' }, componentAccess: ['keboola.ex-db-mysql'] });
    const seeded = (await api.get('triggers')).body[0];
    expect(seeded).toMatchObject({ component: 'orchestration', configurationId: '123450002', coolDownPeriodMinutes: 30, tables: [{ tableId: 'in.c-crm.orders' }] });
    const runner = await api.get(`tokens/${seeded.runWithTokenId}`);
    expect(runner.body.description).toBe('[_internal] Token for triggering 123450002');
    const all = await api.get('tokens');
    expect(all.body.map((t: { id: string }) => t.id)).toEqual(expect.arrayContaining([String(seeded.runWithTokenId), created.body.id]));
    expect((await new Api(source.url, '101-source-readonly-token').get('tokens')).status).toBe(403);
  });
});
