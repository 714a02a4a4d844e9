/**
 * The stack's file store, shaped like Google Cloud Storage (docs/CONTRACTS.md): objects under
 * `{stackUrl}/_gcs/{bucket}/{key}`, uploaded with a project's Bearer access token, downloaded with it or with a
 * signed URL. Objects live under `{dataDir}/objects/{bucket}/{key}`; uploads and downloads stream.
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { StackHost } from './host';
import { str } from './params';
import { ApiError, badRequest, notFound, sendJson } from './replies';
import { timestamp } from './state';

export const GCS_PROJECT = 'kbc-emulator';

/** The one bucket of the stack's files. */
export function gcsBucket(host: StackHost): string {
  return `kbc-emulator-${host.stack.region}-files`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
}

export function objectPath(host: StackHost, bucket: string, key: string): string {
  const parts = key.split('/');
  if (!bucket || bucket.includes('..') || bucket.includes('/') || parts.some((s) => s === '..' || s === '.' || s === ''))
    throw badRequest(`Invalid object key "${key}"`);
  return join(host.dataDir, 'objects', bucket, ...parts);
}

/** The access token that reads and writes the objects of a project (keys `exp-15/{projectId}/...`). */
export function accessToken(host: StackHost, projectId: number): string {
  return `ya29.emulator.${projectId}.${host.hmac(`project:${projectId}`).slice(0, 40)}`;
}

export function signedUrl(host: StackHost, bucket: string, key: string): string {
  const date = timestamp().replace(/[-:]/g, '').replace('+0000', 'Z');
  const sig = host.hmac(`${bucket}/${key}@${date}`);
  const encKey = key.split('/').map(encodeURIComponent).join('/');
  return `${host.url}/_gcs/${bucket}/${encKey}?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Date=${date}&X-Goog-Expires=3600&X-Goog-SignedHeaders=host&X-Goog-Signature=${sig}`;
}

/** Writes a small file whole: a temp file renamed into place, so readers never see half of it. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.hrtime.bigint()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function serveObject(host: StackHost, req: Request, res: Response): Promise<void> {
  const method = req.method;
  const rest = req.path.slice('/_gcs/'.length);
  const slash = rest.indexOf('/');
  if (slash < 0) throw notFound('storage.objectNotFound', 'Object not found');
  const bucket = decodeURIComponent(rest.slice(0, slash));
  const key = rest
    .slice(slash + 1)
    .split('/')
    .map(decodeURIComponent)
    .join('/');
  const m = /^exp-15\/(\d+)\//.exec(key);
  const projectId = m ? Number(m[1]) : -1;
  const query = new URL(req.url, 'http://emulator.local').searchParams;
  // authorization: Bearer access token of the owning project, or a valid signed URL (GET only)
  const auth = str(req.headers.authorization);
  let allowed = false;
  if (auth?.startsWith('Bearer ')) allowed = safeEqual(auth.slice(7), accessToken(host, projectId));
  else if ((method === 'GET' || method === 'HEAD') && query.has('X-Goog-Signature')) {
    const date = query.get('X-Goog-Date') ?? '';
    const expected = host.hmac(`${bucket}/${key}@${date}`);
    const when = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const expires = Number(query.get('X-Goog-Expires') ?? 3600);
    allowed = safeEqual(query.get('X-Goog-Signature') ?? '', expected) && Number.isFinite(when) && Date.now() < when + expires * 1000;
  }
  if (!allowed || bucket !== gcsBucket(host) || !host.project(projectId)) {
    return sendJson(res, 403, { error: { code: 403, message: 'Access denied: invalid or missing credentials for this object' } });
  }
  const file = objectPath(host, bucket, key);
  if (method === 'PUT' || method === 'POST') {
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.upload-${process.hrtime.bigint()}.tmp`;
    try {
      await pipeline(req, createWriteStream(tmp));
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const size = (await stat(file)).size;
    return sendJson(res, 200, { kind: 'storage#object', bucket, name: key, size: String(size) });
  }
  if (method === 'GET' || method === 'HEAD') {
    if (!existsSync(file)) return sendJson(res, 404, { error: { code: 404, message: `No such object: ${bucket}/${key}` } });
    const size = (await stat(file)).size;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
    if (method === 'HEAD') return void res.end();
    await pipeline(createReadStream(file), res);
    return;
  }
  if (method === 'DELETE') {
    await rm(file, { force: true });
    return sendJson(res, 204, null);
  }
  throw new ApiError(405, 'methodNotAllowed', `Method ${method} not allowed`);
}

export function registerObjectStore(host: StackHost): void {
  // every method reaches serveObject (it answers 405 itself); one request-count key for all objects
  host.publicApi.streaming('/_gcs/{bucket}/{key}', '/_gcs/*object', (req, res) => serveObject(host, req, res));
}
