/**
 * The GCP file provider (docs/CONTRACTS.md): objects are written with `PUT {objectStoreBase}/{bucket}/{key}` and
 * the file's short-lived Bearer token (`gcsUploadParams`), manifests name slices `gs://{bucket}/{key}`, and slices
 * are read with the file detail's `gcsCredentials`. `objectStoreBase` is everything in the file's signed `url`
 * before `/{bucket}/{key}` (the emulator's `{stackUrl}/_gcs`, or `https://storage.googleapis.com`).
 */
import { StackError } from '../errors';
import type { ObjectRequest } from '../object-store';
import type { FileInfo } from '../schemas';
import type { FileProvider, UploadTarget } from './provider';

/** Validity assumed when the upload parameters do not say (`expires_in`). */
const DEFAULT_EXPIRES_IN_S = 3600;

export class GcpFileProvider implements FileProvider {
  /** `stackUrl` names the stack in error messages. */
  constructor(private readonly stackUrl: string) {}

  uploadTarget(file: FileInfo, endpoint: string): UploadTarget {
    const upload = file.gcsUploadParams;
    if (!upload) {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `${this.stackUrl} prepared file ${file.id} for provider "${file.provider ?? 'unknown'}" without gcsUploadParams: this client uploads only to the GCP file provider (docs/CONTRACTS.md)`,
      });
    }
    const base = this.#objectStoreBase(file.url, upload.bucket, upload.key, endpoint);
    const headers = { authorization: `Bearer ${upload.access_token}` };
    return {
      expiresAt: Date.now() + (upload.expires_in ?? DEFAULT_EXPIRES_IN_S) * 1000,
      object: (suffix) => ({
        url: objectUrl(base, upload.bucket, `${upload.key}${suffix}`),
        headers,
        manifestUrl: `gs://${upload.bucket}/${upload.key}${suffix}`,
      }),
    };
  }

  download(file: FileInfo, sliceUrl: string): ObjectRequest {
    const endpoint = `GET /v2/storage/files/${file.id}`;
    if (sliceUrl.startsWith('gs://')) {
      const rest = sliceUrl.slice('gs://'.length);
      const slash = rest.indexOf('/');
      const bucket = slash >= 0 ? rest.slice(0, slash) : rest;
      const key = slash >= 0 ? rest.slice(slash + 1) : '';
      if (!file.gcsPath || !file.gcsCredentials) {
        throw new StackError({
          kind: 'unexpected-response',
          endpoint,
          message: `file ${file.id} on ${this.stackUrl} has no gcsPath/gcsCredentials: get it with files.get() (federationToken=1) before reading its slices`,
        });
      }
      const base = this.#objectStoreBase(file.url, file.gcsPath.bucket, file.gcsPath.key, endpoint);
      return { url: objectUrl(base, bucket, key), headers: { authorization: `Bearer ${file.gcsCredentials.access_token}` } };
    }
    // An https URL: signed (query string) → read as is; unsigned → it is an object store URL needing the Bearer token.
    const parsed = new URL(sliceUrl);
    if (parsed.search === '' && file.gcsCredentials) {
      return { url: sliceUrl, headers: { authorization: `Bearer ${file.gcsCredentials.access_token}` } };
    }
    return { url: sliceUrl, headers: {} };
  }

  /** Everything in `url` before `/{bucket}/{key}` (docs/CONTRACTS.md). */
  #objectStoreBase(url: string, bucket: string, key: string, endpoint: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `${this.stackUrl} answered ${endpoint} with a file url that is not a URL: the stack's API differs from the documented one`,
      });
    }
    const path = parsed.pathname;
    const candidates = [`/${bucket}/${key}`, `/${bucket}/${encodeKey(key)}`, `/${encodeURIComponent(bucket)}/`, `/${bucket}/`];
    for (const candidate of candidates) {
      const index = path.indexOf(candidate);
      if (index >= 0) return `${parsed.origin}${path.slice(0, index)}`;
    }
    throw new StackError({
      kind: 'unexpected-response',
      endpoint,
      message: `${this.stackUrl} answered ${endpoint} with a file url that does not contain its bucket "${bucket}": cannot locate the object store`,
    });
  }
}

function objectUrl(base: string, bucket: string, key: string): string {
  return `${base}/${encodeURIComponent(bucket)}/${encodeKey(key)}`;
}

/** Object key → URL path, each segment percent-encoded, slashes kept. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
