/**
 * The `azure` file storage: the stack's files in a container of Azurite (docs/object-stores.md), answered as an
 * Azure stack answers them (docs/CONTRACTS.md#azure): `absUploadParams` with a container SAS connection string on
 * prepare, `absPath` + `absCredentials` on a detail with `federationToken=1`, a SAS `url`, manifests of
 * `azure://{account}.blob.core.windows.net/{container}/{blob}` entries.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import type { AzureServer } from '../../scripts/object-stores';
import type { StackHost } from '../host';
import type { FileRecord } from '../state';
import type { AnswerStage, FileStorage } from './storage';

/** How long a SAS lives (Keboola's: hours). */
const SAS_TTL_MS = 8 * 3600_000;

export class AzureFileStorage implements FileStorage {
  readonly workerEnv = {};
  readonly provider = 'azure';
  readonly containerName: string;
  private readonly container: ContainerClient;

  private constructor(
    host: StackHost,
    private readonly server: AzureServer,
    private readonly owned: boolean,
  ) {
    // one container per stack, named after the stack's own secret so that stacks sharing one Azurite never meet
    this.containerName = `kbc-${host.stack.region}-files-${host.hmac('files-container').slice(0, 10)}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    const service = new BlobServiceClient(server.accountUrl, new StorageSharedKeyCredential(server.accountName, server.accountKey));
    this.container = service.getContainerClient(this.containerName);
  }

  /** Opens the stack's container on `server` (creating it on the first start); `owned`: close() stops the server. */
  static async open(host: StackHost, server: AzureServer, owned: boolean): Promise<AzureFileStorage> {
    const storage = new AzureFileStorage(host, server, owned);
    await storage.container.createIfNotExists();
    return storage;
  }

  async answer(file: FileRecord, stage: AnswerStage): Promise<Record<string, unknown>> {
    const expiresOn = new Date(Date.now() + SAS_TTL_MS);
    const objectKey = file.isSliced ? `${file.key}manifest` : file.key;
    const readOnly = this.server.sasConnectionString(this.containerName, { permissions: 'rl', expiresOn });
    const url = `${this.server.accountUrl}/${this.containerName}/${objectKey.split('/').map(encodeURIComponent).join('/')}?${readOnly.split('SharedAccessSignature=')[1]}`;
    if (stage === 'list') return { url };
    const expiration = expiresOn.toISOString();
    if (stage === 'upload') {
      const connection = this.server.sasConnectionString(this.containerName, { permissions: 'rcwl', expiresOn });
      return { url, absUploadParams: { blobName: file.key, accountName: this.server.accountName, container: this.containerName, absCredentials: { SASConnectionString: connection, expiration } } };
    }
    return { url, absPath: { container: this.containerName, name: file.key }, absCredentials: { SASConnectionString: readOnly, expiration } };
  }

  entryUrl(key: string): string {
    return `azure://${this.server.accountName}.blob.core.windows.net/${this.containerName}/${key}`;
  }

  keyOfEntry(url: string): string | undefined {
    const match = /^azure:\/\/([^./]+)\.blob\.core\.windows\.net\/([^/]+)\/(.+)$/.exec(url);
    return match && match[1] === this.server.accountName && match[2] === this.containerName ? match[3] : undefined;
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await this.container.getBlobClient(key).getProperties()).contentLength;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async fetch(key: string, staging: string): Promise<string | undefined> {
    await mkdir(staging, { recursive: true });
    const path = join(staging, `${process.hrtime.bigint()}-${key.split('/').pop()}`);
    try {
      await this.container.getBlobClient(key).downloadToFile(path);
      return path;
    } catch (error) {
      await rm(path, { force: true });
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, path: string): Promise<void> {
    await this.container.getBlockBlobClient(key).uploadFile(path);
    await rm(path, { force: true });
  }

  /** A SAS cannot be revoked (it expires); nothing to do. */
  async forget(): Promise<void> {}

  async close(): Promise<void> {
    if (this.owned) await this.server.stop();
  }
}

function isMissing(error: unknown): boolean {
  return (error as { statusCode?: number }).statusCode === 404;
}
