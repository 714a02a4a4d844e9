/**
 * Storage API files: records of what is (to be) uploaded to the stack's file storage (emulator/file-storage), under
 * keys `exp-15/{projectId}/files/{date}/{id}.{name}`; a sliced file is a manifest listing its slices.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackHost } from '../host';
import { bool, str, strList } from '../params';
import { badRequest, notFound, reply } from '../replies';
import { timestamp, type FileRecord, type ProjectRecord, type TokenRecord } from '../state';
import { jobError } from '../tabledata';
import { fileJson } from '../views';
import { creatorOf } from './entities';
import { findById } from '../lookup';

const S = '/v2/storage';

export function fileRecord(host: StackHost, p: ProjectRecord, id: number): FileRecord {
  const f = findById(host.state.files, id);
  if (!f || f.projectId !== p.id) throw notFound('storage.files.notFound', `File ${id} not found`);
  return f;
}

export function newFile(
  host: StackHost,
  p: ProjectRecord,
  token: TokenRecord,
  v: { name: string; isSliced: boolean; isPermanent: boolean; sizeBytes: number | null; tags: string[]; runId: string | null },
): FileRecord {
  const id = host.state.nextId.file++;
  const d = new Date();
  const safe = v.name.replace(/[^A-Za-z0-9._-]/g, '_') || 'file';
  const key = `exp-15/${p.id}/files/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${id}.${safe}`;
  const f: FileRecord = { id, projectId: p.id, name: v.name, key, created: timestamp(), isSliced: v.isSliced, isPermanent: v.isPermanent, sizeBytes: v.sizeBytes, tags: v.tags, creatorToken: creatorOf(token), runId: v.runId };
  host.state.files.push(f);
  host.changed();
  return f;
}

/**
 * Local files with the uploaded object(s) of a file: the file itself, or the slices its manifest lists (all of the
 * same project), fetched from the file storage into the folder `staging` when the store is not local.
 */
async function stageFile(host: StackHost, f: FileRecord, staging: string): Promise<string[]> {
  const storage = host.fileStorage;
  if (!f.isSliced) {
    const path = await storage.fetch(f.key, staging);
    if (!path) throw jobError('storage.files.notUploaded', `File ${f.id} was not uploaded`);
    return [path];
  }
  const manifestPath = await storage.fetch(`${f.key}manifest`, staging);
  if (!manifestPath) throw jobError('storage.files.manifestMissing', `Manifest of sliced file ${f.id} was not uploaded`);
  let manifest: { entries?: { url?: string }[] };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as typeof manifest;
  } catch {
    throw jobError('storage.files.invalidManifest', `Manifest of file ${f.id} is not valid JSON`);
  }
  const paths: string[] = [];
  for (const e of manifest.entries ?? []) {
    const key = storage.keyOfEntry(e.url ?? '');
    if (key === undefined) throw jobError('storage.files.invalidManifest', `Invalid manifest entry ${e.url}: not an object of this stack's file storage (${storage.entryUrl('...')})`);
    if (!key.startsWith(`exp-15/${f.projectId}/`)) throw jobError('storage.files.invalidManifest', `Manifest entry ${e.url} is outside of the project`);
    const path = await storage.fetch(key, staging);
    if (!path) throw jobError('storage.files.sliceMissing', `Slice ${e.url} was not uploaded`);
    paths.push(path);
  }
  return paths;
}

/** Runs `use` with a fresh local folder under the data directory, removed afterwards: where objects are staged. */
export async function withStaging<T>(host: StackHost, use: (staging: string) => Promise<T>): Promise<T> {
  const root = join(host.dataDir, 'staging');
  await mkdir(root, { recursive: true });
  const staging = await mkdtemp(join(root, 'job-'));
  try {
    return await use(staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Runs `use` with local copies of the objects of file `f` (its slices, in manifest order). */
export function withFileContents<T>(host: StackHost, f: FileRecord, use: (paths: string[]) => Promise<T>): Promise<T> {
  return withStaging(host, async (staging) => use(await stageFile(host, f, staging)));
}

export function registerFiles(host: StackHost): void {
  const api = host.storageApi;
  api.post(`${S}/files/prepare`, async (ctx) => {
    const body = await ctx.body();
    const name = str(body.name);
    if (!name) throw badRequest('Parameter "name" is required', 'storage.files.validation');
    const f = newFile(host, ctx.project, ctx.token, {
      name,
      isSliced: bool(body.isSliced),
      isPermanent: bool(body.isPermanent),
      sizeBytes: body.sizeBytes === undefined ? null : Number(body.sizeBytes),
      tags: strList(body.tags),
      runId: ctx.runId,
    });
    return reply(201, await fileJson(host, f, 'upload'));
  });
  api.get(`${S}/files`, async (ctx) => {
    const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
    const offset = Number(ctx.url.searchParams.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest('Parameter "limit" must be between 1 and 100', 'storage.files.validation');
    const tags = strList(ctx.url.searchParams.getAll('tags[]').concat(ctx.url.searchParams.getAll('tags')));
    const files = host.state.files.filter((f) => f.projectId === ctx.project.id && tags.every((t) => f.tags.includes(t))).reverse();
    return reply(200, await Promise.all(files.slice(offset, offset + limit).map((f) => fileJson(host, f))));
  });
  api.get(`${S}/files/{fileId}`, async (ctx, { fileId }) => {
    const f = fileRecord(host, ctx.project, Number(fileId));
    if (f.sizeBytes === null && !f.isSliced) f.sizeBytes = (await host.fileStorage.size(f.key)) ?? null;
    return reply(200, await fileJson(host, f, bool(ctx.url.searchParams.get('federationToken')) ? 'download' : 'list'));
  });
  api.put(`${S}/files/{fileId}/refresh`, async (ctx, { fileId }) => reply(200, await fileJson(host, fileRecord(host, ctx.project, Number(fileId)), 'upload')));
  api.delete(`${S}/files/{fileId}`, async (ctx, { fileId }) => {
    const f = fileRecord(host, ctx.project, Number(fileId));
    await host.fileStorage.forget(f);
    host.state.files = host.state.files.filter((x) => x !== f);
    host.changed();
    return reply(204);
  });
}
