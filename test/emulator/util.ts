/**
 * Small HTTP client for emulator tests (plain fetch, no project code), plus file upload helpers per CONTRACTS.md that
 * use each provider's own SDK, so that the emulator's file answers are checked against what the SDKs need.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';

export const SOURCE_SEED = join(__dirname, '../../emulator/seeds/source-us.json');
export const DEST_SEED = join(__dirname, '../../emulator/seeds/destination-eu.json');
export const SOURCE_TOKEN = '101-source-master-token';
export const DEST_TOKEN = '201-destination-master-token';

export const tempDir = (prefix = 'emu-test-') => mkdtempSync(join(tmpdir(), prefix));

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class Api {
  constructor(
    readonly url: string,
    readonly token: string | null,
  ) {}

  async req<T = any>(method: string, path: string, body?: unknown, opts: { form?: boolean; headers?: Record<string, string> } = {}): Promise<Res<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.token) headers['X-StorageApi-Token'] = this.token;
    let payload: string | undefined;
    if (body !== undefined) {
      if (opts.form) {
        headers['Content-Type'] = 'application/x-www-form-urlencoded';
        payload = typeof body === 'string' ? body : new URLSearchParams(body as Record<string, string>).toString();
      } else {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
    }
    const res = await fetch(`${this.url}${path.startsWith('/') ? path : `/v2/storage/${path}`}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get = <T = any>(path: string) => this.req<T>('GET', path);
  post = <T = any>(path: string, body?: unknown) => this.req<T>('POST', path, body ?? {});
  put = <T = any>(path: string, body?: unknown) => this.req<T>('PUT', path, body ?? {});
  del = <T = any>(path: string) => this.req<T>('DELETE', path);

  async waitJob(job: { id: number }, timeoutMs = 20000): Promise<any> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.get(`jobs/${job.id}`);
      if (r.status !== 200) throw new Error(`job ${job.id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      if (r.body.status === 'success' || r.body.status === 'error') return r.body;
      if (Date.now() > until) throw new Error(`job ${job.id} did not finish`);
      await new Promise((r2) => setTimeout(r2, 25));
    }
  }

  /** Runs an async call (202 + job) to completion and returns the finished job. */
  async job(method: string, path: string, body?: unknown): Promise<any> {
    const r = await this.req(method, path, body);
    if (r.status !== 202) throw new Error(`${method} ${path}: expected 202, got ${r.status} ${JSON.stringify(r.body)}`);
    return this.waitJob(r.body);
  }

  /** Uploads content as a file (optionally sliced) with the SDK of the stack's file provider; returns its id. */
  async upload(name: string, parts: Buffer[] | Buffer, opts: { sliced?: boolean } = {}): Promise<number> {
    const list = Array.isArray(parts) ? parts : [parts];
    const sliced = opts.sliced ?? list.length > 1;
    const prep = await this.post('files/prepare', { name, isSliced: sliced, federationToken: true, sizeBytes: list.reduce((s, b) => s + b.length, 0) });
    if (prep.status !== 201) throw new Error(`prepare: ${prep.status} ${JSON.stringify(prep.body)}`);
    const store = objectsOf(prep.body, 'upload');
    if (!sliced) await store.put('', list[0]!);
    else {
      const entries: { url: string }[] = [];
      for (let i = 0; i < list.length; i++) entries.push({ url: await store.put(`part${String(i + 1).padStart(4, '0')}.csv`, list[i]!) });
      await store.put('manifest', Buffer.from(JSON.stringify({ entries })));
    }
    return prep.body.id as number;
  }

  /** Downloads a file (sliced or not) with the SDK of the stack's file provider and returns its slices' raw bytes. */
  async download(fileId: number): Promise<Buffer[]> {
    const d = await this.get(`files/${fileId}?federationToken=1`);
    if (d.status !== 200) throw new Error(`file ${fileId}: ${d.status}`);
    const store = objectsOf(d.body, 'download');
    if (!d.body.isSliced) return [await store.get(store.key)];
    const manifest = JSON.parse((await store.get(`${store.key}manifest`)).toString()) as { entries: { url: string }[] };
    return Promise.all(manifest.entries.map((e) => store.get(store.keyOf(e.url))));
  }
}

