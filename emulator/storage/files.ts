/**
 * Storage API files: records of what is (to be) uploaded to the object store (emulator/object-store.ts), under
 * keys `exp-15/{projectId}/files/{date}/{id}.{name}`; a sliced file is a manifest listing its slices.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { StackHost } from '../host';
import { gcsBucket, objectPath } from '../object-store';
import { bool, str, strList } from '../params';
import { badRequest, notFound, reply } from '../replies';
import { timestamp, type FileRecord, type ProjectRecord, type TokenRecord } from '../state';
import { jobError } from '../tabledata';
import { fileJson } from '../views';
import { creatorOf } from './entities';

const S = '/v2/storage';

export function fileRecord(host: StackHost, p: ProjectRecord, id: number): FileRecord {
  const f = host.state.files.find((x) => x.id === id && x.projectId === p.id);
  if (!f) throw notFound('storage.files.notFound', `File ${id} not found`);
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

/** The uploaded object(s) of a file: the file itself, or the slices its manifest lists (all of the same project). */
export async function filePaths(host: StackHost, f: FileRecord): Promise<string[]> {
  if (!f.isSliced) {
    const path = objectPath(host, gcsBucket(host), f.key);
    if (!existsSync(path)) throw jobError('storage.files.notUploaded', `File ${f.id} was not uploaded`);
    return [path];
  }
  const manifestPath = objectPath(host, gcsBucket(host), `${f.key}manifest`);
  if (!existsSync(manifestPath)) throw jobError('storage.files.manifestMissing', `Manifest of sliced file ${f.id} was not uploaded`);
  let manifest: { entries?: { url?: string }[] };
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as typeof manifest;
  } catch {
    throw jobError('storage.files.invalidManifest', `Manifest of file ${f.id} is not valid JSON`);
  }
  const paths: string[] = [];
  for (const e of manifest.entries ?? []) {
    const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(e.url ?? '');
    if (!m) throw jobError('storage.files.invalidManifest', `Invalid manifest entry ${e.url}`);
    if (!m[2]!.startsWith(`exp-15/${f.projectId}/`)) throw jobError('storage.files.invalidManifest', `Manifest entry ${e.url} is outside of the project`);
    const path = objectPath(host, m[1]!, m[2]!);
    if (!existsSync(path)) throw jobError('storage.files.sliceMissing', `Slice ${e.url} was not uploaded`);
    paths.push(path);
  }
  return paths;
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
    return reply(201, fileJson(host, f, { upload: true }));
  });
  api.get(`${S}/files`, (ctx) => {
    const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
    const tags = strList(ctx.url.searchParams.getAll('tags[]').concat(ctx.url.searchParams.getAll('tags')));
    const files = host.state.files.filter((f) => f.projectId === ctx.project.id && tags.every((t) => f.tags.includes(t))).reverse();
    return reply(200, files.slice(0, limit).map((f) => fileJson(host, f)));
  });
  api.get(`${S}/files/{fileId}`, async (ctx, { fileId }) => {
    const f = fileRecord(host, ctx.project, Number(fileId));
    if (f.sizeBytes === null && !f.isSliced) {
      const path = objectPath(host, gcsBucket(host), f.key);
      if (existsSync(path)) f.sizeBytes = (await stat(path)).size;
    }
    return reply(200, fileJson(host, f, { federation: bool(ctx.url.searchParams.get('federationToken')) }));
  });
  api.put(`${S}/files/{fileId}/refresh`, (ctx, { fileId }) => reply(200, fileJson(host, fileRecord(host, ctx.project, Number(fileId)), { upload: true })));
  api.delete(`${S}/files/{fileId}`, (ctx, { fileId }) => {
    const f = fileRecord(host, ctx.project, Number(fileId));
    host.state.files = host.state.files.filter((x) => x !== f);
    host.changed();
    return reply(204);
  });
}
