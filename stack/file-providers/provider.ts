/**
 * What differs between Keboola's file providers (docs/CONTRACTS.md#file-transfer): how the objects of a prepared
 * file are written with its upload credentials, how the objects of a file detail are read with its download
 * credentials, how a manifest names an object, and when credentials expire. An SDK signs its own requests, so a
 * provider does the transfer itself (through the stack's ObjectStore: limiter, errors, length check). The files
 * area (stack/resources/files.ts) picks the provider by each answer's `provider` and does the rest: preparing,
 * slicing, refreshing credentials, the manifest.
 *
 * Implementations: AWS S3 (./aws.ts), Azure Blob (./azure.ts), GCP Cloud Storage (./gcp.ts).
 */
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { ObjectStore, Transfer } from '../object-store';
import { FILE_CREDENTIAL_FIELDS, type FileAnswer } from '../schemas';

export type FileProviderName = 'aws' | 'azure' | 'gcp';

/** A file body: a Buffer, or a factory of a fresh stream (a retry of the transfer calls it again). */
export type FileBody = Buffer | (() => NodeJS.ReadableStream);

/** A file answer of the stack (prepare, refresh or detail) as this client received it. */
export interface ReceivedFile {
  answer: FileAnswer;
  /** `METHOD /path` of the answer: names it when one of its fields is missing. */
  endpoint: string;
  /** When it arrived (ms since the epoch): GCP's credentials say how long they live, not until when. */
  receivedAt: number;
}

export interface FileProvider {
  readonly name: FileProviderName;
  /**
   * When the upload credentials of a prepare (or refresh) answer expire, for the providers whose credentials
   * `PUT files/{id}/refresh` renews (the blueprint: GCS only); absent for the others.
   */
  uploadExpiresAt?(prepared: ReceivedFile): number;
  /** When the download credentials of a file detail expire (Infinity when the answer does not say). */
  downloadExpiresAt(detail: ReceivedFile): number;
  /**
   * Writes the object named by the prepared file's key + `suffix` (`''` the whole file, `part0001.csv.gz` a slice,
   * `manifest` the manifest); answers how a manifest names that object (`s3://...`, `azure://...`, `gs://...`).
   */
  upload(prepared: ReceivedFile, suffix: string, body: FileBody, contentType: string): Promise<string>;
  /** The one URL of a plain file, as files.sliceUrls() answers it. */
  fileUrl(detail: ReceivedFile): string;
  /** Where the manifest of a sliced file is, in a form openRead() reads. */
  manifestUrl(detail: ReceivedFile): string;
  /** Starts reading `url` (a manifest entry, fileUrl() or manifestUrl()); resolves once the store answered. */
  openRead(detail: ReceivedFile, url: string): Promise<Readable>;
}

/** What every provider is built with. */
export interface ProviderContext {
  /** Names the stack in messages. */
  stackUrl: string;
  /** Limiter slots, StackErrors, length checks and plain HTTP: stack/object-store.ts. */
  store: ObjectStore;
  /** Validates the provider's fields of an answer; a mismatch is an unexpected-response naming the field. */
  validate<S extends z.ZodType>(schema: S, value: unknown, endpoint: string, secrets?: string[]): z.output<S>;
}

/** A transfer of one object of `file`, redacting every credential of its answer from errors. */
export function transferOf(file: ReceivedFile, provider: FileProviderName, endpoint: string): Transfer {
  return { fileId: file.answer.id, provider, endpoint, secrets: fileSecrets(file.answer) };
}

/** Fields beside the credentials that say where an object is, not how to reach it: errors keep them, so they say which object failed. */
const WHERE_FIELDS = new Set(['bucket', 'key', 'name', 'blobName', 'container', 'accountName', 'region', 'acl', 'projectId', 'x-amz-server-side-encryption', 'expires_in', 'token_type', 'Expiration', 'expiration']);

/**
 * Every string under a credential field of an answer, each parameter of a SAS or of the signed `url` (so that a
 * signature copied out of them is redacted too), and the signed `url` itself.
 */
function fileSecrets(answer: FileAnswer): string[] {
  const secrets: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') {
      secrets.push(value, ...queryValues(value));
    } else if (value && typeof value === 'object') {
      for (const [name, item] of Object.entries(value)) if (!WHERE_FIELDS.has(name)) collect(item);
    }
  };
  for (const field of FILE_CREDENTIAL_FIELDS) collect((answer as Record<string, unknown>)[field]);
  const query = answer.url.indexOf('?');
  if (query >= 0) secrets.push(answer.url, answer.url.slice(query + 1), ...queryValues(answer.url.slice(query + 1)));
  return secrets.filter((secret) => secret.length >= 8);
}

/** The values of `a=b&c=d` (or of `...;SharedAccessSignature=a=b&c=d`). */
function queryValues(text: string): string[] {
  if (!text.includes('=')) return [];
  const sas = /SharedAccessSignature=([^;]*)/.exec(text)?.[1] ?? text;
  return [...new URLSearchParams(sas.replace(/^[^?]*\?/, '')).values()].flatMap((value) => [value, encodeURIComponent(value)]);
}

/** `url` without its query string (a signature). */
export function withoutQuery(url: string): string {
  const query = url.indexOf('?');
  return query >= 0 ? url.slice(0, query) : url;
}
