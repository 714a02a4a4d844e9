/** Buckets (list, create, detail, update, drop) and their metadata. */
import type { StackHost } from '../host';
import { MAX_NAME_LENGTH } from './tables';
import { createJob } from '../jobs';
import { bool, str, strList } from '../params';
import { ApiError, badRequest, reply } from '../replies';
import { timestamp, type BucketRecord } from '../state';
import { bucketJson, jobJson } from '../views';
import { bucket, dropBucket } from './entities';
import { registerProviderMetadata } from './metadata';

const S = '/v2/storage';

export function registerBuckets(host: StackHost): void {
  const api = host.storageApi;
  api.get(`${S}/buckets`, (ctx) => {
    const include = new Set(strList(ctx.url.searchParams.get('include')));
    return reply(200, ctx.project.buckets.map((b) => bucketJson(host, ctx.project, b, include)));
  });
  api.post(`${S}/buckets`, async (ctx) => {
    const body = await ctx.body();
    const p = ctx.project;
    if (!ctx.token.canManageBuckets) throw new ApiError(403, 'accessDenied', 'You do not have permission to create buckets');
    if (body.sourceProjectId !== undefined || body.sourceBucketId !== undefined) throw badRequest('Linking shared buckets is not supported by the emulator', 'storage.buckets.linkNotSupported');
    const rawName = str(body.name);
    if (!rawName) throw badRequest('Parameter "name" is required', 'storage.buckets.validation');
    const name = rawName.replace(/^c-/, '');
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw badRequest(`Invalid bucket name "${rawName}": only alphanumeric characters, dashes and underscores are allowed`, 'storage.buckets.validation');
    if (name.length > MAX_NAME_LENGTH) throw badRequest(`Invalid bucket name "${rawName}": at most ${MAX_NAME_LENGTH} characters are allowed`, 'storage.buckets.validation');
    const stage = str(body.stage) ?? 'in';
    if (!['in', 'out'].includes(stage)) throw badRequest(`Invalid stage "${stage}"`, 'storage.buckets.validation');
    const id = `${stage}.c-${name}`;
    if (p.buckets.some((b) => b.id === id)) throw badRequest(`The bucket "c-${name}" already exists in stage "${stage}".`, 'storage.buckets.alreadyExists');
    const backend = str(body.backend) ?? p.defaultBackend;
    if (!p.backends.includes(backend)) throw badRequest(`Backend "${backend}" is not assigned to the project`, 'storage.buckets.backendNotAllowed');
    const displayName = str(body.displayName) ?? name;
    if (p.buckets.some((b) => b.stage === stage && b.displayName === displayName)) throw badRequest(`The bucket with display name "${displayName}" already exists in stage "${stage}".`, 'storage.buckets.alreadyExists');
    const now = timestamp();
    const b: BucketRecord = { id, stage, name: `c-${name}`, displayName, description: str(body.description) ?? '', backend, color: str(body.color) ?? null, created: now, lastChangeDate: null, updated: now, metadata: [] };
    p.buckets.push(b);
    host.changed();
    return reply(201, bucketJson(host, p, b, new Set()));
  });
  api.get(`${S}/buckets/{bucketId}`, (ctx, { bucketId }) => {
    const include = new Set(strList(ctx.url.searchParams.get('include')));
    return reply(200, bucketJson(host, ctx.project, bucket(ctx.project, bucketId!), include, true));
  });
  api.put(`${S}/buckets/{bucketId}`, async (ctx, { bucketId }) => {
    const b = bucket(ctx.project, bucketId!);
    const body = await ctx.body();
    if (body.displayName !== undefined) b.displayName = String(body.displayName);
    if (body.description !== undefined) b.description = String(body.description);
    if (body.color !== undefined) b.color = body.color === null ? null : String(body.color);
    b.updated = timestamp();
    host.changed();
    return reply(200, bucketJson(host, ctx.project, b, new Set(), true));
  });
  api.delete(`${S}/buckets/{bucketId}`, (ctx, { bucketId }) => {
    const p = ctx.project;
    const b = bucket(p, bucketId!);
    const force = bool(ctx.url.searchParams.get('force'));
    if (bool(ctx.url.searchParams.get('async'))) {
      const job = createJob(host, p, ctx.token, { kind: 'bucketDelete', bucketId: b.id, force }, 'bucketDelete', { params: { idBucket: b.id, force } }, null, ctx.runId);
      return reply(202, jobJson(host, job));
    }
    dropBucket(host, p, b.id, force);
    return reply(204);
  });
  registerProviderMetadata(
    host,
    `${S}/buckets/{bucketId}/metadata`,
    (ctx, { bucketId }) => bucket(ctx.project, bucketId!).metadata,
    (ctx, { bucketId }, items) => (bucket(ctx.project, bucketId!).metadata = items),
  );
}
