/**
 * The stack client's Scheduler service area (stack/resources/scheduler.ts) against the emulator: discovery through the
 * API index, activation, one schedule per configuration, listing by target, the two deletes, and the refusals as
 * StackErrors.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type EmulatedStack } from '../../emulator/server';
import { createStackClient, StackError, type StackClient } from '../../stack';

const TOKEN = 'scheduler-client-master-token';
const SCHEDULER = 'keboola.scheduler';
const EXTRACTOR = 'keboola.ex-db-snowflake';

const scheduleBody = (cronTab: string, state = 'enabled') => ({
  schedule: { cronTab, timezone: 'UTC', state },
  target: { componentId: EXTRACTOR, configurationId: 'cfg-1', mode: 'run' },
});

const seed = {
  stack: {
    region: 'eu-central-1',
    snowflakeHost: 'keboola.eu-central-1.snowflakecomputing.com',
    outboundIpAddresses: [],
    components: [
      { id: EXTRACTOR, type: 'extractor' as const, name: 'Snowflake extractor' },
      { id: SCHEDULER, type: 'other' as const, name: 'Scheduler' },
    ],
  },
  projects: [
    {
      id: 301,
      name: 'Scheduled',
      defaultBackend: 'snowflake' as const,
      backends: ['snowflake'],
      tokens: [{ token: TOKEN, description: 'master', isMasterToken: true }],
      configurations: [
        { componentId: EXTRACTOR, id: 'cfg-1', name: 'Extractor' },
        { componentId: SCHEDULER, id: 'sched-seeded', name: 'Nightly', configuration: scheduleBody('0 3 * * *', 'disabled') },
      ],
      schedules: [{ configurationId: 'sched-seeded' }],
    },
  ],
};

let dataDir: string;
let stack: EmulatedStack;
let client: StackClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'stack-scheduler-'));
  stack = await startStack({ dataDir, seed, jobDelayMs: 10 });
  client = createStackClient({ url: stack.url, token: TOKEN, timeoutMs: 10_000 });
});

afterAll(async () => {
  await stack?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<StackError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StackError);
  return error as StackError;
}

describe('client.scheduler', () => {
  it('is discovered through the API index; lists the seeded schedule, typed', async () => {
    expect(await client.scheduler.available()).toBe(true);
    const listed = await client.scheduler.list();
    expect(listed).toEqual([
      {
        id: expect.any(String),
        tokenId: expect.any(String),
        configurationId: 'sched-seeded',
        configurationVersionId: '1',
        schedule: { cronTab: '0 3 * * *', timezone: 'UTC', state: 'disabled' },
        target: { componentId: EXTRACTOR, configurationId: 'cfg-1', mode: 'run' },
        executions: [],
      },
    ]);
    expect(await client.scheduler.get(listed[0]!.id)).toEqual(listed[0]);
    expect(await client.scheduler.get('999999999')).toBeNull();
  });

  it('activate switches a saved configuration on; activating again replaces its schedule', async () => {
    await client.configurations.create(SCHEDULER, { configurationId: 'sched-hourly', name: 'Hourly', configuration: scheduleBody('0 * * * *') });
    expect((await client.scheduler.list()).map((s) => s.configurationId)).toEqual(['sched-seeded']);

    const first = await client.scheduler.activate('sched-hourly');
    expect(first).toMatchObject({ configurationId: 'sched-hourly', configurationVersionId: '1', schedule: { cronTab: '0 * * * *', state: 'enabled' }, executions: [] });
    const token = await client.tokens.verify();
    expect(first.tokenId).toBe(String(token.id));

    await client.configurations.update(SCHEDULER, 'sched-hourly', { configuration: scheduleBody('30 * * * *') });
    const second = await client.scheduler.activate('sched-hourly', '2');
    expect(second).toMatchObject({ configurationVersionId: '2', schedule: { cronTab: '30 * * * *' } });
    expect(second.id).not.toBe(first.id);
    expect(await client.scheduler.get(first.id)).toBeNull();
    expect((await client.scheduler.list()).filter((s) => s.configurationId === 'sched-hourly')).toEqual([second]);

    const byTarget = await client.scheduler.list({ componentId: EXTRACTOR, configurationId: 'cfg-1' });
    expect(byTarget.map((s) => s.configurationId).sort()).toEqual(['sched-hourly', 'sched-seeded']);
    expect(await client.scheduler.list({ componentId: EXTRACTOR, configurationId: 'cfg-other' })).toEqual([]);
  });

  it('delete and deleteForConfiguration deactivate; the configurations stay', async () => {
    const hourly = (await client.scheduler.list()).find((s) => s.configurationId === 'sched-hourly')!;
    await client.scheduler.delete(hourly.id);
    expect(await client.scheduler.get(hourly.id)).toBeNull();
    expect((await failure(client.scheduler.delete(hourly.id))).kind).toBe('not-found');

    await client.scheduler.deleteForConfiguration('sched-seeded');
    expect(await client.scheduler.list()).toEqual([]);
    await client.scheduler.deleteForConfiguration('sched-seeded'); // nothing left: still fine
    expect(await client.configurations.get(SCHEDULER, 'sched-seeded')).not.toBeNull();
    expect(await client.configurations.get(SCHEDULER, 'sched-hourly')).not.toBeNull();
  });

  it('refusals are StackErrors of their kind, without the token', async () => {
    const unknown = await failure(client.scheduler.activate('sched-nope'));
    expect(unknown).toMatchObject({ kind: 'not-found', status: 404, code: 'scheduler.configurationNotFound' });
    expect((await failure(client.scheduler.activate('cfg-1'))).message).toContain('not of keboola.scheduler');

    await client.configurations.create(SCHEDULER, { configurationId: 'sched-broken', name: 'Broken', configuration: { schedule: { timezone: 'UTC' }, target: { componentId: EXTRACTOR } } });
    const malformed = await failure(client.scheduler.activate('sched-broken'));
    expect(malformed).toMatchObject({ kind: 'bad-request', status: 400, code: 'scheduler.invalidConfiguration' });

    const stranger = createStackClient({ url: stack.url, token: 'not-a-token', timeoutMs: 10_000 });
    const invalid = await failure(stranger.scheduler.list());
    expect(invalid).toMatchObject({ kind: 'invalid-token', status: 401 });
    expect(JSON.stringify(invalid)).not.toContain('not-a-token');
    expect(invalid.message).not.toContain('not-a-token');
  });

  it('available() is false on a stack whose API index does not list the service', async () => {
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ api: 'storage', version: 'v2', components: [], services: [{ id: 'notification', url: 'http://127.0.0.1:1/notification' }], features: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const bare = createStackClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: TOKEN, timeoutMs: 10_000 });
      expect(await bare.scheduler.available()).toBe(false);
      expect((await failure(bare.scheduler.list())).kind).toBe('not-found');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
