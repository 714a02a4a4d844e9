/**
 * The emulated Scheduler service (emulator/services/scheduler.ts, docs/CONTRACTS.md#scheduler-service): activation of
 * `keboola.scheduler` configurations, one schedule per configuration, what the service refuses, persistence, the seed.
 */
import { startStack, type EmulatedStack } from '../../emulator/server';
import type { SeedFile } from '../../emulator/seed';
import { Api, tempDir } from './util';

const TOKEN = 'sched-101-master';
const OTHER_TOKEN = 'sched-102-master';
const SCHEDULER = 'keboola.scheduler';

const body = (cronTab: string, configurationId = 'cfg-1', extra: Record<string, unknown> = {}) => ({
  schedule: { cronTab, timezone: 'UTC', state: 'enabled' },
  target: { componentId: 'keboola.ex-db-snowflake', configurationId, mode: 'run' },
  ...extra,
});

function seedWith(project: Record<string, unknown> = {}): SeedFile {
  return {
    stack: {
      region: 'eu-central-1',
      snowflakeHost: 'keboola.eu-central-1.snowflakecomputing.com',
      outboundIpAddresses: [],
      components: [
        { id: 'keboola.ex-db-snowflake', type: 'extractor', name: 'Snowflake extractor' },
        { id: SCHEDULER, type: 'other', name: 'Scheduler' },
      ],
    },
    projects: [
      {
        id: 101,
        name: 'Scheduled',
        defaultBackend: 'snowflake',
        backends: ['snowflake'],
        tokens: [{ token: TOKEN, description: 'master', isMasterToken: true }],
        configurations: [
          { componentId: 'keboola.ex-db-snowflake', id: 'cfg-1', name: 'Extractor', configuration: { parameters: {} } },
          { componentId: SCHEDULER, id: 'sched-seeded', name: 'Nightly', configuration: body('0 3 * * *', 'cfg-1', { schedule: { cronTab: '0 3 * * *', timezone: 'Europe/Prague', state: 'disabled' } }) },
          { componentId: SCHEDULER, id: 'sched-idle', name: 'Saved, never activated', configuration: body('*/5 * * * *') },
          { componentId: SCHEDULER, id: 'sched-no-cron', name: 'No cronTab', configuration: { schedule: { timezone: 'UTC', state: 'enabled' }, target: { componentId: 'keboola.ex-db-snowflake', configurationId: 'cfg-1', mode: 'run' } } },
          { componentId: SCHEDULER, id: 'sched-no-target', name: 'No target', configuration: { schedule: { cronTab: '0 * * * *', timezone: 'UTC', state: 'enabled' }, target: { componentId: 'keboola.ex-db-snowflake', mode: 'run' } } },
          { componentId: SCHEDULER, id: 'sched-bad-state', name: 'Bad state', configuration: body('0 * * * *', 'cfg-1', { schedule: { cronTab: '0 * * * *', timezone: 'UTC', state: 'paused' } }) },
        ],
        schedules: [{ configurationId: 'sched-seeded' }],
        ...project,
      },
      { id: 102, name: 'Other', defaultBackend: 'snowflake', backends: ['snowflake'], tokens: [{ token: OTHER_TOKEN, description: 'master', isMasterToken: true }] },
    ],
  };
}

