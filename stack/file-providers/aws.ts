/**
 * The AWS file provider (docs/CONTRACTS.md#aws): objects are written with the temporary credentials of
 * `uploadParams` (streamed multipart uploads of @aws-sdk/lib-storage), manifests name them `s3://{bucket}/{key}`,
 * and the objects of a file detail are read through `s3Path` with its `credentials`.
 *
 * The S3 endpoint is the SDK's own: the region's AWS endpoint, or the one the worker's standard AWS setting
 * `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) names, for an emulated stack (docs/object-stores.md); with such an
 * endpoint, buckets are addressed by path. The client never retries (Temporal does): one attempt per request.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, S3Client, type ServerSideEncryption } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StackError, networkFailure, parseRetryAfter, problemForStatus, type ObjectStoreFailure } from '../errors';
import { toReadable } from '../object-store';
import { AwsDownloadAnswerSchema, AwsUploadAnswerSchema } from '../schemas';
import { transferOf, type FileBody, type FileProvider, type ProviderContext, type ReceivedFile } from './provider';

/** Region of a file answer that does not name one (the blueprint's examples are all us-east-1). */
const DEFAULT_REGION = 'us-east-1';
/** Parts of a multipart upload: 8 MiB (objects up to 78 GiB in S3's 10 000 parts), two in flight, so ≤ 16 MiB buffered. */
const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

/** S3 error codes that mean the file's credentials were refused (expired, wrong, or not for this object). */
const CREDENTIAL_CODES = new Set([
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'AllAccessDisabled',
  'RequestExpired',
]);
const THROTTLING_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'ServiceUnavailable']);

interface AwsCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
}

/** How long a client no transfer uses is kept for the next one with the same credentials. */
const IDLE_CLIENT_MS = 5_000;

/**
 * S3 clients by credentials, shared by the transfers that hold them: a file's slices and manifest use one client
 * instead of one each (building a client resolves its whole configuration, an eighth of the worker's CPU at 1,000
 * tables). A client no transfer holds is destroyed, with its sockets, after IDLE_CLIENT_MS.
 */
class SharedS3Clients {
  readonly #entries = new Map<string, { client: S3Client; holders: number; idle?: NodeJS.Timeout }>();

  hold(key: string, create: () => S3Client): { client: S3Client; release: () => void } {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { client: create(), holders: 0 };
      this.#entries.set(key, entry);
    }
    clearTimeout(entry.idle);
    entry.holders++;
    const held = entry;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--held.holders > 0) return;
      held.idle = setTimeout(() => {
        // a new holder clears this timer, so none holds the client now
        this.#entries.delete(key);
        held.client.destroy();
      }, IDLE_CLIENT_MS);
      held.idle.unref();
    };
    return { client: held.client, release };
  }
}

export class AwsFileProvider implements FileProvider {
  readonly name = 'aws';
  readonly #clients = new SharedS3Clients();

  constructor(private readonly context: ProviderContext) {}

  downloadExpiresAt(detail: ReceivedFile): number {
    const parsed = AwsDownloadAnswerSchema.safeParse(detail.answer);
    if (!parsed.success) return detail.receivedAt;
    const expiration = Date.parse(parsed.data.credentials.Expiration ?? '');
    return Number.isNaN(expiration) ? Number.POSITIVE_INFINITY : expiration;
  }

  async upload(prepared: ReceivedFile, suffix: string, body: FileBody, contentType: string): Promise<string> {
    const { uploadParams: params, region } = this.context.validate(AwsUploadAnswerSchema, prepared.answer, prepared.endpoint);
    const key = `${params.key}${suffix}`;
    const transfer = transferOf(prepared, this.name, `PUT s3://${params.bucket}/${key}`);
    const { client, release } = this.#client(region, params.credentials);
    const source = Buffer.isBuffer(body) ? body : toReadable(body());
    try {
      await this.context.store.run(
        transfer,
        () =>
          new Upload({
            client,
            params: {
              Bucket: params.bucket,
              Key: key,
              Body: source,
              ContentType: contentType,
              ...(params['x-amz-server-side-encryption'] ? { ServerSideEncryption: params['x-amz-server-side-encryption'] as ServerSideEncryption } : {}),
            },
            partSize: PART_SIZE,
            queueSize: PARTS_IN_FLIGHT,
            leavePartsOnError: false,
          }).done(),
        (error) => s3Failure(error, 'no-bucket'),
      );
    } finally {
      if (!Buffer.isBuffer(source) && !source.destroyed && !source.readableEnded) source.destroy();
      release();
    }
    return `s3://${params.bucket}/${key}`;
  }

