/**
 * The Orchestrator area (stack/resources/orchestrator.ts) and the trigger and token areas (stack/resources/triggers.ts,
 * tokens.ts) against an emulated stack: service discovery, every method, and errors classified like the Storage API's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { startStack, type EmulatedStack } from '../../emulator/server';
import { createStackClient, OrchestrationDetailSchema, StackError, type OrchestratorResource, type Transport } from '../../stack';
import { SOURCE_SEED, SOURCE_TOKEN, tempDir } from '../emulator/util';

let stack: EmulatedStack;
let orchestrator: OrchestratorResource;
let transport: Transport;

beforeAll(async () => {
  stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 20 });
  ({ orchestrator, transport } = createStackClient({ url: stack.url, token: SOURCE_TOKEN }));
});
afterAll(() => stack?.close());

const admin = (path: string, init: RequestInit = {}) => fetch(`${stack.url}${path}`, { ...init, headers: { 'Content-Type': 'application/json' } });

describe('the Orchestrator area', () => {
  test('discovers the service URL from the API index', async () => {
    expect(await orchestrator.serviceUrl()).toBe(`${stack.url}/_services/orchestrator`);
  });

  test('list, get (null when missing), create, update, tasks, notifications, delete', async () => {
    const list = await orchestrator.list();
    expect(list.map((o) => o.id)).toEqual([123450001, 123450002, 123450003]);
    const nightly = await orchestrator.get(123450003);
    expect(nightly).toMatchObject({ name: 'Nightly master', crontabRecord: '15 3 * * *', crontabTimezone: 'America/New_York' });
    expect(nightly!.tasks[0]).toMatchObject({ component: 'orchestrator', actionParameters: { config: '123450001' }, phase: 'Extract' });
    expect(await orchestrator.get(42)).toBeNull();

    const created = await orchestrator.create({
      name: 'client test',
      crontabRecord: '0 6 * * 1',
      crontabTimezone: 'Europe/Prague',
      active: false,
      notifications: [{ email: 'me@acme.example', channel: 'error', parameters: {} }],
      tasks: [{ component: 'keboola.ex-db-mysql', action: 'run', actionParameters: { config: 'mysql-crm' }, phase: '1' }],
    });
    expect(created).toMatchObject({ name: 'client test', active: false, crontabTimezone: 'Europe/Prague', notifications: [{ email: 'me@acme.example', channel: 'error' }] });
    const id = created.id;

    // updating and deleting an orchestration are not part of the client (the migration never does): the raw request path
    const service = { service: 'orchestrator' };
    const updated = await transport.request('PUT', `/orchestrations/${id}`, OrchestrationDetailSchema, { ...service, json: { name: 'client test 2', crontabRecord: null } });
    expect(updated).toMatchObject({ name: 'client test 2', crontabRecord: null, active: false });

    const tasks = await orchestrator.updateTasks(id, [
      { component: 'orchestrator', action: 'run', actionParameters: { config: '123450001' }, continueOnFailure: true, active: true, timeoutMinutes: 15, phase: 'A' },
      { componentUrl: 'https://syrup.keboola.com/gooddata-writer/execute-reports', actionParameters: {} },
    ]);
    expect(tasks).toHaveLength(2);
    expect(tasks[0]).toMatchObject({ component: 'orchestrator', continueOnFailure: true, timeoutMinutes: 15, phase: 'A' });
    const notifications = await orchestrator.updateNotifications(id, [{ email: 'ops@acme.example', channel: 'waiting', parameters: { timeout: 5 } }]);
    expect(notifications).toEqual([{ email: 'ops@acme.example', channel: 'waiting', parameters: { timeout: 5 } }]);
    expect((await orchestrator.get(id))!.tasks).toHaveLength(2);

    await transport.request('DELETE', `/orchestrations/${id}`, z.unknown(), service);
    expect(await orchestrator.get(id)).toBeNull();
  });

  test('errors are classified StackErrors naming the service endpoint, without the token', async () => {
    const bad = createStackClient({ url: stack.url, token: 'wrong-token-value' }).orchestrator;
    const invalid = await bad.list().catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(StackError);
    expect(invalid).toMatchObject({ kind: 'invalid-token', status: 401, retryable: false, endpoint: 'GET /_services/orchestrator/orchestrations' });
    expect(String((invalid as Error).message)).not.toContain('wrong-token-value');

    const validation = await orchestrator.create({ name: 'x', crontabRecord: 'whenever' }).catch((e: unknown) => e);
    expect(validation).toMatchObject({ kind: 'bad-request', status: 400, retryable: false, code: 'orchestrator.validation' });

    await orchestrator.serviceUrl(); // discovered before the outage: the outage hits the service itself
    const fault = await admin('/_emulator/faults', { method: 'POST', body: JSON.stringify({ kind: 'outage', forRequests: 1, retryAfterSeconds: 7, pathPattern: '^/_services/orchestrator' }) });
    expect(fault.status).toBe(201);
    const outage = await orchestrator.list().catch((e: unknown) => e);
    expect(outage).toMatchObject({ kind: 'maintenance', status: 503, retryable: true, retryAfterSeconds: 7 });
    expect(await orchestrator.list()).toHaveLength(3);
  });

  test('a stack without the legacy Orchestrator: serviceUrl null, calls fail as not-found', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ components: [], services: [{ id: 'encryption', url: 'https://encryption.example' }], features: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = createStackClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 't0ken-value' }).orchestrator;
      expect(await client.serviceUrl()).toBeNull();
      await expect(client.list()).rejects.toMatchObject({ kind: 'not-found', retryable: false });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('triggers and tokens', () => {
  test('tokens.create answers the token without its secret; tokens.list too', async () => {
    const client = createStackClient({ url: stack.url, token: SOURCE_TOKEN });
    const token = await client.tokens.create({ description: 'runner', canManageBuckets: true, canReadAllFileUploads: true });
    expect(token).toMatchObject({ description: 'runner', canManageBuckets: true, canReadAllFileUploads: true, isMasterToken: false });
    expect(token).not.toHaveProperty('token');
    const tokens = await client.tokens.list();
    expect(tokens.some((t) => String(t.id) === String(token.id))).toBe(true);
    expect(tokens.every((t) => !('token' in t))).toBe(true);
  });

  test('create, list with filters, delete; invalid input is a bad-request StackError', async () => {
    const client = createStackClient({ url: stack.url, token: SOURCE_TOKEN });
    const token = await client.tokens.create({ description: 'trigger runner', canManageBuckets: true });
    const trigger = await client.triggers.create({ runWithTokenId: token.id, component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 10, tableIds: ['in.c-crm.customers'] });
    expect(trigger).toMatchObject({ component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 10, tables: [{ tableId: 'in.c-crm.customers' }] });
    expect(String(trigger.runWithTokenId)).toBe(String(token.id));
    expect((await client.triggers.list({ configurationId: '123450001' })).map((t) => t.id)).toEqual([trigger.id]);
    expect(await client.triggers.list()).toHaveLength(2); // with the seeded one
    await client.transport.request('DELETE', `/triggers/${trigger.id}`, z.unknown()); // not part of the client: the raw request path
    expect(await client.triggers.list({ configurationId: '123450001' })).toEqual([]);
    await expect(client.triggers.create({ runWithTokenId: token.id, component: 'orchestration', configurationId: '1', coolDownPeriodMinutes: 10, tableIds: ['in.c-crm.nope'] })).rejects.toMatchObject({
      kind: 'bad-request',
      code: 'storage.triggers.tableNotFound',
      endpoint: 'POST /v2/storage/triggers',
    });
  });
});