describe('Scheduler service', () => {
  let dir: string;
  let stack: EmulatedStack;
  let api: Api;
  let other: Api;
  let base: string;
  const configs = `branch/default/components/${SCHEDULER}/configs`;
  const activate = (a: Api, configurationId: unknown, extra: Record<string, unknown> = {}) => a.post(`${base}/schedules`, { configurationId, ...extra });

  beforeAll(async () => {
    dir = tempDir('emu-scheduler-');
    stack = await startStack({ dataDir: dir, seed: seedWith(), jobDelayMs: 10 });
    api = new Api(stack.url, TOKEN);
    other = new Api(stack.url, OTHER_TOKEN);
    const index = await api.get('/v2/storage');
    const listed = index.body.services.filter((s: { id: string }) => s.id === 'scheduler');
    expect(listed).toHaveLength(1);
    base = new URL(listed[0].url).pathname;
  });
  afterAll(() => stack.close());

  test('a seeded schedule is active; a saved configuration is not, until it is activated', async () => {
    const listed = await api.get(`${base}/schedules`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      {
        id: expect.stringMatching(/^\d+$/),
        tokenId: expect.any(String),
        configurationId: 'sched-seeded',
        configurationVersionId: '1',
        schedule: { cronTab: '0 3 * * *', timezone: 'Europe/Prague', state: 'disabled' },
        target: { componentId: 'keboola.ex-db-snowflake', configurationId: 'cfg-1', mode: 'run' },
        executions: [],
      },
    ]);
    // saving a keboola.scheduler configuration activates nothing
    const saved = await api.post(configs, { configurationId: 'sched-new', name: 'Hourly', configuration: body('0 * * * *', 'cfg-1', { target: { componentId: 'keboola.ex-db-snowflake', configurationId: 'cfg-1', mode: 'run', tag: '1.2.3' } }) });
    expect(saved.status).toBe(201);
    expect((await api.get(`${base}/schedules`)).body.map((s: { configurationId: string }) => s.configurationId)).toEqual(['sched-seeded']);
    expect((await other.get(`${base}/schedules`)).body).toEqual([]);
  });

  test('activate, get, list by target, delete', async () => {
    const token = (await api.get('tokens/verify')).body;
    const a = await activate(api, 'sched-new');
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      id: expect.stringMatching(/^\d+$/),
      tokenId: String(token.id),
      configurationId: 'sched-new',
      configurationVersionId: '1',
      schedule: { cronTab: '0 * * * *', timezone: 'UTC', state: 'enabled' },
      target: { componentId: 'keboola.ex-db-snowflake', configurationId: 'cfg-1', mode: 'run', tag: '1.2.3' },
      executions: [],
    });
    expect(await api.get(`${base}/schedules/${a.body.id}`)).toMatchObject({ status: 200, body: a.body });
    const byTarget = await api.get(`${base}/schedules?componentId=keboola.ex-db-snowflake&configurationId=cfg-1`);
    expect(byTarget.body.map((s: { configurationId: string }) => s.configurationId).sort()).toEqual(['sched-new', 'sched-seeded']);
    expect((await api.get(`${base}/schedules?componentId=keboola.ex-db-snowflake&configurationId=cfg-2`)).body).toEqual([]);
    // the filter is both fields or none
    expect(await api.get(`${base}/schedules?componentId=keboola.ex-db-snowflake`)).toMatchObject({ status: 400, body: { code: 'scheduler.validation', status: 'error' } });
    expect((await api.get(`${base}/schedules?configurationId=cfg-1`)).status).toBe(400);

    const gone = await api.del(`${base}/schedules/${a.body.id}`);
    expect(gone.status).toBe(204);
    expect(gone.body).toBeNull();
    expect(await api.get(`${base}/schedules/${a.body.id}`)).toMatchObject({ status: 404, body: { code: 'scheduler.notFound' } });
    expect((await api.del(`${base}/schedules/${a.body.id}`)).status).toBe(404);
    // the configuration itself stays in Storage
    expect((await api.get(`${configs}/sched-new`)).status).toBe(200);
  });

  test('one schedule per configuration: activating again replaces it, with the version read now', async () => {
    const first = await activate(api, 'sched-idle');
    expect(first.body).toMatchObject({ configurationVersionId: '1', schedule: { cronTab: '*/5 * * * *' } });
    expect((await api.put(`${configs}/sched-idle`, { configuration: body('15 2 * * 1-5', 'cfg-1') })).status).toBe(200);
    // the schedule keeps the version it read until the configuration is activated again
    expect((await api.get(`${base}/schedules/${first.body.id}`)).body.schedule.cronTab).toBe('*/5 * * * *');
    const second = await activate(api, 'sched-idle', { configurationVersionId: '2' });
    expect(second).toMatchObject({ status: 200, body: { configurationVersionId: '2', schedule: { cronTab: '15 2 * * 1-5' } } });
    expect(second.body.id).not.toBe(first.body.id);
    expect((await api.get(`${base}/schedules/${first.body.id}`)).status).toBe(404);
    const mine = (await api.get(`${base}/schedules`)).body.filter((s: { configurationId: string }) => s.configurationId === 'sched-idle');
    expect(mine).toEqual([second.body]);
    // a version that does not exist; an older one (the emulator keeps the current version only)
    expect(await activate(api, 'sched-idle', { configurationVersionId: '9' })).toMatchObject({ status: 404, body: { code: 'scheduler.configurationVersionNotFound' } });
    expect(await activate(api, 'sched-idle', { configurationVersionId: 1 })).toMatchObject({ status: 400, body: { code: 'scheduler.versionUnavailable' } });
    expect((await api.get(`${base}/schedules`)).body.filter((s: { configurationId: string }) => s.configurationId === 'sched-idle')).toEqual([second.body]);
  });

  test('DELETE /configurations/{configurationId} deactivates the configuration\'s schedules only', async () => {
    await activate(api, 'sched-idle');
    const before = (await api.get(`${base}/schedules`)).body.map((s: { configurationId: string }) => s.configurationId).sort();
    expect(before).toEqual(['sched-idle', 'sched-seeded']);
    expect((await api.del(`${base}/configurations/sched-idle`)).status).toBe(204);
    expect((await api.get(`${base}/schedules`)).body.map((s: { configurationId: string }) => s.configurationId)).toEqual(['sched-seeded']);
    expect((await api.del(`${base}/configurations/sched-idle`)).status).toBe(204); // nothing left to deactivate
    expect((await api.get(`${configs}/sched-idle`)).status).toBe(200);
  });

  test('refused: an unknown configuration, another component\'s, a malformed schedule, a broken request', async () => {
    const unknown = await activate(api, 'sched-nope');
    expect(unknown).toMatchObject({ status: 404, body: { code: 'scheduler.configurationNotFound', status: 'error', error: expect.stringContaining('"sched-nope"') } });
    const foreignComponent = await activate(api, 'cfg-1');
    expect(foreignComponent).toMatchObject({ status: 404, body: { code: 'scheduler.configurationNotFound', error: expect.stringContaining('a configuration of keboola.ex-db-snowflake') } });
    expect(await activate(api, 'sched-no-cron')).toMatchObject({ status: 400, body: { code: 'scheduler.invalidConfiguration', error: expect.stringContaining('schedule.cronTab') } });
    expect(await activate(api, 'sched-no-target')).toMatchObject({ status: 400, body: { code: 'scheduler.invalidConfiguration', error: expect.stringContaining('target.configurationId') } });
    expect(await activate(api, 'sched-bad-state')).toMatchObject({ status: 400, body: { error: expect.stringContaining('schedule.state') } });
    await api.post(configs, { configurationId: 'sched-bad-cron', name: 'Bad cron', configuration: body('every hour') });
    expect(await activate(api, 'sched-bad-cron')).toMatchObject({ status: 400, body: { code: 'scheduler.invalidConfiguration' } });
    await api.post(configs, { configurationId: 'sched-bad-tz', name: 'Bad zone', configuration: body('0 * * * *', 'cfg-1', { schedule: { cronTab: '0 * * * *', timezone: 'Mars/Olympus', state: 'enabled' } }) });
    expect(await activate(api, 'sched-bad-tz')).toMatchObject({ status: 400, body: { error: expect.stringContaining('timezone') } });
    // a configuration in the trash is not there
    await api.post(configs, { configurationId: 'sched-trashed', name: 'Trashed', configuration: body('0 * * * *') });
    await api.del(`${configs}/sched-trashed`);
    expect((await activate(api, 'sched-trashed')).status).toBe(404);
    // the request itself
    expect(await api.post(`${base}/schedules`, {})).toMatchObject({ status: 400, body: { code: 'scheduler.validation' } });
    expect(await api.post(`${base}/schedules`, [])).toMatchObject({ status: 400, body: { code: 'scheduler.validation' } });
    const asText = await api.req('POST', `${base}/schedules`, undefined, { headers: { 'Content-Type': 'text/plain' } });
    expect(asText).toMatchObject({ status: 400, body: { code: 'scheduler.invalidContentType' } });
    // nothing refused was activated
    expect((await api.get(`${base}/schedules`)).body.map((s: { configurationId: string }) => s.configurationId)).toEqual(['sched-seeded']);
  });

  test('refused: no token, an unknown token; another project\'s token sees none of the project\'s schedules', async () => {
    const seeded = (await api.get(`${base}/schedules`)).body[0];
    for (const anonymous of [new Api(stack.url, null), new Api(stack.url, 'not-a-token')]) {
      const code = anonymous.token ? 'scheduler.tokenInvalid' : 'scheduler.tokenMissing';
      expect(await anonymous.get(`${base}/schedules`)).toMatchObject({ status: 401, body: { code } });
      expect((await anonymous.post(`${base}/schedules`, { configurationId: 'sched-idle' })).status).toBe(401);
      expect((await anonymous.get(`${base}/schedules/${seeded.id}`)).status).toBe(401);
      expect((await anonymous.del(`${base}/schedules/${seeded.id}`)).status).toBe(401);
      expect((await anonymous.del(`${base}/configurations/sched-seeded`)).status).toBe(401);
    }
    expect((await other.get(`${base}/schedules/${seeded.id}`)).status).toBe(404);
    expect((await other.del(`${base}/schedules/${seeded.id}`)).status).toBe(404);
    expect((await activate(other, 'sched-seeded')).status).toBe(404);
    expect((await other.del(`${base}/configurations/sched-seeded`)).status).toBe(204);
    expect((await api.get(`${base}/schedules/${seeded.id}`)).body).toEqual(seeded);
  });

  test('schedules survive a restart; IDs keep growing', async () => {
    const activated = await activate(api, 'sched-new');
    const before = (await api.get(`${base}/schedules`)).body;
    await stack.close();
    stack = await startStack({ dataDir: dir, seed: seedWith(), jobDelayMs: 10 });
    api = new Api(stack.url, TOKEN);
    other = new Api(stack.url, OTHER_TOKEN);
    base = new URL((await api.get('/v2/storage')).body.services.find((s: { id: string }) => s.id === 'scheduler').url).pathname;
    expect((await api.get(`${base}/schedules`)).body).toEqual(before);
    const next = await activate(api, 'sched-idle');
    expect(Number(next.body.id)).toBeGreaterThan(Number(activated.body.id));
  });
});