interface FileObjects {
  /** The file's key (a sliced file's: the prefix of its objects). */
  key: string;
  /** Writes the file's object `{key}{suffix}`; answers its manifest URL. */
  put(suffix: string, data: Buffer): Promise<string>;
  get(key: string): Promise<Buffer>;
  /** The key a manifest entry names. */
  keyOf(url: string): string;
}

/** The objects of a file answer, through its provider's SDK (or plain HTTP for GCS) with the answer's credentials. */
export function objectsOf(answer: any, stage: 'upload' | 'download'): FileObjects {
  if (answer.provider === 'aws') {
    const params = stage === 'upload' ? answer.uploadParams : { ...answer.s3Path, credentials: answer.credentials };
    const { AccessKeyId, SecretAccessKey } = params.credentials;
    const withS3 = async <T>(use: (s3: S3Client) => Promise<T>): Promise<T> => {
      const s3 = new S3Client({ endpoint: new URL(answer.url).origin, region: answer.region, forcePathStyle: true, credentials: { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey }, maxAttempts: 1 });
      try {
        return await use(s3);
      } finally {
        s3.destroy();
      }
    };
    return {
      key: params.key,
      put: async (suffix, data) => {
        await withS3((s3) => s3.send(new PutObjectCommand({ Bucket: params.bucket, Key: `${params.key}${suffix}`, Body: data })));
        return `s3://${params.bucket}/${params.key}${suffix}`;
      },
      get: (key) => withS3(async (s3) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: params.bucket, Key: key }))).Body!.transformToByteArray())),
      keyOf: (url) => url.replace(`s3://${params.bucket}/`, ''),
    };
  }
  if (answer.provider === 'azure') {
    const params = stage === 'upload' ? { ...answer.absUploadParams, name: answer.absUploadParams.blobName } : { ...answer.absPath, absCredentials: answer.absCredentials };
    const container = BlobServiceClient.fromConnectionString(params.absCredentials.SASConnectionString).getContainerClient(params.container);
    const entryPrefix = `azure://${container.accountName}.blob.core.windows.net/${params.container}/`;
    return {
      key: params.name,
      put: async (suffix, data) => {
        await container.getBlockBlobClient(`${params.name}${suffix}`).uploadData(data);
        return `${entryPrefix}${params.name}${suffix}`;
      },
      get: async (key) => container.getBlobClient(key).downloadToBuffer(),
      keyOf: (url) => url.replace(entryPrefix, ''),
    };
  }
  const { bucket, access_token } = stage === 'upload' ? answer.gcsUploadParams : { ...answer.gcsPath, ...answer.gcsCredentials };
  const key: string = stage === 'upload' ? answer.gcsUploadParams.key : answer.gcsPath.key;
  const base = (answer.url as string).split(`/${bucket}/`)[0];
  const headers = { Authorization: `Bearer ${access_token}` };
  return {
    key,
    put: async (suffix, data) => {
      const r = await fetch(`${base}/${bucket}/${key}${suffix}`, { method: 'PUT', headers, body: data });
      if (r.status !== 200) throw new Error(`PUT ${key}${suffix}: ${r.status} ${await r.text()}`);
      return `gs://${bucket}/${key}${suffix}`;
    },
    get: async (k) => {
      const r = await fetch(`${base}/${bucket}/${k}`, { headers });
      if (r.status !== 200) throw new Error(`GET ${k}: ${r.status}`);
      return Buffer.from(await r.arrayBuffer());
    },
    keyOf: (url) => url.replace(`gs://${bucket}/`, ''),
  };
}
