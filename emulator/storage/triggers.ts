/**
 * Storage API triggers (blueprint "Group Triggers"): run a configuration when tables change, with a token of their
 * own. State: `legacyServices.triggers` of the stack state.
 */
import type { StackHost, StorageContext } from '../host';
import { str } from '../params';
import { ApiError, badRequest, notFound, reply } from '../replies';
import type { TriggerSeed } from '../seed';
import { legacyState, timestamp, type ProjectRecord, type TokenRecord, type TriggerRecord } from '../state';
import { creatorOf } from './entities';
import { addProjectToken } from './tokens';

const S = '/v2/storage/triggers';

function triggerJson(t: TriggerRecord): Record<string, unknown> {
  return {
    id: t.id,
    runWithTokenId: t.runWithTokenId,
    component: t.component,
    configurationId: t.configurationId,
    lastRun: t.lastRun,
    coolDownPeriodMinutes: t.coolDownPeriodMinutes,
    creatorToken: t.creatorToken,
    tables: t.tableIds.map((tableId) => ({ tableId })),
  };
}

/** Master tokens, tokens that can manage buckets, or tokens with access to the triggered component (blueprint). */
function requireTriggerPermission(ctx: StorageContext, component: string): void {
  const t = ctx.token;
  if (t.isMasterToken || t.canManageBuckets || t.componentAccess.includes(component)) return;
  throw new ApiError(403, 'accessDenied', `You do not have permission to manage triggers of component "${component}"`);
}

/** The tables a trigger watches: existing tables of the project, at least one (the blueprint also spells it `tabledIds`). */
function triggerTables(p: ProjectRecord, v: unknown): string[] {
  if (v !== undefined && v !== null && typeof v !== 'object') throw badRequest('"tableIds" must be an array', 'orchestrator.validation');
  const ids = (v === undefined || v === null ? [] : Array.isArray(v) ? v : Object.values(v as object)).map((x) => String(x)).filter((x) => x !== '');
  if (!ids.length) throw badRequest('Parameter "tableIds" must name at least one table', 'storage.triggers.validation');
  for (const id of ids) if (!p.tables.some((t) => t.id === id)) throw badRequest(`Table "${id}" does not exist in the project`, 'storage.triggers.tableNotFound');
  return [...new Set(ids)];
}

function createTrigger(host: StackHost, p: ProjectRecord, creator: TokenRecord, body: Record<string, unknown>): TriggerRecord {
  const runWith = body.runWithTokenId;
  if (runWith === undefined || runWith === null || runWith === '') throw badRequest('Parameter "runWithTokenId" is required', 'storage.triggers.validation');
  const token = p.tokens.find((t) => t.id === String(runWith));
  if (!token) throw badRequest(`Token with id "${String(runWith)}" was not found in the project`, 'storage.triggers.invalidToken');
  const component = str(body.component);
  if (!component) throw badRequest('Parameter "component" is required', 'storage.triggers.validation');
  const configurationId = str(body.configurationId);
  if (!configurationId) throw badRequest('Parameter "configurationId" is required', 'storage.triggers.validation');
  const coolDown = Number(body.coolDownPeriodMinutes);
  if (!Number.isInteger(coolDown) || coolDown < 1) throw badRequest('Parameter "coolDownPeriodMinutes" must be an integer of at least 1', 'storage.triggers.validation');
  const tableIds = triggerTables(p, body.tableIds ?? body.tabledIds);
  const legacy = legacyState(host.state);
  const trigger: TriggerRecord = {
    id: String(legacy.nextId.trigger++),
    projectId: p.id,
    runWithTokenId: Number(token.id),
    component,
    configurationId,
    lastRun: timestamp(),
    coolDownPeriodMinutes: coolDown,
    creatorToken: creatorOf(creator),
    tableIds,
  };
  legacy.triggers.push(trigger);
  host.changed();
  return trigger;
}

/** The triggers of a new project's seed; one without `runWithToken` runs with a new token of its own. */
export function seedTriggers(host: StackHost, p: ProjectRecord, seeds: TriggerSeed[]): void {
  const creator = p.tokens[0]!;
  for (const t of seeds) {
    const runWith =
      t.runWithToken !== undefined
        ? p.tokens.find((x) => x.token === t.runWithToken)
        : addProjectToken(host, p, { description: `[_internal] Token for triggering ${t.configurationId}`, canManageBuckets: true, canReadAllFileUploads: true });
    if (!runWith) throw badRequest(`seed trigger for ${t.configurationId}: runWithToken is not a token of project ${p.id}`);
    createTrigger(host, p, creator, { runWithTokenId: runWith.id, component: t.component, configurationId: t.configurationId, coolDownPeriodMinutes: t.coolDownPeriodMinutes, tableIds: t.tableIds });
  }
}

export function registerTriggers(host: StackHost): void {
  const api = host.storageApi;
  const mine = (p: ProjectRecord) => legacyState(host.state).triggers.filter((t) => t.projectId === p.id);
  const find = (p: ProjectRecord, id: string | undefined) => {
    const t = mine(p).find((x) => x.id === id);
    if (!t) throw notFound('storage.triggers.notFound', `Trigger ${id} not found`);
    return t;
  };
  api.get(S, (ctx) => {
    const component = ctx.url.searchParams.get('component');
    const configurationId = ctx.url.searchParams.get('configurationId');
    const items = mine(ctx.project).filter((t) => (!component || t.component === component) && (!configurationId || t.configurationId === configurationId));
    return reply(200, items.map(triggerJson));
  });
  api.post(S, async (ctx) => {
    const body = await ctx.body();
    requireTriggerPermission(ctx, str(body.component) ?? '');
    return reply(201, triggerJson(createTrigger(host, ctx.project, ctx.token, body)));
  });
  api.get(`${S}/{id}`, (ctx, { id }) => reply(200, triggerJson(find(ctx.project, id))));
  api.put(`${S}/{id}`, async (ctx, { id }) => {
    const t = find(ctx.project, id);
    const body = await ctx.body();
    requireTriggerPermission(ctx, t.component);
    if (body.component !== undefined) requireTriggerPermission(ctx, String(body.component));
    const next = { ...t };
    if (body.runWithTokenId !== undefined) {
      const token = ctx.project.tokens.find((x) => x.id === String(body.runWithTokenId));
      if (!token) throw badRequest(`Token with id "${String(body.runWithTokenId)}" was not found in the project`, 'storage.triggers.invalidToken');
      next.runWithTokenId = Number(token.id);
    }
    if (body.component !== undefined) next.component = String(body.component);
    if (body.configurationId !== undefined) next.configurationId = String(body.configurationId);
    if (body.coolDownPeriodMinutes !== undefined) {
      const coolDown = Number(body.coolDownPeriodMinutes);
      if (!Number.isInteger(coolDown) || coolDown < 1) throw badRequest('Parameter "coolDownPeriodMinutes" must be an integer of at least 1', 'storage.triggers.validation');
      next.coolDownPeriodMinutes = coolDown;
    }
    if (body.tableIds !== undefined || body.tabledIds !== undefined) next.tableIds = triggerTables(ctx.project, body.tableIds ?? body.tabledIds);
    Object.assign(t, next);
    host.changed();
    return reply(200, triggerJson(t));
  });
  api.delete(`${S}/{id}`, (ctx, { id }) => {
    const t = find(ctx.project, id);
    requireTriggerPermission(ctx, t.component);
    const legacy = legacyState(host.state);
    legacy.triggers = legacy.triggers.filter((x) => x !== t);
    host.changed();
    return reply(204);
  });
}
