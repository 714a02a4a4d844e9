/**
 * The Orchestrator client (stack/orchestrator.ts) and the trigger/token functions (stack/triggers.ts) against an
 * emulated stack: service discovery, every method, and errors classified like the Storage API client's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, type EmulatedStack } from '../../emulator/server';
import {
  createOrchestratorClient,
  createStackClient,
  createToken,
  createTrigger,
  deleteTrigger,
  listTokens,
  listTriggers,
  StackError,
  type OrchestratorClient,
} from '../../stack';
import { SOURCE_SEED, SOURCE_TOKEN, tempDir } from '../emulator/util';

let stack: EmulatedStack;
let orchestrator: OrchestratorClient;

beforeAll(async () => {
  stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20 });
  orchestrator = createOrchestratorClient({ url: stack.url, token: SOURCE_TOKEN });
});
afterAll(() => stack?.close());

const admin = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, { ...init, headers: { 'Content-Type': 'application/json' } });

describe('OrchestratorClient', () => {
  test('discovers the service URL from the API index', async () => {
    expect(await orchestrator.serviceUrl()).toBe(`${stack.url}/_services/orchestrator`);
  });

  test('list, get (null when missing), create, update, tasks, notifications, delete', async () => {
    const list = await orchestrator.listOrchestrations();
    expect(list.map((o) => o.id)).toEqual([123450001, 123450002, 123450003]);
    const nightly = await orchestrator.getOrchestration(123450003);
    expect(nightly).toMatchObject({ name: 'Nightly master', crontabRecord: '15 3 * * *', crontabTimezone: 'America/New_York' });
    expect(nightly!.tasks[0]).toMatchObject({ component: 'orchestrator', actionParameters: { config: '123450001' }, phase: 'Extract' });
    expect(await orchestrator.getOrchestration(42)).toBeNull();

    const created = await orchestrator.createOrchestration({
      name: 'client test',
      crontabRecord: '0 6 * * 1',
      crontabTimezone: 'Europe/Prague',
      active: false,
      notifications: [{ email: 'me@acme.example', channel: 'error', parameters: {} }],
      tasks: [{ component: 'keboola.ex-db-mysql', action: 'run', actionParameters: { config: 'mysql-crm' }, phase: '1' }],
    });
    expect(created).toMatchObject({ name: 'client test', active: false, crontabTimezone: 'Europe/Prague', notifications: [{ email: 'me@acme.example', channel: 'error' }] });
    const id = created.id;

    const updated = await orchestrator.updateOrchestration(id, { name: 'client test 2', crontabRecord: null });
    expect(updated).toMatchObject({ name: 'client test 2', crontabRecord: null, active: false });

    const tasks = await orchestrator.updateTasks(id, [
      { component: 'orchestrator', action: 'run', actionParameters: { config: '123450001' }, continueOnFailure: true, active: true, timeoutMinutes: 15, phase: 'A' },
      { componentUrl: 'https://syrup.keboola.com/gooddata-writer/execute-reports', actionParameters: {} },
    ]);
    expect(tasks).toHaveLength(2);
    expect(tasks[0]).toMatchObject({ component: 'orchestrator', continueOnFailure: true, timeoutMinutes: 15, phase: 'A' });
    const notifications = await orchestrator.updateNotifications(id, [{ email: 'ops@acme.example', channel: 'waiting', parameters: { timeout: 5 } }]);
    expect(notifications).toEqual([{ email: 'ops@acme.example', channel: 'waiting', parameters: { timeout: 5 } }]);
    expect((await orchestrator.getOrchestration(id))!.tasks).toHaveLength(2);

    await orchestrator.deleteOrchestration(id);
    expect(await orchestrator.getOrchestration(id)).toBeNull();
  });

  test('errors are classified StackErrors naming the service endpoint, without the token', async () => {
    const bad = createOrchestratorClient({ url: stack.url, token: 'wrong-token-value' });
    const invalid = await bad.listOrchestrations().catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(StackError);
    expect(invalid).toMatchObject({ kind: 'invalid-token', status: 401, retryable: false, endpoint: 'GET /_services/orchestrator/orchestrations' });
    expect(String((invalid as Error).message)).not.toContain('wrong-token-value');

    const validation = await orchestrator.createOrchestration({ name: 'x', crontabRecord: 'whenever' }).catch((e: unknown) => e);
    expect(validation).toMatchObject({ kind: 'bad-request', status: 400, retryable: false, code: 'orchestrator.validation' });

    await orchestrator.serviceUrl(); // discovered before the outage: the outage hits the service itself
    const fault = await admin('/_emulator/faults', { method: 'POST', body: JSON.stringify({ kind: 'outage', forRequests: 1, retryAfterSeconds: 7, pathPattern: '^/_services/orchestrator' }) });
    expect(fault.status).toBe(201);
    const outage = await orchestrator.listOrchestrations().catch((e: unknown) => e);
    expect(outage).toMatchObject({ kind: 'maintenance', status: 503, retryable: true, retryAfterSeconds: 7 });
    expect(await orchestrator.listOrchestrations()).toHaveLength(3);
  });

  test('a stack without the legacy Orchestrator: serviceUrl null, calls fail as not-found', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ components: [], services: [{ id: 'encryption', url: 'https://encryption.example' }], features: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = createOrchestratorClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't0ken-value' });
      expect(await client.serviceUrl()).toBeNull();
      await expect(client.listOrchestrations()).rejects.toMatchObject({ kind: 'not-found', retryable: false });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('triggers and tokens', () => {
  test('createToken answers the token without its secret; listTokens too', async () => {
    const client = createStackClient({ url: stack.url, token: SOURCE_TOKEN });
    const token = await createToken(client, { description: 'runner', canManageBuckets: true, canReadAllFileUploads: true });
    expect(token).toMatchObject({ description: 'runner', canManageBuckets: true, canReadAllFileUploads: true, isMasterToken: false });
    expect(token).not.toHaveProperty('token');
    const tokens = await listTokens(client);
    expect(tokens.some((t) => String(t.id) === String(token.id))).toBe(true);
    expect(tokens.every((t) => !('token' in t))).toBe(true);
  });

  test('create, list with filters, delete; invalid input is a bad-request StackError', async () => {
    const client = createStackClient({ url: stack.url, token: SOURCE_TOKEN });
    const token = await createToken(client, { description: 'trigger runner', canManageBuckets: true });
    const trigger = await createTrigger(client, { runWithTokenId: token.id, component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 10, tableIds: ['in.c-crm.customers'] });
    expect(trigger).toMatchObject({ component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 10, tables: [{ tableId: 'in.c-crm.customers' }] });
    expect(String(trigger.runWithTokenId)).toBe(String(token.id));
    expect((await listTriggers(client, { configurationId: '123450001' })).map((t) => t.id)).toEqual([trigger.id]);
    expect(await listTriggers(client)).toHaveLength(2); // with the seeded one
    await deleteTrigger(client, trigger.id);
    expect(await listTriggers(client, { configurationId: '123450001' })).toEqual([]);
    await expect(createTrigger(client, { runWithTokenId: token.id, component: 'orchestration', configurationId: '1', coolDownPeriodMinutes: 10, tableIds: ['in.c-crm.nope'] })).rejects.toMatchObject({
      kind: 'bad-request',
      code: 'storage.triggers.tableNotFound',
      endpoint: 'POST /v2/storage/triggers',
    });
  });
});
