/**
 * Files (blueprint "Group Files", docs/CONTRACTS.md): upload (plain or sliced) and download, streamed against the
 * object store with the file's own short-lived credentials; whole files are never held in memory. What depends
 * on the file provider sits behind FileProvider (stack/file-providers/), chosen by each file answer's `provider`.
 */
import { PassThrough, type Readable } from 'node:stream';
import { StackError } from '../errors';
import type { FileProvider, UploadTarget } from '../file-providers/provider';
import { GcpFileProvider } from '../file-providers/gcp';
import { describeObjectUrl } from '../object-store';
import { FileInfoSchema, SliceManifestSchema, type FileInfo } from '../schemas';
import { seg, type Transport } from '../transport';
import { StackResource, compact } from './resource';

export interface UploadOptions {
  sizeBytes?: number;
  tags?: string[];
}

/** A file body: a Buffer, or a factory of a fresh stream (a retry of the transfer calls it again). */
export type FileBody = Buffer | (() => NodeJS.ReadableStream);

const PREPARE_ENDPOINT = 'POST /v2/storage/files/prepare';
/** Refresh upload credentials when fewer than this many seconds of validity remain. */
const CREDENTIALS_REFRESH_MARGIN_S = 300;
/** Slices uploaded at once by default. */
const DEFAULT_SLICE_CONCURRENCY = 4;

export class FilesResource extends StackResource {
  /** By the `provider` of a file answer; a file without one is read as GCP's (the only provider of the emulator). */
  readonly #providers: ReadonlyMap<string, FileProvider>;

  constructor(transport: Transport) {
    super(transport);
    this.#providers = new Map([['gcp', new GcpFileProvider(transport.url)]]);
  }

  /** File detail with download credentials (`federationToken=1`). */
  async get(fileId: number | string): Promise<FileInfo> {
    return this.transport.request('GET', `/files/${seg(fileId)}`, FileInfoSchema, { query: { federationToken: 1 } });
  }

  /** Uploads one file (prepare + one streamed PUT); answers its detail. */
  async upload(name: string, body: FileBody, options: UploadOptions = {}): Promise<FileInfo> {
    const sizeBytes = Buffer.isBuffer(body) ? body.length : options.sizeBytes;
    const prepared = await this.#prepare(name, { sizeBytes, tags: options.tags, isSliced: false });
    const target = this.#provider(prepared, PREPARE_ENDPOINT).uploadTarget(prepared, PREPARE_ENDPOINT);
    await this.transport.objects.put(target.object(''), body);
    return this.get(prepared.id);
  }

  /**
   * Uploads a sliced file: prepare with `isSliced`, each slice under `{key}partNNNN{.csv.gz}`, then the
   * manifest at `{key}manifest` (docs/CONTRACTS.md). Up to `options.concurrency` slices (default 4) are streamed
   * at once; the manifest lists them in order. Credentials about to expire are refreshed before a slice.
   */
  async uploadSliced(name: string, slices: Array<() => NodeJS.ReadableStream>, options: UploadOptions & { concurrency?: number } = {}): Promise<FileInfo> {
    const prepared = await this.#prepare(name, { sizeBytes: options.sizeBytes, tags: options.tags, isSliced: true });
    const provider = this.#provider(prepared, PREPARE_ENDPOINT);
    let target = provider.uploadTarget(prepared, PREPARE_ENDPOINT);
    const fresh = async (): Promise<UploadTarget> => {
      if (target.expiresAt - Date.now() < CREDENTIALS_REFRESH_MARGIN_S * 1000) {
        const endpoint = `PUT /v2/storage/files/${prepared.id}/refresh`;
        target = provider.uploadTarget(await this.transport.request('PUT', `/files/${seg(prepared.id)}/refresh`, FileInfoSchema), endpoint);
      }
      return target;
    };
    const suffix = sliceSuffix(name);
    const entries = new Array<{ url: string }>(slices.length);
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < slices.length && !failed) {
        const i = next++;
        try {
          const slice = (await fresh()).object(`part${String(i + 1).padStart(4, '0')}${suffix}`);
          await this.transport.objects.put(slice, slices[i]);
          entries[i] = { url: slice.manifestUrl };
        } catch (error) {
          failed = true; // the other lanes start no new slice
          throw error;
        }
      }
    };
    const lanes = Math.max(1, Math.min(options.concurrency ?? DEFAULT_SLICE_CONCURRENCY, slices.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    await this.transport.objects.put(target.object('manifest'), Buffer.from(JSON.stringify({ entries })), 'application/json');
    return this.get(prepared.id);
  }

  /** One URL for a plain file (its signed URL); the manifest's entries (e.g. `gs://...`) for a sliced one. */
  async sliceUrls(file: FileInfo): Promise<string[]> {
    if (!file.isSliced) return [file.url];
    const endpoint = `GET ${describeObjectUrl(file.url)}`;
    const text = await this.transport.objects.getText({ url: file.url, headers: {} });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `the manifest of sliced file ${file.id} on ${this.transport.url} is not JSON: the file is damaged or not a sliced file`,
      });
    }
    return this.transport.validate(SliceManifestSchema, json, `${endpoint} (manifest of file ${file.id})`).entries.map((e) => e.url);
  }

  /**
   * Streams one slice (or the whole plain file). `sliceUrl` is one of sliceUrls(file): a manifest entry (read from
   * the object store with the file's credentials) or a signed https URL (read as is). HTTP and network failures
   * are emitted as a StackError on the returned stream.
   */
  openSlice(file: FileInfo, sliceUrl: string): Readable {
    try {
      return this.transport.objects.stream(this.#provider(file, `GET /v2/storage/files/${file.id}`).download(file, sliceUrl));
    } catch (error) {
      const out = new PassThrough();
      process.nextTick(() => out.destroy(error as Error));
      return out;
    }
  }

  async #prepare(name: string, options: { sizeBytes?: number; tags?: string[]; isSliced: boolean }): Promise<FileInfo> {
    return this.transport.request('POST', '/files/prepare', FileInfoSchema, {
      json: compact({ name, sizeBytes: options.sizeBytes, tags: options.tags, isSliced: options.isSliced, federationToken: true }),
    });
  }

  #provider(file: FileInfo, endpoint: string): FileProvider {
    const provider = this.#providers.get(file.provider ?? 'gcp');
    if (provider) return provider;
    throw new StackError({
      kind: 'unexpected-response',
      endpoint,
      message: `${this.transport.url} answered ${endpoint} with file ${file.id} of the file provider "${file.provider}": this client speaks only the GCP file provider (docs/CONTRACTS.md)`,
    });
  }
}

/** `.csv.gz` / `.csv` / `.gz` suffix of a file name (table names contain dots, so no generic extension logic). */
function sliceSuffix(name: string): string {
  return /(\.csv)?(\.gz)?$/i.exec(name)?.[0] ?? '';
}
