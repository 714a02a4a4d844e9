/**
 * The legacy Orchestrator API of an emulated stack (Keboola's Orchestrator API blueprint): orchestrations CRUD,
 * their tasks and notifications. Served under the URL the API index advertises for the `orchestrator` service
 * (`{stackUrl}/_services/orchestrator`), authenticated with `X-StorageApi-Token` like the real one.
 *
 * Like Keboola's, an orchestration gets a new numeric ID from the stack, a new Storage API token when none is
 * given, and a Storage configuration of the component `orchestrator` with the same ID (which is how project
 * backups list them in configurations.json).
 *
 * State lives in the stack's state.json under `legacyServices` (see `legacyState`), so it persists like the rest.
 */
import { jsonBody } from '../body';
import type { RequestContext, StackHost } from '../host';
import { bool, str } from '../params';
import { ApiError, badRequest, notFound, reply } from '../replies';
import type { OrchestrationSeed } from '../seed';
import {
  legacyState,
  timestamp,
  type OrchestrationNotificationRecord,
  type OrchestrationRecord,
  type OrchestrationTaskRecord,
  type ProjectRecord,
  type TokenRecord,
} from '../state';
import { bumpConfig, newConfig } from '../storage/entities';
import { findConfig } from '../lookup';
import { addProjectToken } from '../storage/tokens';

const SERVICE_PATH = '/_services/orchestrator';
const LEGACY_COMPONENT = 'orchestrator';

// ------------------------------------------------------------------------------------------------ validation

const CRON_FIELD = /^[\d*,/-]+$|^[A-Za-z]{3}(-[A-Za-z]{3})?$/;

function crontab(v: unknown): string | null {
  if (v === null || v === '') return null;
  const s = str(v);
  if (s === undefined) return null;
  const fields = s.trim().split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) throw badRequest(`Invalid crontabRecord "${s}": expected five crontab fields, e.g. "0 * * * *"`, 'orchestrator.validation');
  return fields.join(' ');
}

function jsonObject(v: unknown, name: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw badRequest(`Invalid JSON in "${name}"`, 'orchestrator.validation');
    }
  }
  if (Array.isArray(v) && v.length === 0) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`"${name}" must be an object`, 'orchestrator.validation');
  return v as Record<string, unknown>;
}

function list(v: unknown, name: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object') return Object.values(v as object);
  throw badRequest(`"${name}" must be an array`, 'orchestrator.validation');
}

function parseTask(host: StackHost, raw: unknown, i: number): OrchestrationTaskRecord {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`tasks[${i}] must be an object`, 'orchestrator.validation');
  const t = raw as Record<string, unknown>;
  const component = str(t.component) || null;
  const componentUrl = str(t.componentUrl) || null;
  if (!component && !componentUrl) throw badRequest(`tasks[${i}]: one of "component" and "componentUrl" must be set`, 'orchestrator.validation');
  if (componentUrl && !componentUrl.startsWith('https://')) throw badRequest(`tasks[${i}]: only the https protocol is allowed in "componentUrl"`, 'orchestrator.validation');
  let timeoutMinutes: number | null = null;
  if (t.timeoutMinutes !== undefined && t.timeoutMinutes !== null && t.timeoutMinutes !== '') {
    timeoutMinutes = Number(t.timeoutMinutes);
    if (!Number.isInteger(timeoutMinutes) || timeoutMinutes <= 0) throw badRequest(`tasks[${i}]: "timeoutMinutes" must be a positive integer`, 'orchestrator.validation');
  }
  return {
    id: legacyState(host.state).nextId.task++,
    component,
    componentUrl,
    action: str(t.action) || 'run',
    actionParameters: jsonObject(t.actionParameters, `tasks[${i}].actionParameters`),
    continueOnFailure: bool(t.continueOnFailure),
    active: bool(t.active, true),
    timeoutMinutes,
    phase: t.phase === undefined || t.phase === null || t.phase === '' ? null : String(t.phase),
  };
}

function parseNotification(raw: unknown, i: number): OrchestrationNotificationRecord {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`notifications[${i}] must be an object`, 'orchestrator.validation');
  const n = raw as Record<string, unknown>;
  const email = str(n.email);
  if (!email || !email.includes('@')) throw badRequest(`notifications[${i}]: "email" must be an email address`, 'orchestrator.validation');
  const channel = str(n.channel);
  if (channel !== 'error' && channel !== 'waiting' && channel !== 'processing') throw badRequest(`notifications[${i}]: "channel" must be one of error, waiting, processing`, 'orchestrator.validation');
  return { email, channel, parameters: jsonObject(n.parameters, `notifications[${i}].parameters`) };
}

const parseTasks = (host: StackHost, v: unknown) => list(v, 'tasks').map((t, i) => parseTask(host, t, i));
const parseNotifications = (v: unknown) => list(v, 'notifications').map((n, i) => parseNotification(n, i));

// ------------------------------------------------------------------------------------------------ presenters

/** The next run of a schedule is only an estimate here (the next full minute); nothing is ever run. */
function nextScheduled(o: OrchestrationRecord): string | null {
  if (!o.active || !o.crontabRecord) return null;
  const next = new Date(Math.floor(Date.now() / 60000) * 60000 + 60000);
  return timestamp(next);
}

