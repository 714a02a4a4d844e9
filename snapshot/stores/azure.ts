// Snapshots under `azure://account/container/prefix`, through the Azure Blob SDK with the worker's standard
// environment (AZURE_STORAGE_CONNECTION_STRING; Azurite's in the tests). Data streams in block uploads.
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContainerClient } from '@azure/storage-blob';
import { azureBlob } from '../../stack/azure-blob';
import { counted, joinKey, unlessMissing, type SnapshotStore } from '../store';

export function azureContainer(env: NodeJS.ProcessEnv, container: string): ContainerClient {
  const connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
  if (!connectionString) throw new Error('an azure:// snapshot root needs AZURE_STORAGE_CONNECTION_STRING on the worker');
  return azureBlob().BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
}

const isMissing = (error: unknown) => (error as { statusCode?: number }).statusCode === 404;

export class AzureSnapshotStore implements SnapshotStore {
  readonly location: string;

  constructor(
    private readonly container: ContainerClient,
    private readonly account: string,
    private readonly prefix: string,
  ) {
    this.location = `azure://${account}/${container.containerName}${prefix ? `/${prefix}` : ''}`;
  }

  child(name: string): SnapshotStore {
    return new AzureSnapshotStore(this.container, this.account, joinKey(this.prefix, name));
  }

  async readText(key: string): Promise<string | undefined> {
    return (await unlessMissing(this.#blob(key).downloadToBuffer(), isMissing))?.toString('utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    await this.#blob(key).upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  }

  async write(key: string, body: Readable): Promise<number> {
    const counter = counted(body);
    // Blocks are committed only at the end: a failed upload leaves no blob.
    await this.#blob(key).uploadStream(counter, 4 * 1024 * 1024, 4);
    return counter.bytes;
  }

  openRead(key: string): Readable {
    const out = new PassThrough();
    this.#blob(key)
      .download()
      .then((answer) => pipeline(answer.readableStreamBody as Readable, out))
      .catch((error: Error) => out.destroy(error));
    return out;
  }

  async size(key: string): Promise<number | undefined> {
    return (await unlessMissing(this.#blob(key).getProperties(), isMissing))?.contentLength;
  }

  async list(folder: string): Promise<string[]> {
    const prefix = `${joinKey(this.prefix, folder)}/`.replace(/^\//, '');
    const names = new Set<string>();
    for await (const item of this.container.listBlobsByHierarchy('/', { prefix })) names.add(item.name.slice(prefix.length).replace(/\/$/, ''));
    return [...names].filter(Boolean).sort();
  }

  describe(key: string): string {
    return `azure://${this.account}/${this.container.containerName}/${joinKey(this.prefix, key)}`;
  }

  #blob(key: string) {
    return this.container.getBlockBlobClient(joinKey(this.prefix, key));
  }
}
