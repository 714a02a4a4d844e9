/**
 * Storage API triggers (`/v2/storage/triggers`, "Group Triggers" of the blueprint) and token management
 * (`/v2/storage/tokens`, "Group Tokens and Permissions") of an emulated stack, plus `registerLegacyServices`,
 * the one call with which the Stack (emulator/server.ts) registers these and the Orchestrator API.
 */
import { ApiError, badRequest, bool, notFound, str, strList } from './http';
import {
  addProjectToken,
  createTriggerRecord,
  legacyState,
  registerOrchestratorApi,
  triggerTables,
  type Reply,
  type RouteTable,
  type ServiceCtx,
  type StackHost,
  type StorageCtx,
  type TriggerRecord,
} from './orchestrator';
import type { ProjectRecord, TokenRecord } from './state';

const reply = (status: number, body?: unknown): Reply => ({ status, body });

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
function requireTriggerPermission(ctx: StorageCtx, component: string): void {
  const t = ctx.token;
  if (t.isMasterToken || t.canManageBuckets || t.componentAccess.includes(component)) return;
  throw new ApiError(403, 'accessDenied', `You do not have permission to manage triggers of component "${component}"`);
}

export function registerTriggerApi(host: StackHost, routes: RouteTable<StorageCtx>): void {
  const S = '/v2/storage/triggers';
  const mine = (p: ProjectRecord) => legacyState(host.state).triggers.filter((t) => t.projectId === p.id);
  const find = (p: ProjectRecord, id: string | undefined) => {
    const t = mine(p).find((x) => x.id === id);
    if (!t) throw notFound('storage.triggers.notFound', `Trigger ${id} not found`);
    return t;
  };
  routes.add('GET', S, (ctx) => {
    const component = ctx.url.searchParams.get('component');
    const configurationId = ctx.url.searchParams.get('configurationId');
    const items = mine(ctx.project).filter((t) => (!component || t.component === component) && (!configurationId || t.configurationId === configurationId));
    return reply(200, items.map(triggerJson));
  });
  routes.add('POST', S, async (ctx) => {
    const body = await ctx.body();
    requireTriggerPermission(ctx, str(body.component) ?? '');
    return reply(201, triggerJson(createTriggerRecord(host, ctx.project, ctx.token, body)));
  });
  routes.add('GET', `${S}/{id}`, (ctx, prm) => reply(200, triggerJson(find(ctx.project, prm.id))));
  routes.add('PUT', `${S}/{id}`, async (ctx, prm) => {
    const t = find(ctx.project, prm.id);
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
  routes.add('DELETE', `${S}/{id}`, (ctx, prm) => {
    const t = find(ctx.project, prm.id);
    requireTriggerPermission(ctx, t.component);
    const legacy = legacyState(host.state);
    legacy.triggers = legacy.triggers.filter((x) => x !== t);
    host.changed();
    return reply(204);
  });
}

/** Token list, creation, detail and deletion (verify is served by the Stack itself and registered first). */
export function registerTokenApi(host: StackHost, routes: RouteTable<StorageCtx>): void {
  const S = '/v2/storage/tokens';
  const json = (p: ProjectRecord, t: TokenRecord) => {
    const out = host.tokenJson(p, t, false);
    const expires = legacyState(host.state).tokenExpires?.[t.id];
    return expires ? { ...out, expires, isExpired: Date.parse(expires) < Date.now() } : out;
  };
  const find = (p: ProjectRecord, id: string | undefined) => {
    const t = p.tokens.find((x) => x.id === id);
    if (!t) throw notFound('storage.tokens.notFound', `Token ${id} not found`);
    return t;
  };
  routes.add('GET', S, (ctx) => {
    if (!ctx.token.canManageTokens) throw new ApiError(403, 'accessDenied', 'You do not have permission to list tokens');
    return reply(200, ctx.project.tokens.map((t) => json(ctx.project, t)));
  });
  routes.add('POST', S, async (ctx) => {
    const body = await ctx.body();
    const description = str(body.description) ?? '';
    // Without canManageTokens only a temporary token with minimal privileges can be created (blueprint).
    const full = ctx.token.canManageTokens;
    const permissions = full && body.bucketPermissions && typeof body.bucketPermissions === 'object' ? (body.bucketPermissions as Record<string, unknown>) : {};
    for (const [bucketId, permission] of Object.entries(permissions)) {
      if (!ctx.project.buckets.some((b) => b.id === bucketId)) throw badRequest(`Bucket "${bucketId}" does not exist`, 'storage.tokens.invalidBucketPermissions');
      if (!['read', 'write', 'manage'].includes(String(permission))) throw badRequest(`Invalid permission "${String(permission)}" for bucket "${bucketId}"`, 'storage.tokens.invalidBucketPermissions');
    }
    const t = addProjectToken(host, ctx.project, {
      description,
      canManageBuckets: full && bool(body.canManageBuckets),
      canReadAllFileUploads: full && bool(body.canReadAllFileUploads),
      canPurgeTrash: full && bool(body.canPurgeTrash),
      bucketPermissions: Object.fromEntries(Object.entries(permissions).map(([k, v]) => [k, String(v)])),
      componentAccess: full ? strList(body.componentAccess) : [],
    });
    if (body.expiresIn !== undefined && body.expiresIn !== null && body.expiresIn !== '') {
      const seconds = Number(body.expiresIn);
      if (!Number.isFinite(seconds) || seconds <= 0) throw badRequest('Parameter "expiresIn" must be a positive number of seconds', 'storage.tokens.validation');
      const legacy = legacyState(host.state);
      (legacy.tokenExpires ??= {})[t.id] = new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, '+0000');
    }
    return reply(201, json(ctx.project, t));
  });
  routes.add('GET', `${S}/{id}`, (ctx, prm) => reply(200, json(ctx.project, find(ctx.project, prm.id))));
  routes.add('DELETE', `${S}/{id}`, (ctx, prm) => {
    const t = find(ctx.project, prm.id);
    if (!ctx.token.canManageTokens && ctx.token !== t) throw new ApiError(403, 'accessDenied', 'You do not have permission to delete tokens');
    if (t.isMasterToken) throw badRequest('A master token cannot be deleted', 'storage.tokens.cannotDeleteMasterToken');
    if (legacyState(host.state).triggers.some((x) => x.projectId === ctx.project.id && String(x.runWithTokenId) === t.id))
      throw badRequest(`Token ${t.id} is used by a trigger and cannot be deleted`, 'storage.tokens.usedByTrigger');
    ctx.project.tokens = ctx.project.tokens.filter((x) => x !== t);
    host.changed();
    return reply(204);
  });
}

/**
 * Registers the legacy Orchestrator API (public router, own authentication), triggers and token management
 * (Storage API router). Called once by the Stack after its own routes.
 */
export function registerLegacyServices(host: StackHost, storage: RouteTable<StorageCtx>, services: RouteTable<ServiceCtx>): void {
  registerOrchestratorApi(host, services);
  registerTriggerApi(host, storage);
  registerTokenApi(host, storage);
}
