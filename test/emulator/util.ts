/** Small HTTP client for emulator tests (plain fetch, no project code), plus file upload helpers per CONTRACTS.md. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

  /** Uploads content as a file (optionally sliced) and returns its id. */
  async upload(name: string, parts: Buffer[] | Buffer, opts: { sliced?: boolean } = {}): Promise<number> {
    const list = Array.isArray(parts) ? parts : [parts];
    const sliced = opts.sliced ?? list.length > 1;
    const prep = await this.post('files/prepare', { name, isSliced: sliced, federationToken: true, sizeBytes: list.reduce((s, b) => s + b.length, 0) });
    if (prep.status !== 201) throw new Error(`prepare: ${prep.status} ${JSON.stringify(prep.body)}`);
    const { bucket, key, access_token } = prep.body.gcsUploadParams;
    const base = (prep.body.url as string).split(`/${bucket}/`)[0];
    const put = async (k: string, data: Buffer) => {
      const r = await fetch(`${base}/${bucket}/${k}`, { method: 'PUT', headers: { Authorization: `Bearer ${access_token}` }, body: data });
      if (r.status !== 200) throw new Error(`PUT ${k}: ${r.status} ${await r.text()}`);
    };
    if (!sliced) await put(key, list[0]!);
    else {
      const entries: { url: string }[] = [];
      for (let i = 0; i < list.length; i++) {
        const k = `${key}part${String(i + 1).padStart(4, '0')}.csv`;
        await put(k, list[i]!);
        entries.push({ url: `gs://${bucket}/${k}` });
      }
      await put(`${key}manifest`, Buffer.from(JSON.stringify({ entries })));
    }
    return prep.body.id as number;
  }

  /** Downloads a file (sliced or not) and returns its slices' raw bytes. */
  async download(fileId: number): Promise<Buffer[]> {
    const d = await this.get(`files/${fileId}?federationToken=1`);
    if (d.status !== 200) throw new Error(`file ${fileId}: ${d.status}`);
    const { access_token } = d.body.gcsCredentials;
    const { bucket } = d.body.gcsPath;
    const base = (d.body.url as string).split(`/${bucket}/`)[0];
    const get = async (k: string) => {
      const r = await fetch(`${base}/${bucket}/${k}`, { headers: { Authorization: `Bearer ${access_token}` } });
      if (r.status !== 200) throw new Error(`GET ${k}: ${r.status}`);
      return Buffer.from(await r.arrayBuffer());
    };
    if (!d.body.isSliced) return [await get(d.body.gcsPath.key)];
    const manifest = JSON.parse((await get(d.body.gcsPath.key)).toString()) as { entries: { url: string }[] };
    const out: Buffer[] = [];
    for (const e of manifest.entries) out.push(await get(e.url.replace(`gs://${bucket}/`, '')));
    return out;
  }
}
