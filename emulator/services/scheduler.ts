/**
 * Keboola's Scheduler service (`scheduler` in the API index; docs/CONTRACTS.md#scheduler-service): the project's
 * active schedules. A schedule is a configuration of the `keboola.scheduler` component,
 * `{schedule: {cronTab, timezone, state}, target: {componentId, configurationId, mode, tag?}}`; saving it in Storage
 * activates nothing, activating it here does (and replaces the configuration's earlier schedule: one per configuration).
 * - `GET /schedules` (`componentId` and `configurationId` of the target, both or neither) → the schedules;
 * - `POST /schedules` `{configurationId, configurationVersionId?}` → 200, the activated schedule;
 * - `GET|DELETE /schedules/{id}` (`POST /schedules/{id}/refreshToken` is not emulated: the emulator keeps no token of its own);
 * - `DELETE /configurations/{configurationId}` → 204, the configuration's schedules gone (the configuration kept).
 * The Storage API token of the project authenticates (`X-StorageApi-Token`); bodies are JSON only. The emulator runs
 * no schedule: `executions` stays empty.
 */
import type { z } from 'zod';
import { jsonBody } from '../body';
import type { RequestContext, StackHost } from '../host';
import { str } from '../params';
import { ApiError, badRequest, notFound, reply } from '../replies';
import type { scheduleSeedSchema } from '../seed';
import { timestamp, type ConfigurationRecord, type ProjectRecord, type ScheduleRecord, type TokenRecord } from '../state';

export const SCHEDULER_COMPONENT = 'keboola.scheduler';
const BASE = '/_services/scheduler';
const STATES = ['enabled', 'disabled'] as const;

type ScheduleSeed = z.infer<typeof scheduleSeedSchema>;

/** The project's active schedules (read only: a project that never had one has no scheduler part). */
const schedulesOf = (p: ProjectRecord): ScheduleRecord[] => p.scheduler?.schedules ?? [];