function taskJson(t: OrchestrationTaskRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { id: t.id };
  if (t.component !== null) out.component = t.component;
  if (t.componentUrl !== null) out.componentUrl = t.componentUrl;
  return {
    ...out,
    action: t.action,
    actionParameters: t.actionParameters,
    continueOnFailure: t.continueOnFailure,
    timeoutMinutes: t.timeoutMinutes,
    active: t.active,
    phase: t.phase,
  };
}

function notificationJson(n: OrchestrationNotificationRecord): Record<string, unknown> {
  return { email: n.email, channel: n.channel, parameters: n.parameters };
}

function orchestrationJson(host: StackHost, p: ProjectRecord, o: OrchestrationRecord, detail: boolean): Record<string, unknown> {
  const token = p.tokens.find((t) => t.id === o.tokenId);
  const out: Record<string, unknown> = {
    id: o.id,
    name: o.name,
    crontabRecord: o.crontabRecord,
    crontabTimezone: o.crontabTimezone,
    createdTime: o.createdTime,
    lastScheduledTime: null,
    nextScheduledTime: nextScheduled(o),
    active: o.active,
    token: { id: Number(o.tokenId), description: token?.description ?? '' },
    uri: `${host.url}${SERVICE_PATH}/orchestrations/${o.id}`,
  };
  if (detail) {
    out.notifications = o.notifications.map(notificationJson);
    out.tasks = o.tasks.map(taskJson);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ model

/** The Storage configuration `orchestrator/<id>` that mirrors an orchestration (name and enabled state). */
function syncMirror(host: StackHost, p: ProjectRecord, o: OrchestrationRecord, token: TokenRecord, deleted = false): void {
  const existing = findConfig(p, LEGACY_COMPONENT, String(o.id));
  if (deleted) {
    if (existing && !existing.isDeleted) {
      existing.isDeleted = true;
      bumpConfig(existing, token, 'Orchestration deleted');
    }
    return;
  }
  if (!existing) {
    p.configurations.push(
      newConfig(token, LEGACY_COMPONENT, String(o.id), { name: o.name, description: '', configuration: {}, state: {}, isDisabled: !o.active, changeDescription: 'Orchestration created' }),
    );
    return;
  }
  if (existing.name !== o.name || existing.isDisabled !== !o.active || existing.isDeleted) {
    existing.name = o.name;
    existing.isDisabled = !o.active;
    existing.isDeleted = false;
    bumpConfig(existing, token, 'Orchestration updated');
  }
}

function requireTokenOf(p: ProjectRecord, v: unknown): TokenRecord {
  const t = p.tokens.find((x) => x.id === String(v));
  if (!t) throw badRequest(`Token ${String(v)} does not exist in the project`, 'orchestrator.invalidToken');
  return t;
}

function createOrchestration(host: StackHost, p: ProjectRecord, creator: TokenRecord, body: Record<string, unknown>, fixedId?: number): OrchestrationRecord {
  const name = str(body.name)?.trim();
  if (!name) throw badRequest('Parameter "name" is required', 'orchestrator.validation');
  const legacy = legacyState(host.state);
  const runToken =
    body.tokenId !== undefined && body.tokenId !== null && body.tokenId !== ''
      ? requireTokenOf(p, body.tokenId)
      : addProjectToken(host, p, { description: `Orchestrator ${name}`, canManageBuckets: true, canReadAllFileUploads: true });
  const o: OrchestrationRecord = {
    id: fixedId ?? legacy.nextId.orchestration++,
    projectId: p.id,
    name,
    crontabRecord: crontab(body.crontabRecord),
    crontabTimezone: str(body.crontabTimezone) || 'UTC',
    active: bool(body.active, true),
    createdTime: timestamp(),
    tokenId: runToken.id,
    notifications: parseNotifications(body.notifications),
    tasks: parseTasks(host, body.tasks),
  };
  if (legacy.orchestrations.some((x) => x.id === o.id)) throw badRequest(`Orchestration ${o.id} already exists`, 'orchestrator.alreadyExists');
  legacy.orchestrations.push(o);
  if (legacy.nextId.orchestration <= o.id) legacy.nextId.orchestration = o.id + 1;
  syncMirror(host, p, o, creator);
  host.changed();
  return o;
}

/** The orchestrations of a new project's seed, with the IDs the seed gives them. */
export function seedOrchestrations(host: StackHost, p: ProjectRecord, seeds: OrchestrationSeed[]): void {
  const creator = p.tokens[0]!;
  for (const o of seeds) createOrchestration(host, p, creator, { ...o }, o.id);
}

// ------------------------------------------------------------------------------------------------ routes

/** The Orchestrator API authenticates itself (the public route group checks no token). */
export function registerOrchestrator(host: StackHost): void {
  const api = host.publicApi;
  const base = `${SERVICE_PATH}/orchestrations`;
  const auth = (ctx: RequestContext): { project: ProjectRecord; token: TokenRecord } => {
    const value = str(ctx.req.headers['x-storageapi-token']);
    if (!value) throw new ApiError(401, 'orchestrator.tokenMissing', 'Missing X-StorageApi-Token header');
    const owner = host.tokenOwner(value);
    if (!owner) throw new ApiError(401, 'orchestrator.tokenInvalid', 'Invalid access token');
    return owner;
  };
  const find = (p: ProjectRecord, id: string | undefined): OrchestrationRecord => {
    const o = legacyState(host.state).orchestrations.find((x) => x.projectId === p.id && String(x.id) === id);
    if (!o) throw notFound('orchestrator.notFound', `Orchestration ${id} not found`);
    return o;
  };
  /** The Orchestrator API takes JSON; tasks and notifications are replaced by a JSON array body. */
  const json = (ctx: RequestContext) => jsonBody(ctx.req, ctx.res, 'orchestrator.invalidJson');
  const object = async (ctx: RequestContext): Promise<Record<string, unknown>> => {
    const body = await json(ctx);
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Request body must be a JSON object', 'orchestrator.invalidJson');
    return body as Record<string, unknown>;
  };
  const array = async (ctx: RequestContext, name: string): Promise<unknown[]> => {
    const body = await json(ctx);
    if (Array.isArray(body)) return body;
    if (body && typeof body === 'object' && Array.isArray((body as Record<string, unknown>)[name])) return (body as Record<string, unknown[]>)[name]!;
    throw badRequest(`Request body must be a JSON array of ${name}`, 'orchestrator.invalidJson');
  };

  api.get(base, (ctx) => {
    const { project } = auth(ctx);
    const items = legacyState(host.state).orchestrations.filter((o) => o.projectId === project.id);
    return reply(200, items.map((o) => orchestrationJson(host, project, o, false)));
  });
  api.post(base, async (ctx) => {
    const { project, token } = auth(ctx);
    const o = createOrchestration(host, project, token, await object(ctx));
    return reply(201, orchestrationJson(host, project, o, true));
  });
  const ONE = `${base}/{id}`;
  api.get(ONE, (ctx, prm) => {
    const { project } = auth(ctx);
    return reply(200, orchestrationJson(host, project, find(project, prm.id), true));
  });
  api.put(ONE, async (ctx, prm) => {
    const { project, token } = auth(ctx);
    const o = find(project, prm.id);
    const body = await object(ctx);
    // validate everything before changing anything
    const next = { ...o };
    if (body.name !== undefined) {
      const name = str(body.name)?.trim();
      if (!name) throw badRequest('Parameter "name" must not be empty', 'orchestrator.validation');
      next.name = name;
    }
    if (body.active !== undefined) next.active = bool(body.active);
    if (body.crontabRecord !== undefined) next.crontabRecord = crontab(body.crontabRecord);
    if (body.crontabTimezone !== undefined) next.crontabTimezone = str(body.crontabTimezone) || 'UTC';
    if (body.tokenId !== undefined) next.tokenId = requireTokenOf(project, body.tokenId).id;
    if (body.notifications !== undefined) next.notifications = parseNotifications(body.notifications);
    if (body.tasks !== undefined) next.tasks = parseTasks(host, body.tasks);
    Object.assign(o, next);
    syncMirror(host, project, o, token);
    host.changed();
    return reply(200, orchestrationJson(host, project, o, true));
  });
  api.delete(ONE, (ctx, prm) => {
    const { project, token } = auth(ctx);
    const o = find(project, prm.id);
    const legacy = legacyState(host.state);
    legacy.orchestrations = legacy.orchestrations.filter((x) => x !== o);
    syncMirror(host, project, o, token, true);
    host.changed();
    return reply(204);
  });

  api.get(`${ONE}/tasks`, (ctx, prm) => {
    const { project } = auth(ctx);
    return reply(200, find(project, prm.id).tasks.map(taskJson));
  });
  api.put(`${ONE}/tasks`, async (ctx, prm) => {
    const { project } = auth(ctx);
    const o = find(project, prm.id);
    o.tasks = parseTasks(host, await array(ctx, 'tasks'));
    host.changed();
    return reply(202, o.tasks.map(taskJson));
  });
  // The blueprint spells the resource `nofitications`; the service answers under both spellings.
  for (const resource of ['notifications', 'nofitications']) {
    api.get(`${ONE}/${resource}`, (ctx, prm) => {
      const { project } = auth(ctx);
      return reply(200, find(project, prm.id).notifications.map(notificationJson));
    });
    api.put(`${ONE}/${resource}`, async (ctx, prm) => {
      const { project } = auth(ctx);
      const o = find(project, prm.id);
      o.notifications = parseNotifications(await array(ctx, 'notifications'));
      host.changed();
      return reply(202, o.notifications.map(notificationJson));
    });
  }
  api.post(`${ONE}/trigger`, (ctx, prm) => {
    const { project } = auth(ctx);
    const o = find(project, prm.id);
    if (!o.active) throw new ApiError(409, 'orchestrator.orchestrationDisabled', `Orchestration ${o.id} is disabled`);
    throw new ApiError(501, 'orchestrator.notImplemented', 'The emulator does not run orchestration jobs');
  });
}
