/**
 * Storage API tokens (blueprint "Group Tokens and Permissions"): verify, list, create, detail, delete. Orchestrations
 * and triggers get tokens of their own through `addProjectToken`.
 */
import { randomBytes } from 'node:crypto';
import type { StackHost } from '../host';
import { bool, str, strList } from '../params';
import { ApiError, badRequest, notFound, reply } from '../replies';
import { legacyState, timestamp, type ProjectRecord, type TokenRecord } from '../state';
import { tokenJson } from '../views';
import { checkBranch } from './entities';

const S = '/v2/storage';

/** A new (non-master) Storage API token of the project. */
export function addProjectToken(
  host: StackHost,
  p: ProjectRecord,
  v: { description: string; canManageBuckets?: boolean; canReadAllFileUploads?: boolean; canPurgeTrash?: boolean; bucketPermissions?: Record<string, string>; componentAccess?: string[] },
): TokenRecord {
  const id = String(host.state.nextId.token++);
  const t: TokenRecord = {
    id,
    token: `${p.id}-${id}-${randomBytes(20).toString('hex')}`,
    description: v.description,
    created: timestamp(),
    isMasterToken: false,
    canManageBuckets: v.canManageBuckets ?? false,
    canManageTokens: false,
    canReadAllFileUploads: v.canReadAllFileUploads ?? false,
    canPurgeTrash: v.canPurgeTrash ?? false,
    bucketPermissions: v.bucketPermissions ?? {},
    componentAccess: v.componentAccess ?? [],
  };
  p.tokens.push(t);
  host.changed();
  return t;
}

export function registerTokens(host: StackHost): void {
  const api = host.storageApi;
  // verify first: `tokens/{id}` would take `tokens/verify` too
  api.get(`${S}/tokens/verify`, (ctx) => reply(200, tokenJson(host, ctx.project, ctx.token, true)));
  api.get(`${S}/branch/{branchId}/tokens/verify`, (ctx, { branchId }) => {
    checkBranch(ctx.project, branchId);
    return reply(200, tokenJson(host, ctx.project, ctx.token, true));
  });

  const json = (p: ProjectRecord, t: TokenRecord) => {
    const out = tokenJson(host, p, t, false);
    const expires = legacyState(host.state).tokenExpires?.[t.id];
    return expires ? { ...out, expires, isExpired: Date.parse(expires) < Date.now() } : out;
  };
  const find = (p: ProjectRecord, id: string | undefined) => {
    const t = p.tokens.find((x) => x.id === id);
    if (!t) throw notFound('storage.tokens.notFound', `Token ${id} not found`);
    return t;
  };
  api.get(`${S}/tokens`, (ctx) => {
    if (!ctx.token.canManageTokens) throw new ApiError(403, 'accessDenied', 'You do not have permission to list tokens');
    return reply(200, ctx.project.tokens.map((t) => json(ctx.project, t)));
  });
  api.post(`${S}/tokens`, async (ctx) => {
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
      (legacyState(host.state).tokenExpires ??= {})[t.id] = timestamp(new Date(Date.now() + seconds * 1000));
    }
    return reply(201, json(ctx.project, t));
  });
  api.get(`${S}/tokens/{id}`, (ctx, { id }) => reply(200, json(ctx.project, find(ctx.project, id))));
  api.delete(`${S}/tokens/{id}`, (ctx, { id }) => {
    const t = find(ctx.project, id);
    if (!ctx.token.canManageTokens && ctx.token !== t) throw new ApiError(403, 'accessDenied', 'You do not have permission to delete tokens');
    if (t.isMasterToken) throw badRequest('A master token cannot be deleted', 'storage.tokens.cannotDeleteMasterToken');
    if (legacyState(host.state).triggers.some((x) => x.projectId === ctx.project.id && String(x.runWithTokenId) === t.id))
      throw badRequest(`Token ${t.id} is used by a trigger and cannot be deleted`, 'storage.tokens.usedByTrigger');
    ctx.project.tokens = ctx.project.tokens.filter((x) => x !== t);
    host.changed();
    return reply(204);
  });
}