/** The project's part of the service, created on first write; IDs are numeric strings, distinct between the projects of a stack. */
function schedulerOf(p: ProjectRecord): NonNullable<ProjectRecord['scheduler']> {
  return (p.scheduler ??= { nextId: p.id * 100000 + 1, schedules: [] });
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
/** A non-empty string, or a number given as one (IDs). */
const idOf = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

/** Five cron fields of digits, names and `* / , - ? L W #`. */
const CRON_FIELD = /^[0-9A-Za-z*/,?#-]+$/;

function validTimezone(tz: string): boolean {
  if (/^[+-]\d{2}:?\d{2}$/.test(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Reads the scheduler configuration's body as the service does; `where` names the configuration in errors. */
function parseBody(body: Record<string, unknown>, where: string): Pick<ScheduleRecord, 'schedule' | 'target'> {
  const refuse = (message: string) => badRequest(`${where}: ${message}`, 'scheduler.invalidConfiguration');
  const schedule = body.schedule;
  if (!isObject(schedule)) throw refuse('"schedule" must be an object {cronTab, timezone, state}');
  const cronTab = str(schedule.cronTab)?.trim();
  if (typeof schedule.cronTab !== 'string' || !cronTab) throw refuse('"schedule.cronTab" is required');
  const fields = cronTab.split(/\s+/);
  if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) throw refuse(`"schedule.cronTab" "${cronTab}" is not a cron expression of five fields`);
  const timezone = schedule.timezone === undefined ? 'UTC' : schedule.timezone;
  if (typeof timezone !== 'string' || !validTimezone(timezone)) throw refuse(`"schedule.timezone" must be a time zone name (UTC, Europe/Prague) or an offset (+0100)`);
  const state = schedule.state === undefined ? 'enabled' : schedule.state;
  if (!(STATES as readonly unknown[]).includes(state)) throw refuse(`"schedule.state" must be one of ${STATES.join(', ')}`);
  const target = body.target;
  if (!isObject(target)) throw refuse('"target" must be an object {componentId, configurationId, mode}');
  const componentId = idOf(target.componentId);
  const configurationId = idOf(target.configurationId);
  if (!componentId || !configurationId) throw refuse('"target.componentId" and "target.configurationId" are required');
  const mode = target.mode === undefined ? 'run' : target.mode;
  if (typeof mode !== 'string' || !mode) throw refuse('"target.mode" must be a string ("run")');
  if (target.tag !== undefined && target.tag !== null && typeof target.tag !== 'string') throw refuse('"target.tag" must be a string');
  const rowIds = target.configurationRowIds;
  if (rowIds !== undefined && (!Array.isArray(rowIds) || !rowIds.every((r) => idOf(r) !== undefined))) throw refuse('"target.configurationRowIds" must be a list of row IDs');
  return {
    schedule: { cronTab, timezone, state: state as ScheduleRecord['schedule']['state'] },
    target: {
      componentId,
      configurationId,
      mode,
      ...(typeof target.tag === 'string' ? { tag: target.tag } : {}),
      ...(rowIds !== undefined ? { configurationRowIds: (rowIds as unknown[]).map((r) => idOf(r)!) } : {}),
    },
  };
}

/** The `keboola.scheduler` configuration an activation names, at the version it names (the current one by default). */
function schedulerConfiguration(p: ProjectRecord, configurationId: string, versionId: string | undefined, where: string): ConfigurationRecord {
  const live = p.configurations.filter((c) => c.id === configurationId && !c.isDeleted);
  const found = live.find((c) => c.componentId === SCHEDULER_COMPONENT);
  if (!found) {
    const other = live[0];
    const why = other ? `: "${configurationId}" is a configuration of ${other.componentId}, not of ${SCHEDULER_COMPONENT}` : '';
    throw notFound('scheduler.configurationNotFound', `${where}: configuration "${configurationId}" of component ${SCHEDULER_COMPONENT} not found${why}`);
  }
  if (versionId !== undefined && versionId !== String(found.version)) {
    const v = Number(versionId);
    if (Number.isInteger(v) && v >= 1 && v < found.version) {
      throw badRequest(`${where}: version ${versionId} of configuration "${configurationId}" is not the current one (${found.version}); the emulator activates the current version only`, 'scheduler.versionUnavailable');
    }
    throw notFound('scheduler.configurationVersionNotFound', `${where}: version "${versionId}" of configuration "${configurationId}" of component ${SCHEDULER_COMPONENT} not found`);
  }
  return found;
}

/** Activates a scheduler configuration as `token`, replacing the configuration's earlier schedule. */
export function activateSchedule(p: ProjectRecord, token: TokenRecord, configurationId: string, versionId?: string, where = 'Activation'): ScheduleRecord {
  const config = schedulerConfiguration(p, configurationId, versionId, where);
  const parsed = parseBody(config.configuration, `${where}: configuration "${configurationId}" of ${SCHEDULER_COMPONENT}`);
  const state = schedulerOf(p);
  const schedule: ScheduleRecord = {
    id: String(state.nextId++),
    tokenId: token.id,
    configurationId: config.id,
    configurationVersionId: String(config.version),
    ...parsed,
    created: timestamp(),
  };
  state.schedules = [...state.schedules.filter((s) => s.configurationId !== config.id), schedule];
  return schedule;
}

/** Activates the seed's schedules (with the project's first token); what the service refuses makes the seed invalid (400). */
export function seedSchedules(p: ProjectRecord, seeds: ScheduleSeed[]): void {
  for (const [i, seed] of seeds.entries()) {
    try {
      activateSchedule(p, p.tokens[0]!, seed.configurationId, seed.configurationVersionId, `schedules[${i}] of project ${p.id}`);
    } catch (e) {
      throw e instanceof ApiError ? badRequest(e.message, 'emulator.invalidProject') : e;
    }
  }
}

function scheduleJson(s: ScheduleRecord): Record<string, unknown> {
  return { id: s.id, tokenId: s.tokenId, configurationId: s.configurationId, configurationVersionId: s.configurationVersionId, schedule: s.schedule, target: s.target, executions: [] };
}

export function registerScheduler(host: StackHost): void {
  host.serviceIds.push('scheduler');
  const api = host.publicApi;
  const auth = (ctx: RequestContext): { project: ProjectRecord; token: TokenRecord } => {
    const value = str(ctx.req.headers['x-storageapi-token']);
    if (!value) throw new ApiError(401, 'scheduler.tokenMissing', 'Missing X-StorageApi-Token header');
    const owner = host.tokenOwner(value);
    if (!owner) throw new ApiError(401, 'scheduler.tokenInvalid', 'Invalid access token');
    return owner;
  };
  const find = (p: ProjectRecord, id: string | undefined): ScheduleRecord => {
    const found = schedulesOf(p).find((s) => s.id === id);
    if (!found) throw notFound('scheduler.notFound', `Schedule "${id}" not found`);
    return found;
  };

  api.get(`${BASE}/schedules`, (ctx) => {
    const { project } = auth(ctx);
    const componentId = ctx.url.searchParams.get('componentId') || undefined;
    const configurationId = ctx.url.searchParams.get('configurationId') || undefined;
    if ((componentId === undefined) !== (configurationId === undefined)) {
      throw badRequest('"componentId" and "configurationId" filter together: give both or neither', 'scheduler.validation');
    }
    const all = schedulesOf(project);
    const listed = componentId === undefined ? all : all.filter((s) => s.target.componentId === componentId && s.target.configurationId === configurationId);
    return reply(200, listed.map(scheduleJson));
  });
  api.post(`${BASE}/schedules`, async (ctx) => {
    const { project, token } = auth(ctx);
    if (!/^application\/json\b/i.test(str(ctx.req.headers['content-type']) ?? '')) {
      throw badRequest('The request body must be JSON, sent as Content-Type: application/json', 'scheduler.invalidContentType');
    }
    const body = await jsonBody(ctx.req, ctx.res, 'scheduler.invalidJson');
    if (!isObject(body)) throw badRequest('Request body must be a JSON object {configurationId, configurationVersionId?}', 'scheduler.validation');
    const configurationId = idOf(body.configurationId);
    if (!configurationId) throw badRequest('"configurationId" is required', 'scheduler.validation');
    const versionId = body.configurationVersionId === undefined || body.configurationVersionId === null ? undefined : idOf(body.configurationVersionId);
    if (body.configurationVersionId !== undefined && body.configurationVersionId !== null && versionId === undefined) {
      throw badRequest('"configurationVersionId" must be a version number', 'scheduler.validation');
    }
    const schedule = activateSchedule(project, token, configurationId, versionId);
    host.changed();
    return reply(200, scheduleJson(schedule));
  });
  api.get(`${BASE}/schedules/{scheduleId}`, (ctx, { scheduleId }) => reply(200, scheduleJson(find(auth(ctx).project, scheduleId))));
  api.delete(`${BASE}/schedules/{scheduleId}`, (ctx, { scheduleId }) => {
    const { project } = auth(ctx);
    const s = find(project, scheduleId);
    const state = schedulerOf(project);
    state.schedules = state.schedules.filter((x) => x !== s);
    host.changed();
    return reply(204);
  });
  api.delete(`${BASE}/configurations/{configurationId}`, (ctx, { configurationId }) => {
    const { project } = auth(ctx);
    const kept = schedulesOf(project).filter((s) => s.configurationId !== configurationId);
    if (kept.length !== schedulesOf(project).length) {
      schedulerOf(project).schedules = kept;
      host.changed();
    }
    return reply(204);
  });
}
