/**
 * The emulator's answers that `npm run conformance` compares with a blueprint's examples: the endpoints our tests
 * cover. The Storage API cases are the very ones of test/emulator/conformance.test.ts; the rest repeats the shape
 * checks of test/writers/emulator.test.ts (workspaces), test/orchestrations/emulator.test.ts (Orchestrator API,
 * triggers, tokens) and the error shape, as one request each.
 *
 * The emulated stacks are started through `startStack` of emulator/server.ts only.
 */
import { startStack, type EmulatedStack } from '../../emulator/server';
import { MAPS, OPAQUE, STORAGE_CASES } from '../../test/emulator/conformance-cases';
import { Api, DEST_SEED, DEST_TOKEN, SOURCE_SEED, SOURCE_TOKEN, tempDir } from '../../test/emulator/util';
import type { ApiName, Blueprint } from './blueprint';
import type { ShapeOptions } from './shape';

/** An Api that remembers its last request, so that a check can say which endpoint it called. */
export class RecordingApi extends Api {
  last = '';

  override req<T = any>(method: string, path: string, body?: unknown, opts?: { form?: boolean; headers?: Record<string, string> }) {
    this.last = `${method} ${path.startsWith('/') ? path : `/v2/storage/${path}`}`;
    return super.req<T>(method, path, body, opts);
  }
}

export interface Stacks {
  /** the source stack (emulator/seeds/source-us.json) as its master token */
  source: RecordingApi;
  /** the destination stack (emulator/seeds/destination-eu.json) as its master token */
  destination: RecordingApi;
  /** a copy of the source stack that keeps its files on the `gcp` provider (the seeds' stacks are on `aws`) */
  sourceOnGcp: RecordingApi;
  /** the source stack's Orchestrator API base path, as advertised in its API index */
  orchestrator: string;
  /** state passed between the checks of one run (ids of what an earlier check created) */
  state: Record<string, any>;
}

export interface EmulatorCheck {
  name: string;
  /** where the expected example comes from: a reference fixture (re-read from the blueprint through its source) ... */
  fixture?: string;
  /** ... or an action of the blueprint ("Section > Action" allowed), optionally one of its responses */
  action?: string;
  response?: { status?: number; index?: number };
  /** the status the emulator must answer when it is not the example's (an error shape compared with another code) */
  status?: number;
  call: (s: Stacks) => Promise<{ status: number; body: unknown }>;
  /** picks the part of the example to compare with */
  pickExample?: (example: any) => unknown;
  shape?: ShapeOptions;
}

const storageShape = (ignore?: string[]): ShapeOptions => ({ ignore, opaque: OPAQUE, maps: MAPS });

/** Fields only of file (ABS) or BigQuery workspaces; the emulated ones are Snowflake table workspaces. */
const FILE_OR_BIGQUERY_ONLY = ['connection.container', 'connection.connectionString', 'connection.credentials'];

const STORAGE_CHECKS: EmulatorCheck[] = [
  ...STORAGE_CASES.map((c): EmulatorCheck => ({ name: c.name, fixture: c.fixture, call: (s) => c.call(c.fileProvider === 'gcp' ? s.sourceOnGcp : s.source), pickExample: c.pickExample, shape: storageShape(c.ignore) })),
  { name: 'error shape (invalid token)', fixture: 'error-not-found', status: 401, call: async (s) => {
      const bad = new RecordingApi(s.source.url, 'nope');
      const res = await bad.get('tokens/verify');
      s.source.last = bad.last;
      return res;
    } },
  { name: 'token create', fixture: 'token-create', shape: { maps: ['bucketPermissions'] }, call: (s) =>
      s.source.post('tokens', { description: 'my-new-token', bucketPermissions: { 'in.c-crm': 'read' }, componentAccess: ['keboola.ex-db-mysql'], expiresIn: 60 }) },
  { name: 'trigger create', fixture: 'trigger-create', call: async (s) => {
      const token = await s.source.post('tokens', { description: 'trigger runner', canManageBuckets: true });
      if (token.status !== 201) throw new Error(`token for the trigger: HTTP ${token.status}`);
      const res = await s.source.post('triggers', { runWithTokenId: Number(token.body.id), component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 20, tableIds: ['in.c-crm.customers', 'in.c-crm.orders'] });
      s.state.triggerId = res.body?.id;
      return res;
    } },
  { name: 'trigger list', fixture: 'trigger-list', call: (s) => s.source.get('triggers?component=orchestration&configurationId=123450001') },
  { name: 'trigger detail', fixture: 'trigger-detail', call: (s) => s.source.get(`triggers/${s.state.triggerId}`) },
  { name: 'trigger update', fixture: 'trigger-update', call: (s) => s.source.put(`/v2/storage/triggers/${s.state.triggerId}`, { coolDownPeriodMinutes: 45, tableIds: ['in.c-crm.orders'] }) },
  { name: 'workspace create', fixture: 'workspace-created', status: 201, shape: { ignore: FILE_OR_BIGQUERY_ONLY }, call: async (s) => {
      const res = await s.destination.post('workspaces', { backend: 'snowflake' });
      s.state.workspaceId = res.body?.id;
      return res;
    } },
  { name: 'workspace list', fixture: 'workspace', status: 200, shape: { ignore: FILE_OR_BIGQUERY_ONLY }, call: async (s) => {
      const res = await s.destination.get('workspaces');
      return { status: res.status, body: Array.isArray(res.body) ? res.body[0] : res.body };
    } },
  { name: 'workspace detail', fixture: 'workspace', status: 200, shape: { ignore: FILE_OR_BIGQUERY_ONLY }, call: (s) => s.destination.get(`workspaces/${s.state.workspaceId}`) },
  { name: 'workspace password reset', fixture: 'workspace-password-reset', call: (s) => s.destination.post(`workspaces/${s.state.workspaceId}/password`) },
];

