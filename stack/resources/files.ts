/**
 * Files (blueprint "Group Files", docs/CONTRACTS.md#file-transfer): upload (plain or sliced) and download,
 * streamed against the stack's object store with the file's own short-lived credentials; whole files are never
 * held in memory. What depends on the file provider sits behind FileProvider (stack/file-providers/), chosen by
 * each file answer's `provider`.
 *
 * Credentials never leave this area: a FileInfo it answers holds none (stack/schemas/files.ts); the answer behind
 * it, credentials included, is kept here, and replaced by a fresh file detail when its credentials are about to
 * expire or when the FileInfo was not answered by this client.
 */
import { PassThrough, type Readable } from 'node:stream';
import { z } from 'zod';
import { StackError } from '../errors';
import { AwsFileProvider } from '../file-providers/aws';
import { AzureFileProvider } from '../file-providers/azure';
import { GcpFileProvider } from '../file-providers/gcp';
import { withoutQuery, type FileBody, type FileProvider, type ReceivedFile } from '../file-providers/provider';
import { FileAnswerSchema, FileInfoSchema, SliceManifestSchema, type FileInfo } from '../schemas';
import { seg, type HttpMethod, type RequestOptions, type Transport } from '../transport';
import { StackResource, compact } from './resource';

export type { FileBody } from '../file-providers/provider';

export interface UploadOptions {
  sizeBytes?: number;
  tags?: string[];
  /** Kept until deleted (`maxAgeDays: null`), not for the stack's default 15 days. */
  isPermanent?: boolean;
}

/** What an upload answers: the file's ID, all that an import or a table creation needs (`get` reads its detail). */
export interface UploadedFile {
  id: number;
}