  fileUrl(detail: ReceivedFile): string {
    const { s3Path } = this.#detail(detail);
    return `s3://${s3Path.bucket}/${s3Path.key}`;
  }

  /** A sliced file's `s3Path.key` is the prefix of its objects; the manifest is `{key}manifest` (docs/CONTRACTS.md#aws). */
  manifestUrl(detail: ReceivedFile): string {
    return `${this.fileUrl(detail)}manifest`;
  }

  async openRead(detail: ReceivedFile, url: string): Promise<Readable> {
    const { credentials, region } = this.#detail(detail);
    const { bucket, key } = this.#parse(detail, url);
    const transfer = transferOf(detail, this.name, `GET s3://${bucket}/${key}`);
    const { client, release } = this.#client(region, credentials);
    try {
      const object = await this.context.store.run(transfer, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })), (error) => s3Failure(error, 'no-object'));
      return this.context.store.checked(transfer, { body: object.Body as Readable, bytes: object.ContentLength, close: release });
    } catch (error) {
      release();
      throw error;
    }
  }

  #detail(detail: ReceivedFile) {
    return this.context.validate(AwsDownloadAnswerSchema, detail.answer, detail.endpoint);
  }

  /** `s3://{bucket}/{key}`: a manifest entry, fileUrl() or manifestUrl(). */
  #parse(detail: ReceivedFile, url: string): { bucket: string; key: string } {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
    if (match) return { bucket: match[1], key: match[2] };
    throw new StackError({
      kind: 'unexpected-response',
      endpoint: `GET ${url.split('?')[0]}`,
      message: `"${url.split('?')[0]}" is not an s3:// URL of an object, so file ${detail.answer.id} (aws) on ${this.context.stackUrl} cannot be read from it: read the URLs that files.sliceUrls() answers (a manifest with other entries is damaged; export the file again)`,
    });
  }

  /** The client of the file's own credentials, held until `release` (SharedS3Clients). */
  #client(region: string | undefined, credentials: AwsCredentials): { client: S3Client; release: () => void } {
    const key = [region, credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken].join('\n');
    return this.#clients.hold(key, () => this.#newClient(region, credentials));
  }

  #newClient(region: string | undefined, credentials: AwsCredentials): S3Client {
    return new S3Client({
      region: region || DEFAULT_REGION,
      credentials: {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        // An emulated stack's per-file user has no session (docs/object-stores.md): an empty token is none.
        ...(credentials.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
      },
      forcePathStyle: configuredEndpoint() !== undefined,
      maxAttempts: 1,
      // Bound connecting and a stalled socket, not the transfer, which may take hours.
      requestHandler: { connectionTimeout: this.context.store.timeoutMs, socketTimeout: this.context.store.timeoutMs },
    });
  }
}

/** The endpoint the AWS SDK reads from the environment for S3 (it reads it itself; this only decides path-style addressing). */
function configuredEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true') return undefined;
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/** An S3 SDK error → the object-store problem; `notFound` is what a bare 404 means for this operation. */
function s3Failure(error: unknown, notFound: 'no-bucket' | 'no-object'): ObjectStoreFailure {
  const network = networkFailure(error);
  if (network) return network;
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
  const code = e.Code ?? e.name;
  const status = e.$metadata?.httpStatusCode;
  const retryAfterSeconds = parseRetryAfter(e.$response?.headers?.['retry-after']);
  const facts = { ...(status !== undefined ? { status } : {}), ...(code ? { code } : {}), ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  if (code && CREDENTIAL_CODES.has(code)) return { problem: 'credentials', ...facts };
  if (code === 'NoSuchBucket') return { problem: 'no-bucket', ...facts };
  if (code === 'NoSuchKey') return { problem: 'no-object', ...facts };
  if (code && THROTTLING_CODES.has(code)) return { problem: 'throttled', ...facts };
  if (status === 404) return { problem: notFound, ...facts };
  if (status !== undefined) return { problem: problemForStatus(status), ...facts };
  // Not an answer of the store and not a known network failure: retryable, as every unclassified error (docs/domain.md).
  return { problem: 'server', ...facts };
}
