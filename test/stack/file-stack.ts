/**
 * For the tests of the file providers against real object-store servers (scripts/object-stores.ts): the Files
 * API of a stack, answered by hand in each provider's documented shape (the blueprint's "Upload File" and
 * "File detail", docs/CONTRACTS.md#file-transfer) with credentials valid for that server, and a proxy that cuts a
 * download short. The emulator will answer the same shapes (docs/object-stores.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { AzureServer, GcsServer, ObjectStoreServer, S3Server } from '../../scripts/object-stores';
import { sendJson, type TestServer } from './helpers';

type Answer = Record<string, any>;

interface FileRecord {
  id: number;
  name: string;
  isSliced: boolean;
  key: string;
  /** AWS: the file's own user of the gateway. */
  user?: { accessKeyId: string; secretAccessKey: string };
}

export const GCS_TOKEN = 'ya29.gcs-token-of-the-test-SECRET';
const HOUR_MS = 3600_000;

export class FileStack {
  readonly files = new Map<number, FileRecord>();
  /** Changes an answer before it is sent: the bad inputs of the tests. */
  tamper: ((answer: Answer, stage: 'prepare' | 'detail', file: FileRecord) => void | Promise<void>) | undefined;
  #nextId = 4000;

  constructor(
    private readonly server: TestServer,
    readonly store: ObjectStoreServer,
    /** The bucket (Azure: container) of the stack's files. */
    readonly bucket: string,
  ) {}

  get lastFileId(): number {
    return this.#nextId - 1;
  }