describe('the seed\'s schedules', () => {
  const refused = (schedules: unknown[], configurations?: unknown[]) => startStack({ dataDir: tempDir('emu-scheduler-seed-'), seed: seedWith({ schedules, ...(configurations ? { configurations } : {}) }) });

  test('name keboola.scheduler configurations of the project, whose bodies are schedules', async () => {
    await expect(refused([{ configurationId: 'cfg-1' }])).rejects.toThrow(/schedules\[0\] of project 101: .*"cfg-1" is a configuration of keboola\.ex-db-snowflake, not of keboola\.scheduler/);
    await expect(refused([{ configurationId: 'sched-seeded' }, { configurationId: 'sched-missing' }])).rejects.toThrow(/schedules\[1\] of project 101: configuration "sched-missing" of component keboola\.scheduler not found/);
    await expect(refused([{ configurationId: 'sched-no-cron' }])).rejects.toThrow(/schedules\[0\] .*"schedule\.cronTab" is required/);
    await expect(refused([{ configurationId: 'sched-seeded', configurationVersionId: '3' }])).rejects.toThrow(/version "3"/);
  });

  test('one schedule per configuration there too; a project added later through the admin API', async () => {
    const stack = await startStack({ dataDir: tempDir('emu-scheduler-seed-'), seed: seedWith({ schedules: [{ configurationId: 'sched-seeded' }, { configurationId: 'sched-idle' }, { configurationId: 'sched-seeded' }] }) });
    try {
      const api = new Api(stack.url, TOKEN);
      const listed = (await api.get('/_services/scheduler/schedules')).body;
      expect(listed.map((s: { configurationId: string }) => s.configurationId)).toEqual(['sched-idle', 'sched-seeded']);
      const project = seedWith().projects[0] as Record<string, unknown>;
      const added = await new Api(stack.url, null).post('/_emulator/projects', { ...project, id: 103, tokens: [{ token: 'sched-103', description: 'm', isMasterToken: true }], schedules: [{ configurationId: 'cfg-1' }] });
      expect(added).toMatchObject({ status: 400, body: { error: expect.stringContaining('not of keboola.scheduler') } });
      const ok = await new Api(stack.url, null).post('/_emulator/projects', { ...project, id: 104, tokens: [{ token: 'sched-104', description: 'm', isMasterToken: true }] });
      expect(ok.status).toBeLessThan(300);
      const theirs = (await new Api(stack.url, 'sched-104').get('/_services/scheduler/schedules')).body;
      expect(theirs.map((s: { configurationId: string }) => s.configurationId)).toEqual(['sched-seeded']);
      expect(theirs[0].id).not.toBe(listed.find((s: { configurationId: string }) => s.configurationId === 'sched-seeded').id);
    } finally {
      await stack.close();
    }
  });
});