const ORCHESTRATOR_SHAPE: ShapeOptions = { opaque: ['tasks[].actionParameters', '[].actionParameters', 'notifications[].parameters', '[].parameters'] };
const orchestratorShape = (ignore?: string[]): ShapeOptions => ({ ...ORCHESTRATOR_SHAPE, ignore });

/** The seeded orchestration with tasks and notifications (emulator/seeds/source-us.json). */
const SEEDED = 123450003;

const ORCHESTRATOR_CHECKS: EmulatorCheck[] = [
  // without a schedule crontabRecord and nextScheduledTime are null (the blueprint's crontabRecord is optional)
  { name: 'orchestration list', action: 'Retrive all Orchestrations [GET]', shape: orchestratorShape(['[].crontabRecord', '[].nextScheduledTime']), call: (s) => s.source.get(`${s.orchestrator}/orchestrations`) },
  { name: 'orchestration list (scheduled ones)', action: 'Retrive all Orchestrations [GET]', shape: ORCHESTRATOR_SHAPE, call: async (s) => {
      const res = await s.source.get(`${s.orchestrator}/orchestrations`);
      return { status: res.status, body: Array.isArray(res.body) ? res.body.filter((o: { crontabRecord: string | null }) => o.crontabRecord !== null) : res.body };
    } },
  { name: 'orchestration create (the request example)', action: 'Create a Orchestration [POST]', shape: ORCHESTRATOR_SHAPE, call: async (s) => {
      const request = { ...(s.state.createRequest as Record<string, unknown>) };
      delete request.tokenId; // the example's token does not exist here: a new token is created instead
      const res = await s.source.post(`${s.orchestrator}/orchestrations`, request);
      s.state.orchestrationId = res.body?.id;
      return res;
    } },
  { name: 'orchestration detail', action: 'Retrieve a Orchestration [GET]', shape: ORCHESTRATOR_SHAPE, call: (s) => s.source.get(`${s.orchestrator}/orchestrations/${s.state.orchestrationId}`) },
  // a disabled orchestration is never scheduled: nextScheduledTime is null
  { name: 'orchestration update', action: 'Update a Orchestration [PUT]', shape: orchestratorShape(['nextScheduledTime']), call: (s) => s.source.put(`${s.orchestrator}/orchestrations/${s.state.orchestrationId}`, { active: false }) },
  { name: 'orchestration tasks', action: 'Retrieve all Orchestration tasks [GET]', shape: ORCHESTRATOR_SHAPE, call: (s) => s.source.get(`${s.orchestrator}/orchestrations/${SEEDED}/tasks`) },
  { name: 'orchestration tasks update', action: 'Update orchestration tasks [PUT]', shape: ORCHESTRATOR_SHAPE, call: (s) =>
      s.source.put(`${s.orchestrator}/orchestrations/${s.state.orchestrationId}/tasks`, s.state.tasksModel) },
  { name: 'orchestration notifications', action: 'Retrieve all Orchestration notifications [GET]', shape: ORCHESTRATOR_SHAPE, call: (s) => s.source.get(`${s.orchestrator}/orchestrations/${SEEDED}/notifications`) },
  { name: 'orchestration notifications update', action: 'Update orchestration notifications [PUT]', shape: ORCHESTRATOR_SHAPE, call: (s) =>
      s.source.put(`${s.orchestrator}/orchestrations/${s.state.orchestrationId}/notifications`, s.state.notificationsModel) },
  { name: 'orchestration delete', action: 'Delete a Orchestration [DELETE]', call: (s) => s.source.del(`${s.orchestrator}/orchestrations/${s.state.orchestrationId}`) },
];

export const EMULATOR_CHECKS: Record<ApiName, EmulatorCheck[]> = { storage: STORAGE_CHECKS, orchestrator: ORCHESTRATOR_CHECKS };

/** What the checks send that comes from the blueprint itself (request examples, models used as request bodies). */
export function initialState(api: ApiName, blueprint: Blueprint): Record<string, any> {
  if (api !== 'orchestrator') return {};
  return {
    createRequest: blueprint.request('Create a Orchestration').body,
    tasksModel: blueprint.model('Orchestration Tasks').body,
    notificationsModel: blueprint.model('Orchestration Notifications').body,
  };
}

/** Starts a source and a destination stack in temp folders; `close` stops both. */
export async function startStacks(): Promise<Stacks & { close: () => Promise<void> }> {
  const started: EmulatedStack[] = [];
  try {
    started.push(await startStack({ dataDir: tempDir('conformance-'), seed: SOURCE_SEED, jobDelayMs: 20 }));
    started.push(await startStack({ dataDir: tempDir('conformance-'), seed: DEST_SEED, jobDelayMs: 20 }));
    started.push(await startStack({ dataDir: tempDir('conformance-'), seed: SOURCE_SEED, jobDelayMs: 20, fileProvider: 'gcp' }));
  } catch (e) {
    await Promise.all(started.map((s) => s.close()));
    throw e;
  }
  const [src, dst, gcp] = started as [EmulatedStack, EmulatedStack, EmulatedStack];
  const source = new RecordingApi(src.url, SOURCE_TOKEN);
  const index = await source.get('/v2/storage');
  const advertised = (index.body?.services ?? []).find((s: { id: string }) => s.id === 'orchestrator')?.url as string | undefined;
  return {
    source,
    destination: new RecordingApi(dst.url, DEST_TOKEN),
    sourceOnGcp: new RecordingApi(gcp.url, SOURCE_TOKEN),
    orchestrator: advertised ? new URL(advertised).pathname : '/_services/orchestrator',
    state: {},
    close: async () => {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}
