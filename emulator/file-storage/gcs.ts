/**
 * The `gcp` file storage: the emulator's own store shaped like Google Cloud Storage's XML API (docs/CONTRACTS.md#gcp):
 * objects under `{stackUrl}/_gcs/{bucket}/{key}`, uploaded with a project's Bearer access token, downloaded with it
 * or with a signed URL, kept under `{dataDir}/objects/{bucket}/{key}`; uploads and downloads stream.
 *
 * Why not fake-gcs-server behind a GCP stack: it accepts any token or none (docs/object-stores.md), so a stack on it
 * could not refuse an expired or foreign token as Cloud Storage does; this store checks both. The client's JSON API
 * path is tested against fake-gcs-server itself (test/stack/file-providers.test.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { StackHost } from '../host';
import { str } from '../params';
import { ApiError, badRequest, notFound, sendJson } from '../replies';
import { timestamp, type FileRecord } from '../state';
import type { AnswerStage, FileStorage } from './storage';

const GCS_PROJECT = 'kbc-emulator';

export class GcsFileStorage implements FileStorage {
  readonly workerEnv = {};
  readonly provider = 'gcp';
  readonly bucket: string;

  constructor(private readonly host: StackHost) {
    this.bucket = `kbc-emulator-${host.stack.region}-files`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    // every method reaches serveObject (it answers 405 itself); one request-count key for all objects
    host.publicApi.streaming('/_gcs/{bucket}/{key}', '/_gcs/*object', (req, res) => this.serveObject(req, res));
  }

  async answer(file: FileRecord, stage: AnswerStage): Promise<Record<string, unknown>> {
    const objectKey = file.isSliced ? `${file.key}manifest` : file.key;
    const out: Record<string, unknown> = { url: this.signedUrl(objectKey) };
    const credentials = { access_token: this.accessToken(file.projectId), expires_in: 3599, token_type: 'Bearer' };
    if (stage === 'upload') out.gcsUploadParams = { projectId: GCS_PROJECT, bucket: this.bucket, key: file.key, ...credentials };
    if (stage === 'download') {
      out.gcsCredentials = { ...credentials, projectId: GCS_PROJECT };
      out.gcsPath = { bucket: this.bucket, key: objectKey };
    }
    return out;
  }

  entryUrl(key: string): string {
    return `gs://${this.bucket}/${key}`;
  }

  keyOfEntry(url: string): string | undefined {
    const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(url);
    return match && match[1] === this.bucket ? match[2] : undefined;
  }

  async size(key: string): Promise<number | undefined> {
    const path = this.objectPath(key);
    return existsSync(path) ? (await stat(path)).size : undefined;
  }

  /** The object's own file: nothing to download. */
  async fetch(key: string): Promise<string | undefined> {
    const path = this.objectPath(key);
    return existsSync(path) ? path : undefined;
  }

  async put(key: string, path: string): Promise<void> {
    const target = this.objectPath(key);
    await mkdir(dirname(target), { recursive: true });
    await rename(path, target);
  }

  async forget(): Promise<void> {}

  async close(): Promise<void> {}

  private objectPath(key: string, bucket = this.bucket): string {
    const parts = key.split('/');
    if (!bucket || bucket.includes('..') || bucket.includes('/') || parts.some((s) => s === '..' || s === '.' || s === ''))
      throw badRequest(`Invalid object key "${key}"`);
    return join(this.host.dataDir, 'objects', bucket, ...parts);
  }

  /** The access token that reads and writes the objects of a project (keys `exp-15/{projectId}/...`). */
  private accessToken(projectId: number): string {
    return `ya29.emulator.${projectId}.${this.host.hmac(`project:${projectId}`).slice(0, 40)}`;
  }

  private signedUrl(key: string): string {
    const date = timestamp().replace(/[-:]/g, '').replace('+0000', 'Z');
    const sig = this.host.hmac(`${this.bucket}/${key}@${date}`);
    const encKey = key.split('/').map(encodeURIComponent).join('/');
    return `${this.host.url}/_gcs/${this.bucket}/${encKey}?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Date=${date}&X-Goog-Expires=3600&X-Goog-SignedHeaders=host&X-Goog-Signature=${sig}`;
  }

  private async serveObject(req: Request, res: Response): Promise<void> {
    const host = this.host;
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
    if (auth?.startsWith('Bearer ')) allowed = safeEqual(auth.slice(7), this.accessToken(projectId));
    else if ((method === 'GET' || method === 'HEAD') && query.has('X-Goog-Signature')) {
      const date = query.get('X-Goog-Date') ?? '';
      const expected = host.hmac(`${bucket}/${key}@${date}`);
      const when = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      const expires = Number(query.get('X-Goog-Expires') ?? 3600);
      allowed = safeEqual(query.get('X-Goog-Signature') ?? '', expected) && Number.isFinite(when) && Date.now() < when + expires * 1000;
    }
    if (!allowed || bucket !== this.bucket || !host.project(projectId)) {
      return sendJson(res, 403, { error: { code: 403, message: 'Access denied: invalid or missing credentials for this object' } });
    }
    const file = this.objectPath(key, bucket);
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
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
