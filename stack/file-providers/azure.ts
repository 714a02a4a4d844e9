/**
 * The Azure file provider (docs/CONTRACTS.md#azure): objects are written with the SAS connection string of
 * `absUploadParams` (streamed block uploads of @azure/storage-blob), manifests name them
 * `azure://{account}.blob.core.windows.net/{container}/{blob}`, and the objects of a file detail are read through
 * `absPath` with its `absCredentials`.
 *
 * The blob endpoint is the connection string's `BlobEndpoint`, for manifest entries too: an entry names an
 * account and a container, and its blob is read from the container of that name behind the file's own endpoint
 * (Azurite's `http://127.0.0.1:PORT/devstoreaccount1` for an emulated stack, docs/object-stores.md).
 * The client never retries (Temporal does): one try per request, no re-requested download ranges.
 */
import type { Readable } from 'node:stream';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { azureBlob } from '../azure-blob';
import { StackError, networkFailure, parseRetryAfter, problemForStatus, type ObjectStoreFailure } from '../errors';
import { toReadable } from '../object-store';
import { AbsDownloadAnswerSchema, AbsUploadAnswerSchema } from '../schemas';
import { transferOf, type FileBody, type FileProvider, type ProviderContext, type ReceivedFile } from './provider';

/** Blocks of a streamed upload: 8 MiB (blobs up to 390 GiB in Azure's 50 000 blocks), two in flight. */
const BLOCK_SIZE = 8 * 1024 * 1024;
const BLOCKS_IN_FLIGHT = 2;

/** Azure error codes (`x-ms-error-code`) that mean the SAS was refused: expired, wrong, or not for this object. */
const CREDENTIAL_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationSourceIPMismatch',
  'InvalidAuthenticationInfo',
  'NoAuthenticationInformation',
]);

/** `azure://` (Keboola's manifests) or `https://`, `{account}.blob.core.windows.net/{container}/{blob}`. */
const ENTRY_URL = /^(?:azure|https):\/\/([^./]+)\.blob\.core\.windows\.net\/([^/]+)\/(.+)$/;

export class AzureFileProvider implements FileProvider {
  readonly name = 'azure';

  constructor(private readonly context: ProviderContext) {}

  downloadExpiresAt(detail: ReceivedFile): number {
    const parsed = AbsDownloadAnswerSchema.safeParse(detail.answer);
    if (!parsed.success) return detail.receivedAt;
    const expiration = Date.parse(parsed.data.absCredentials.expiration ?? '');
    return Number.isNaN(expiration) ? Number.POSITIVE_INFINITY : expiration;
  }

  async upload(prepared: ReceivedFile, suffix: string, body: FileBody, contentType: string): Promise<string> {
    const { absUploadParams: params } = this.context.validate(AbsUploadAnswerSchema, prepared.answer, prepared.endpoint);
    const blobName = `${params.blobName ?? params.name}${suffix}`;
    const service = this.#service(prepared, params.absCredentials.SASConnectionString);
    const account = params.accountName ?? service.accountName;
    const transfer = transferOf(prepared, this.name, `PUT azure://${account}/${params.container}/${blobName}`);
    const blob = service.getContainerClient(params.container).getBlockBlobClient(blobName);
    const headers = { blobHTTPHeaders: { blobContentType: contentType } };
    const source = Buffer.isBuffer(body) ? body : toReadable(body());
    try {
      await this.context.store.run(
        transfer,
        () => (Buffer.isBuffer(source) ? blob.uploadData(source, headers) : blob.uploadStream(source, BLOCK_SIZE, BLOCKS_IN_FLIGHT, headers)),
        (error) => azureFailure(error, 'no-bucket'),
      );
    } finally {
      if (!Buffer.isBuffer(source) && !source.destroyed && !source.readableEnded) source.destroy();
    }
    return `azure://${account}.blob.core.windows.net/${params.container}/${blobName}`;
  }