  /** Registers prepare, detail and refresh on the test server. */
  install(): void {
    this.server.on('POST', '/v2/storage/files/prepare', async (req, res) => {
      const body = req.json as { name: string; isSliced?: boolean };
      const id = this.#nextId++;
      const file: FileRecord = { id, name: body.name, isSliced: body.isSliced === true, key: `exp-15/1/files/2026/12/01/${id}.${body.name}` };
      if (this.store.kind === 'aws') file.user = await this.store.createFileUser(this.bucket, file.key);
      this.files.set(id, file);
      sendJson(res, 201, await this.#answer(file, 'prepare'));
    });
    this.server.on('GET', /^\/v2\/storage\/files\/\d+$/, async (req, res) => {
      const file = this.files.get(Number(req.path.split('/').pop()));
      if (!file) return sendJson(res, 404, { error: 'File not found', code: 'storage.files.notFound' });
      sendJson(res, 200, await this.#answer(file, 'detail'));
    });
    this.server.on('PUT', /^\/v2\/storage\/files\/\d+\/refresh$/, async (req, res) => {
      const file = this.files.get(Number(req.path.split('/')[4]))!;
      sendJson(res, 200, await this.#answer(file, 'prepare'));
    });
  }

  /** Removes one object of a file from the store, behind the stack's back. */
  async deleteObject(key: string): Promise<void> {
    const store = this.store;
    if (store.kind === 'aws') await s3Admin(store).send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    else if (store.kind === 'azure') await azureAdmin(store).getContainerClient(this.bucket).deleteBlob(key);
    else await fetch(`${store.endpoint}/storage/v1/b/${this.bucket}/o/${encodeURIComponent(key)}`, { method: 'DELETE' });
  }

  /** How many parts (S3) or blocks (Azure) the stored object was written in. */
  async partsOf(key: string): Promise<number> {
    const store = this.store;
    if (store.kind === 'aws') {
      const head = await s3Admin(store).send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return Number(/-(\d+)"?$/.exec(head.ETag ?? '')?.[1] ?? 1); // a multipart object's ETag ends in -{parts}
    }
    if (store.kind === 'azure') {
      const list = await azureAdmin(store).getContainerClient(this.bucket).getBlockBlobClient(key).getBlockList('committed');
      return list.committedBlocks?.length ?? 0;
    }
    throw new Error('fake-gcs-server stores an upload in one piece');
  }

  async #answer(file: FileRecord, stage: 'prepare' | 'detail'): Promise<Answer> {
    const objectKey = file.isSliced ? `${file.key}manifest` : file.key;
    const answer: Answer = {
      id: file.id,
      created: '2026-12-01T10:34:45+0100',
      isPublic: false,
      isSliced: file.isSliced,
      isEncrypted: true,
      name: file.name,
      fileType: 'csv',
      provider: this.store.kind,
      region: 'us-east-1',
      sizeBytes: 0,
      tags: [],
      maxAgeDays: 15,
      runId: null,
      creatorToken: { id: 27978, description: 'test' },
      ...this.#providerFields(file, objectKey, stage),
    };
    await this.tamper?.(answer, stage, file);
    return answer;
  }

  #providerFields(file: FileRecord, objectKey: string, stage: 'prepare' | 'detail'): Answer {
    const expiration = new Date(Date.now() + 12 * HOUR_MS).toISOString();
    const store = this.store;
    if (store.kind === 'aws') {
      const credentials = { AccessKeyId: file.user!.accessKeyId, SecretAccessKey: file.user!.secretAccessKey, SessionToken: '', Expiration: expiration };
      const url = `${store.endpoint}/${this.bucket}/${objectKey}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=not-used-by-the-client`;
      return stage === 'prepare'
        ? { url, uploadParams: { key: file.key, bucket: this.bucket, acl: 'private', 'x-amz-server-side-encryption': 'AES256', credentials } }
        : { url, s3Path: { bucket: this.bucket, key: file.key }, credentials };
    }
    if (store.kind === 'azure') {
      const permissions = stage === 'prepare' ? 'rcwl' : 'rl';
      const connection = store.sasConnectionString(this.bucket, { permissions });
      const url = `${store.accountUrl}/${this.bucket}/${objectKey}?${connection.split('SharedAccessSignature=')[1]}`;
      const absCredentials = { SASConnectionString: connection, expiration };
      return stage === 'prepare'
        ? { url, absUploadParams: { blobName: file.key, accountName: store.accountName, container: this.bucket, absCredentials } }
        : { url, absPath: { container: this.bucket, name: file.key }, absCredentials };
    }
    const url = `${store.endpoint}/${this.bucket}/${objectKey}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature=not-checked-by-fake-gcs-server`;
    const token = { access_token: GCS_TOKEN, expires_in: 3599, token_type: 'Bearer' };
    return stage === 'prepare'
      ? { url, gcsUploadParams: { projectId: 'test', bucket: this.bucket, key: file.key, ...token } }
      : { url, gcsCredentials: { ...token, projectId: 'test' }, gcsPath: { bucket: this.bucket, key: file.key } };
  }
}

function s3Admin(store: S3Server): S3Client {
  return new S3Client({ endpoint: store.endpoint, region: store.region, forcePathStyle: true, credentials: store.rootCredentials, maxAttempts: 1 });
}

function azureAdmin(store: AzureServer): BlobServiceClient {
  return new BlobServiceClient(store.accountUrl, new StorageSharedKeyCredential(store.accountName, store.accountKey));
}

/** The endpoint setting a worker needs for this store (docs/object-stores.md); Azure's is in its connection strings. */
export function workerEnv(store: ObjectStoreServer): Record<string, string> {
  return store.kind === 'azure' ? {} : (store as S3Server | GcsServer).env;
}

/**
 * An HTTP proxy in front of an object store that forwards everything as is (the Host header too, which S3
 * signatures cover) and, when asked, cuts one download short: the answer's headers (its Content-Length too),
 * then only the first bytes, then the end of the connection.
 */
export class CuttingProxy {
  url = '';
  #cut: { path: RegExp; afterBytes: number } | undefined;
  readonly #server: http.Server;

  constructor(private readonly target: string) {
    this.#server = http.createServer((req, res) => this.#forward(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The next GET whose path matches `path` ends after `afterBytes` bytes of its body. */
  cutNextDownload(path: RegExp, afterBytes: number): void {
    this.#cut = { path, afterBytes };
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = new URL(this.target);
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const cut = this.#cut;
      if (!cut || req.method !== 'GET' || answer.statusCode !== 200 || !cut.path.test(decodeURIComponent(req.url ?? ''))) return void answer.pipe(res);
      this.#cut = undefined;
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent >= cut.afterBytes) return;
        const part = chunk.subarray(0, cut.afterBytes - sent);
        sent += part.length;
        res.write(part);
        if (sent >= cut.afterBytes) {
          answer.destroy();
          res.socket?.end();
        }
      });
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  }
}
