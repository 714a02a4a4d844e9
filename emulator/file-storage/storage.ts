/**
 * Where an emulated stack keeps the bytes of its files, by file provider (docs/object-stores.md): the emulator's own
 * GCS-shaped store (`gcp`, ./gcs.ts), a Versity S3 Gateway (`aws`, ./s3.ts), or Azurite (`azure`, ./azure.ts). The
 * Files API (emulator/storage/files.ts) answers each file in its provider's shape, and storage jobs read imported
 * files from the store and write exported slices into it, so a client talks to a real protocol server.
 */
import type { FileRecord } from '../state';

export type FileProviderName = 'aws' | 'azure' | 'gcp';
export const FILE_PROVIDERS: readonly FileProviderName[] = ['aws', 'azure', 'gcp'];

/** What a file answer is for: a listing (no credentials), an upload (prepare, refresh) or a download (detail with federationToken). */
export type AnswerStage = 'list' | 'upload' | 'download';

export interface FileStorage {
  readonly provider: FileProviderName;
  /** What a worker's environment needs to reach the store, beyond the file answers (`AWS_ENDPOINT_URL_S3`). */
  readonly workerEnv: Record<string, string>;
  /** `url` and the provider's fields of a file answer (uploadParams, absUploadParams, gcsUploadParams, s3Path, ...). */
  answer(file: FileRecord, stage: AnswerStage): Promise<Record<string, unknown>>;
  /** How a manifest names the object `key` (`s3://...`, `azure://...`, `gs://...`). */
  entryUrl(key: string): string;
  /** The key of the object a manifest entry names; undefined when the entry is not an object of this store. */
  keyOfEntry(url: string): string | undefined;
  /** The object's size in bytes; undefined when there is no such object. */
  size(key: string): Promise<number | undefined>;
  /** A local file with the object's bytes (downloaded into the folder `staging` unless the store is local); undefined when there is no such object. */
  fetch(key: string, staging: string): Promise<string | undefined>;
  /** Stores the local file `path` as the object `key`; the local file is gone afterwards. */
  put(key: string, path: string): Promise<void>;
  /** The file is deleted: what was handed out for it (an S3 user) is revoked. */
  forget(file: FileRecord): Promise<void>;
  /** Stops what the storage started itself (an object-store server it owns). */
  close(): Promise<void>;
}