  fileUrl(detail: ReceivedFile): string {
    const { absPath, absCredentials } = this.#detail(detail);
    const account = this.#service(detail, absCredentials.SASConnectionString).accountName;
    return `azure://${account}.blob.core.windows.net/${absPath.container}/${absPath.name}`;
  }

  /** A sliced file's `absPath.name` is the prefix of its blobs; the manifest is `{name}manifest` (docs/CONTRACTS.md#azure). */
  manifestUrl(detail: ReceivedFile): string {
    return `${this.fileUrl(detail)}manifest`;
  }

  async openRead(detail: ReceivedFile, url: string): Promise<Readable> {
    const { absCredentials } = this.#detail(detail);
    const match = ENTRY_URL.exec(url.split('?')[0]);
    if (!match) {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint: `GET ${url.split('?')[0]}`,
        message: `"${url.split('?')[0]}" is not an azure:// URL of a blob, so file ${detail.answer.id} (azure) on ${this.context.stackUrl} cannot be read from it: read the URLs that files.sliceUrls() answers (a manifest with other entries is damaged; export the file again)`,
      });
    }
    const [, account, container, blobName] = match;
    const transfer = transferOf(detail, this.name, `GET azure://${account}/${container}/${blobName}`);
    const blob = this.#container(detail, absCredentials.SASConnectionString, container).getBlobClient(blobName);
    const download = await this.context.store.run(transfer, () => blob.download(0, undefined, { maxRetryRequests: 0 }), (error) => azureFailure(error, 'no-object'));
    if (!download.readableStreamBody) throw this.context.store.error(transfer, { problem: 'truncated', detail: 'an answer without a body' });
    return this.context.store.checked(transfer, { body: download.readableStreamBody as Readable, bytes: download.contentLength });
  }

  #detail(detail: ReceivedFile) {
    return this.context.validate(AbsDownloadAnswerSchema, detail.answer, detail.endpoint);
  }

  #container(file: ReceivedFile, connectionString: string, container: string): ContainerClient {
    return this.#service(file, connectionString).getContainerClient(container);
  }

  /** The blob service of a SAS connection string; one that the SDK cannot read is an unexpected answer. */
  #service(file: ReceivedFile, connectionString: string): BlobServiceClient {
    try {
      return azureBlob().BlobServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 }, userAgentOptions: { userAgentPrefix: 'stack-migrate' } });
    } catch {
      // The SDK's message may quote the connection string: not repeated here.
      throw new StackError({
        kind: 'unexpected-response',
        endpoint: file.endpoint,
        message: `${this.context.stackUrl} answered ${file.endpoint} with a SASConnectionString of file ${file.answer.id} (azure) that is not a connection string (BlobEndpoint=...;SharedAccessSignature=...): the stack's API differs from the documented one; a retry will not help`,
      });
    }
  }
}

/** An Azure SDK error (RestError) → the object-store problem; `notFound` is what a bare 404 means for this operation. */
function azureFailure(error: unknown, notFound: 'no-bucket' | 'no-object'): ObjectStoreFailure {
  const network = networkFailure(error);
  if (network) return network;
  const e = error as { statusCode?: number; code?: string; response?: { headers?: { get(name: string): string | undefined } } };
  const status = e.statusCode;
  const code = e.code;
  const retryAfterSeconds = parseRetryAfter(e.response?.headers?.get('retry-after'));
  const facts = { ...(status !== undefined ? { status } : {}), ...(code ? { code } : {}), ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  if (code && CREDENTIAL_CODES.has(code)) return { problem: 'credentials', ...facts };
  if (code === 'ContainerNotFound') return { problem: 'no-bucket', ...facts };
  if (code === 'BlobNotFound') return { problem: 'no-object', ...facts };
  if (code === 'ServerBusy') return { problem: 'throttled', ...facts };
  if (code === 'OperationTimedOut') return { problem: 'timeout', ...facts };
  if (status === 404) return { problem: notFound, ...facts };
  if (status !== undefined) return { problem: problemForStatus(status), ...facts };
  return { problem: 'server', ...facts };
}
