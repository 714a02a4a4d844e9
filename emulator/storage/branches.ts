/** Development branches (only the default one exists) and the branch's metadata. */
import type { StackHost } from '../host';
import { notFound, reply } from '../replies';
import type { ProjectRecord } from '../state';
import { metaJson } from '../views';
import { checkBranch } from './entities';
import { upsertMetadata } from './metadata';

const S = '/v2/storage';

const branchJson = (p: ProjectRecord) => ({ id: p.defaultBranchId, name: 'Main', description: '', created: p.branchCreated, isDefault: true, creatorToken: [] });

export function registerBranches(host: StackHost): void {
  const api = host.storageApi;
  api.get(`${S}/dev-branches`, (ctx) => reply(200, [branchJson(ctx.project)]));
  api.get(`${S}/dev-branches/{branchId}`, (ctx, { branchId }) => {
    checkBranch(ctx.project, branchId);
    return reply(200, branchJson(ctx.project));
  });
  api.get(`${S}/branch/{branchId}/metadata`, (ctx, { branchId }) => {
    checkBranch(ctx.project, branchId);
    return reply(200, ctx.project.branchMetadata.map((m) => metaJson(m, false)));
  });
  api.post(`${S}/branch/{branchId}/metadata`, async (ctx, { branchId }) => {
    checkBranch(ctx.project, branchId);
    const body = await ctx.body();
    upsertMetadata(host, ctx.project.branchMetadata, body.metadata, undefined);
    return reply(201, ctx.project.branchMetadata.map((m) => metaJson(m, false)));
  });
  api.delete(`${S}/branch/{branchId}/metadata/{metadataId}`, (ctx, { branchId, metadataId }) => {
    checkBranch(ctx.project, branchId);
    const before = ctx.project.branchMetadata.length;
    ctx.project.branchMetadata = ctx.project.branchMetadata.filter((m) => m.id !== metadataId);
    if (before === ctx.project.branchMetadata.length) throw notFound('storage.metadata.notFound', `Metadata ${metadataId} not found`);
    host.changed();
    return reply(204);
  });
}
