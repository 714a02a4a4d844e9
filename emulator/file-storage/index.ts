/** Opens the file storage of a stack's provider (./storage.ts), on a given object-store server or on one it starts itself. */
import { join } from 'node:path';
import { startObjectStore, type AzureServer, type S3Server } from '../../scripts/object-stores';
import type { StackHost } from '../host';
import { AzureFileStorage } from './azure';
import { GcsFileStorage } from './gcs';
import { S3FileStorage, type S3CredentialScope } from './s3';
import type { FileProviderName, FileStorage } from './storage';

export { FILE_PROVIDERS, type FileProviderName, type FileStorage } from './storage';
export type { S3CredentialScope } from './s3';

/** Object-store servers that stacks share, as the stacks of one cloud share its object store (scripts/object-stores.ts). */
export interface ObjectStoreServers {
  aws?: S3Server;
  azure?: AzureServer;
}

/**
 * The file storage of `provider` for `host`: on the server of `servers` for that provider, or else on a server it
 * starts itself with its objects under `{dataDir}/object-store/{provider}` (and stops on close).
 */
export async function openFileStorage(host: StackHost, provider: FileProviderName, servers: ObjectStoreServers = {}, s3Credentials: S3CredentialScope = 'per-file'): Promise<FileStorage> {
  if (provider === 'gcp') return new GcsFileStorage(host);
  const dir = join(host.dataDir, 'object-store', provider);
  if (provider === 'aws') {
    return servers.aws ? S3FileStorage.open(host, servers.aws, false, s3Credentials) : S3FileStorage.open(host, await startObjectStore('aws', { dir }), true, s3Credentials);
  }
  return servers.azure ? AzureFileStorage.open(host, servers.azure, false) : AzureFileStorage.open(host, await startObjectStore('azure', { dir }), true);
}
