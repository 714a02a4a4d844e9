/**
 * The GCP file provider (docs/CONTRACTS.md#gcp): objects are written with the file's short-lived Bearer token
 * (`gcsUploadParams`, renewed by `PUT files/{id}/refresh`), manifests name slices `gs://{bucket}/{key}`, slices
 * are read with the file detail's `gcsCredentials`, and a plain file or a manifest through the file's signed `url`.
 *
 * Where: the Cloud Storage XML API at the object store base of the file's signed `url` (everything before
 * `/{bucket}/{key}`: `https://storage.googleapis.com`, or the legacy emulator's `{stackUrl}/_gcs`); or, when the
 * worker sets `STORAGE_EMULATOR_HOST` (the setting Google's own SDKs read), the JSON API of that host
 * (fake-gcs-server behind an emulated stack, docs/object-stores.md).
 */
import type { Readable } from 'node:stream';
import { StackError } from '../errors';
import type { ObjectRequest } from '../object-store';
import { GcsDownloadAnswerSchema, GcsUploadAnswerSchema } from '../schemas';
import { transferOf, withoutQuery, type FileBody, type FileProvider, type ProviderContext, type ReceivedFile } from './provider';

/** Validity assumed when the answer does not say (`expires_in`): the documented one hour. */
const DEFAULT_EXPIRES_IN_S = 3600;

type Api = { kind: 'json'; root: string } | { kind: 'xml'; base: string };

export class GcpFileProvider implements FileProvider {
  readonly name = 'gcp';

  constructor(private readonly context: ProviderContext) {}

  uploadExpiresAt(prepared: ReceivedFile): number {
    const { gcsUploadParams } = this.context.validate(GcsUploadAnswerSchema, prepared.answer, prepared.endpoint);
    return prepared.receivedAt + (gcsUploadParams.expires_in ?? DEFAULT_EXPIRES_IN_S) * 1000;
  }

  downloadExpiresAt(detail: ReceivedFile): number {
    // A detail without credentials expires at once: reading it fails with a named field after a fresh detail.
    const parsed = GcsDownloadAnswerSchema.safeParse(detail.answer);
    if (!parsed.success) return detail.receivedAt;
    return detail.receivedAt + (parsed.data.gcsCredentials.expires_in ?? DEFAULT_EXPIRES_IN_S) * 1000;
  }

  async upload(prepared: ReceivedFile, suffix: string, body: FileBody, contentType: string): Promise<string> {
    const { gcsUploadParams: params } = this.context.validate(GcsUploadAnswerSchema, prepared.answer, prepared.endpoint);
    const key = `${params.key}${suffix}`;
    const headers = { authorization: `Bearer ${params.access_token}` };
    const api = this.#api(prepared, params.bucket, params.key);
    if (api.kind === 'json') {
      const url = `${api.root}/upload/storage/v1/b/${encodeURIComponent(params.bucket)}/o?uploadType=media&name=${encodeURIComponent(key)}`;
      await this.context.store.send(transferOf(prepared, this.name, `POST gs://${params.bucket}/${key}`), 'POST', { url, headers }, body, contentType);
    } else {
      const url = xmlObjectUrl(api.base, params.bucket, key);
      await this.context.store.send(transferOf(prepared, this.name, `PUT ${new URL(url).pathname}`), 'PUT', { url, headers }, body, contentType);
    }
    return `gs://${params.bucket}/${key}`;
  }

  fileUrl(detail: ReceivedFile): string {
    return withoutQuery(detail.answer.url);
  }

  manifestUrl(detail: ReceivedFile): string {
    return detail.answer.url;
  }

  /**
   * `gs://` (a manifest entry): with the Bearer token. The file's own URL (signed, or as fileUrl() answers it):
   * through the signature. Any other https URL: as is when signed, with the Bearer token when not.
   */
  async openRead(detail: ReceivedFile, url: string): Promise<Readable> {
    const request = url.startsWith('gs://') ? this.#sliceRequest(detail, url) : this.#signedRequest(detail, url);
    const transfer = transferOf(detail, this.name, request.endpoint);
    return this.context.store.checked(transfer, await this.context.store.get(transfer, request));
  }

  #sliceRequest(detail: ReceivedFile, url: string): ObjectRequest & { endpoint: string } {
    const { gcsCredentials, gcsPath } = this.#credentials(detail);
    const rest = url.slice('gs://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash >= 0 ? rest.slice(0, slash) : rest;
    const key = slash >= 0 ? rest.slice(slash + 1) : '';
    const headers = { authorization: `Bearer ${gcsCredentials.access_token}` };
    const api = this.#api(detail, gcsPath.bucket, gcsPath.key);
    if (api.kind === 'json') {
      return { url: `${api.root}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}?alt=media`, headers, endpoint: `GET ${url}` };
    }
    const objectUrl = xmlObjectUrl(api.base, bucket, key);
    return { url: objectUrl, headers, endpoint: `GET ${new URL(objectUrl).pathname}` };
  }

  #signedRequest(detail: ReceivedFile, url: string): ObjectRequest & { endpoint: string } {
    const own = withoutQuery(url) === withoutQuery(detail.answer.url);
    const target = own ? detail.answer.url : url;
    const parsed = this.#parse(target, `GET /v2/storage/files/${detail.answer.id}`);
    const endpoint = `GET ${parsed.pathname}`;
    if (parsed.search !== '') return { url: target, headers: {}, endpoint };
    const { gcsCredentials } = this.#credentials(detail);
    return { url: target, headers: { authorization: `Bearer ${gcsCredentials.access_token}` }, endpoint };
  }

  #credentials(detail: ReceivedFile) {
    return this.context.validate(GcsDownloadAnswerSchema, detail.answer, detail.endpoint);
  }

  #api(file: ReceivedFile, bucket: string, key: string): Api {
    const emulatorHost = process.env.STORAGE_EMULATOR_HOST;
    if (emulatorHost) return { kind: 'json', root: (/^https?:\/\//.test(emulatorHost) ? emulatorHost : `http://${emulatorHost}`).replace(/\/+$/, '') };
    return { kind: 'xml', base: this.#objectStoreBase(file, bucket, key) };
  }

  /** Everything in the file's `url` before `/{bucket}/{key}` (docs/CONTRACTS.md#gcp). */
  #objectStoreBase(file: ReceivedFile, bucket: string, key: string): string {
    const parsed = this.#parse(file.answer.url, file.endpoint);
    const path = parsed.pathname;
    const candidates = [`/${bucket}/${key}`, `/${bucket}/${encodeKey(key)}`, `/${encodeURIComponent(bucket)}/`, `/${bucket}/`];
    for (const candidate of candidates) {
      const index = path.indexOf(candidate);
      if (index >= 0) return `${parsed.origin}${path.slice(0, index)}`;
    }
    throw new StackError({
      kind: 'unexpected-response',
      endpoint: file.endpoint,
      message: `${this.context.stackUrl} answered ${file.endpoint} with a url of file ${file.answer.id} that does not contain its bucket "${bucket}": the object store cannot be located (docs/CONTRACTS.md#gcp); a retry will not help`,
    });
  }

  #parse(url: string, endpoint: string): URL {
    try {
      return new URL(url);
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `${this.context.stackUrl} answered ${endpoint} with a file url that is not a URL: the stack's API differs from the documented one; a retry will not help`,
      });
    }
  }
}

function xmlObjectUrl(base: string, bucket: string, key: string): string {
  return `${base}/${encodeURIComponent(bucket)}/${encodeKey(key)}`;
}

/** Object key → URL path, each segment percent-encoded, slashes kept. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