/** Fresh credentials are fetched when fewer than this many seconds of validity remain. */
const CREDENTIALS_REFRESH_MARGIN_S = 300;
/** Slices uploaded at once by default. */
const DEFAULT_SLICE_CONCURRENCY = 4;
/** A manifest names slices; more than this is not a manifest. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
const OCTET_STREAM = 'application/octet-stream';

export class FilesResource extends StackResource {
  readonly #providers: ReadonlyMap<string, FileProvider>;
  /** The answer behind each FileInfo this area answered, credentials included (never handed out). */
  readonly #answers = new WeakMap<FileInfo, Promise<ReceivedFile>>();

  constructor(transport: Transport) {
    super(transport);
    const context = { stackUrl: transport.url, store: transport.objects, validate: transport.validate.bind(transport) };
    this.#providers = new Map<string, FileProvider>([
      ['aws', new AwsFileProvider(context)],
      ['azure', new AzureFileProvider(context)],
      ['gcp', new GcpFileProvider(context)],
    ]);
  }

  /** The project's files, newest first, a page at a time (`limit` up to 100 on a real stack). */
  async list(options: { limit?: number; offset?: number } = {}): Promise<FileInfo[]> {
    return this.transport.request('GET', '/files', z.array(FileInfoSchema), { query: { limit: options.limit ?? 100, offset: options.offset } });
  }

  async delete(fileId: number | string): Promise<void> {
    await this.transport.request('DELETE', `/files/${seg(String(fileId))}`, z.unknown());
  }

  /** File detail (requested with download credentials, `federationToken=1`, which stay in this client). */
  async get(fileId: number | string): Promise<FileInfo> {
    return this.#answer(this.#detail(fileId));
  }

  /** Uploads one file (prepare + one streamed transfer). */
  async upload(name: string, body: FileBody, options: UploadOptions = {}): Promise<UploadedFile> {
    const sizeBytes = Buffer.isBuffer(body) ? body.length : options.sizeBytes;
    const prepared = await this.#prepare(name, { sizeBytes, tags: options.tags, isPermanent: options.isPermanent, isSliced: false });
    await this.#provider(prepared).upload(prepared, '', body, OCTET_STREAM);
    return { id: prepared.answer.id };
  }

  /**
   * Uploads a sliced file: prepare with `isSliced`, each slice under `{key}partNNNN{.csv.gz}`, then the
   * manifest at `{key}manifest` (docs/CONTRACTS.md#file-transfer). Up to `options.concurrency` slices (default 4)
   * are streamed at once; the manifest lists them in order. Credentials that `PUT files/{id}/refresh` renews are
   * refreshed before a slice, and before the manifest, when they are about to expire.
   */
  async uploadSliced(name: string, slices: Array<() => NodeJS.ReadableStream>, options: UploadOptions & { concurrency?: number } = {}): Promise<UploadedFile> {
    let prepared = await this.#prepare(name, { sizeBytes: options.sizeBytes, tags: options.tags, isSliced: true });
    const provider = this.#provider(prepared);
    const fileId = prepared.answer.id;
    let refreshing: Promise<ReceivedFile> | undefined; // one refresh for the slices that start meanwhile
    const fresh = async (): Promise<ReceivedFile> => {
      if (refreshing) return refreshing;
      if (!provider.uploadExpiresAt || !expiresSoon(provider.uploadExpiresAt(prepared))) return prepared;
      refreshing = this.#received('PUT', `/files/${seg(fileId)}/refresh`).finally(() => (refreshing = undefined));
      prepared = await refreshing;
      return prepared;
    };
    const suffix = sliceSuffix(name);
    const entries = new Array<{ url: string }>(slices.length);
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < slices.length && !failed) {
        const i = next++;
        try {
          entries[i] = { url: await provider.upload(await fresh(), `part${String(i + 1).padStart(4, '0')}${suffix}`, slices[i], OCTET_STREAM) };
        } catch (error) {
          failed = true; // the other lanes start no new slice
          throw error;
        }
      }
    };
    const lanes = Math.max(1, Math.min(options.concurrency ?? DEFAULT_SLICE_CONCURRENCY, slices.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    await provider.upload(await fresh(), 'manifest', Buffer.from(JSON.stringify({ entries })), 'application/json');
    return { id: fileId };
  }

  /**
   * The URLs to read a file with, in order: its one object for a plain file (`s3://`, `azure://`, or for GCP its
   * url), the manifest's entries (`s3://`, `azure://`, `gs://`) for a sliced one.
   */
  async sliceUrls(file: FileInfo): Promise<string[]> {
    const detail = await this.#download(file);
    const provider = this.#provider(detail);
    if (!detail.answer.isSliced) return [provider.fileUrl(detail)];
    const manifestUrl = provider.manifestUrl(detail);
    const endpoint = `GET ${withoutQuery(manifestUrl)} (manifest of file ${file.id})`;
    const manifest = await provider.openRead(detail, manifestUrl);
    let json: unknown;
    try {
      json = JSON.parse((await readText(manifest, MAX_MANIFEST_BYTES)) ?? ''); // too large: not a manifest either
    } catch (error) {
      if (error instanceof StackError) throw error;
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `the manifest of sliced file ${file.id} (${provider.name}) on ${this.transport.url} is not JSON: the file is damaged or not a sliced file; a retry will not help, export it again`,
      });
    }
    return this.transport.validate(SliceManifestSchema, json, endpoint).entries.map((e) => e.url);
  }

  /**
   * Streams one slice (or the whole plain file): `sliceUrl` is one of sliceUrls(file). Every failure (credentials,
   * a missing object, a cut connection, a download shorter than announced) is a StackError on the returned stream.
   */
  openSlice(file: FileInfo, sliceUrl: string): Readable {
    const out = new PassThrough();
    this.#download(file)
      .then((detail) => this.#provider(detail).openRead(detail, sliceUrl))
      .then(
        (slice) => {
          if (out.destroyed) return void slice.destroy();
          slice.once('error', (error) => out.destroy(error));
          out.once('close', () => slice.destroy());
          slice.pipe(out);
        },
        (error: unknown) => out.destroy(error as Error),
      );
    return out;
  }

  async #prepare(name: string, options: { sizeBytes?: number; tags?: string[]; isPermanent?: boolean; isSliced: boolean }): Promise<ReceivedFile> {
    return this.#received('POST', '/files/prepare', {
      json: compact({ name, sizeBytes: options.sizeBytes, tags: options.tags, isPermanent: options.isPermanent || undefined, isSliced: options.isSliced, federationToken: true }),
    });
  }

  #detail(fileId: number | string): Promise<ReceivedFile> {
    return this.#received('GET', `/files/${seg(fileId)}`, { query: { federationToken: 1 } });
  }

  async #received(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<ReceivedFile> {
    const res = await this.transport.send(method, path, options);
    return { answer: this.transport.parse(FileAnswerSchema, res), endpoint: res.endpoint, receivedAt: Date.now() };
  }

  /** The FileInfo of an answer (no credentials, `url` unsigned), remembering the answer for downloads. */
  async #answer(pending: Promise<ReceivedFile>): Promise<FileInfo> {
    const received = await pending;
    const info = FileInfoSchema.parse({ ...received.answer, url: withoutQuery(received.answer.url) });
    this.#answers.set(info, pending);
    return info;
  }

  /** The answer behind `file` with download credentials valid for a while yet: the one kept, or a fresh detail. */
  async #download(file: FileInfo): Promise<ReceivedFile> {
    const kept = this.#answers.get(file);
    if (kept) {
      const received = await kept.catch(() => undefined);
      if (received && !expiresSoon(this.#provider(received).downloadExpiresAt(received))) return received;
      if (this.#answers.get(file) !== kept) return this.#download(file); // another slice fetched a fresh one meanwhile
    }
    const fresh = this.#detail(file.id);
    this.#answers.set(file, fresh);
    return fresh;
  }

  #provider(file: ReceivedFile): FileProvider {
    const provider = this.#providers.get(file.answer.provider ?? '');
    if (provider) return provider;
    throw new StackError({
      kind: 'unexpected-response',
      endpoint: file.endpoint,
      message: `${this.transport.url} answered ${file.endpoint} with file ${file.answer.id} of ${
        file.answer.provider === undefined ? 'no file provider' : `the file provider "${file.answer.provider}"`
      }: this client reads and writes files of the providers aws, azure and gcp only (docs/CONTRACTS.md#file-transfer); a retry will not help, a newer stack-migrate may`,
    });
  }
}

function expiresSoon(expiresAt: number): boolean {
  return expiresAt - Date.now() < CREDENTIALS_REFRESH_MARGIN_S * 1000;
}

/** `.csv.gz` / `.csv` / `.gz` suffix of a file name (table names contain dots, so no generic extension logic). */
function sliceSuffix(name: string): string {
  return /(\.csv)?(\.gz)?$/i.exec(name)?.[0] ?? '';
}

/** A small object as text; `undefined` when it is larger than `limitBytes` (then it is not what was asked for). */
async function readText(stream: Readable, limitBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
