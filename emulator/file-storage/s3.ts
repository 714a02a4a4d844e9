/**
 * The `aws` file storage: the stack's files in a bucket of a Versity S3 Gateway (docs/object-stores.md), answered as
 * an AWS stack answers them (docs/CONTRACTS.md#aws): `uploadParams` with temporary credentials on prepare,
 * `s3Path` + `credentials` on a detail with `federationToken=1`, a presigned `url`, manifests of `s3://` entries.
 *
 * The bucket is in the gateway's one region (us-east-1), which the answers' `region` names even for a stack of
 * another region: a real EU stack's bucket is in eu-central-1, and S3 refuses a signature for another region.
 *
 * The temporary credentials are a user of the gateway's own IAM per file, allowed only the file's objects (the
 * gateway refuses every session token, so `SessionToken` is empty); revoked when the file is deleted, and replaced
 * once they near their `Expiration`. Each such user is a statement of the bucket's policy, rewritten whole at every
 * change, so with thousands of files the gateway's IAM outweighs everything else: a benchmark's stacks use
 * `per-stack` credentials, one user for the whole bucket.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Server } from '../../scripts/object-stores';
import type { StackHost } from '../host';
import type { FileRecord } from '../state';
import type { AnswerStage, FileStorage } from './storage';

/** How long a file's credentials live (Keboola's federation tokens: hours), and when they are replaced before that. */
const CREDENTIALS_TTL_MS = 12 * 3600_000;
const RENEW_BEFORE_MS = 10 * 60_000;
const URL_TTL_S = 3600;

/** Whom a file's credentials let in: that file's objects only (as Keboola's), or the stack's whole bucket. */
export type S3CredentialScope = 'per-file' | 'per-stack';

type S3User = NonNullable<FileRecord['s3User']>;

export class S3FileStorage implements FileStorage {
  readonly provider = 'aws';
  readonly bucket: string;
  private readonly s3: S3Client;
  /** `per-stack`: the one user every file answer names, replaced once it nears its expiration. */
  private stackUser?: Promise<S3User>;

  private constructor(
    private readonly host: StackHost,
    private readonly server: S3Server,
    private readonly owned: boolean,
    private readonly scope: S3CredentialScope,
  ) {
    // one bucket per stack, named after the stack's own secret so that stacks sharing one gateway never meet
    this.bucket = `kbc-${host.stack.region}-files-${host.hmac('files-bucket').slice(0, 10)}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    this.s3 = new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: server.rootCredentials, maxAttempts: 3 });
  }

  /** Opens the stack's bucket on `server` (creating it on the first start); `owned`: close() stops the server. */
  static async open(host: StackHost, server: S3Server, owned: boolean, scope: S3CredentialScope = 'per-file'): Promise<S3FileStorage> {
    const storage = new S3FileStorage(host, server, owned, scope);
    try {
      await storage.s3.send(new HeadBucketCommand({ Bucket: storage.bucket }));
    } catch {
      await server.createBucket(storage.bucket);
    }
    return storage;
  }

  get workerEnv(): Record<string, string> {
    return this.server.env;
  }

  async answer(file: FileRecord, stage: AnswerStage): Promise<Record<string, unknown>> {
    const objectKey = file.isSliced ? `${file.key}manifest` : file.key;
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }), { expiresIn: URL_TTL_S });
    // The gateway knows one region, whatever the stack's: S3 signatures name it, so the answer says where the bucket is.
    const region = this.server.region;
    if (stage === 'list') return { url, region };
    const user = await this.userOf(file);
    const credentials = { AccessKeyId: user.accessKeyId, SecretAccessKey: user.secretAccessKey, SessionToken: '', Expiration: user.expiration };
    if (stage === 'upload') {
      return { url, region, uploadParams: { key: file.key, bucket: this.bucket, acl: 'private', 'x-amz-server-side-encryption': 'AES256', credentials } };
    }
    return { url, region, s3Path: { bucket: this.bucket, key: file.key }, credentials };
  }

  entryUrl(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  keyOfEntry(url: string): string | undefined {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
    return match && match[1] === this.bucket ? match[2] : undefined;
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))).ContentLength;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async fetch(key: string, staging: string): Promise<string | undefined> {
    let body: Readable;
    try {
      body = (await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))).Body as Readable;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    await mkdir(staging, { recursive: true });
    const path = join(staging, `${process.hrtime.bigint()}-${key.split('/').pop()}`);
    await pipeline(body, createWriteStream(path));
    return path;
  }

  async put(key: string, path: string): Promise<void> {
    const { size } = await stat(path);
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: createReadStream(path), ContentLength: size }));
    await rm(path, { force: true });
  }

  async forget(file: FileRecord): Promise<void> {
    if (!file.s3User || this.scope === 'per-stack') return;
    await this.server.deleteFileUser(this.bucket, file.s3User.accessKeyId);
    delete file.s3User;
  }

  async close(): Promise<void> {
    this.s3.destroy();
    if (this.owned) await this.server.stop();
  }

  /** The file's user, created on first use and replaced when its credentials near their expiration. */
  private userOf(file: FileRecord): Promise<S3User> {
    if (this.scope === 'per-stack') return this.userOfStack();
    return this.host.withLock(`s3-user:${file.id}`, async () => {
      const current = file.s3User;
      if (current && Date.parse(current.expiration) - Date.now() > RENEW_BEFORE_MS) return current;
      if (current) await this.forget(file);
      const user = await this.server.createFileUser(this.bucket, file.key);
      file.s3User = { ...user, expiration: new Date(Date.now() + CREDENTIALS_TTL_MS).toISOString() };
      this.host.changed();
      return file.s3User;
    });
  }

  private userOfStack(): Promise<S3User> {
    const kept = this.stackUser;
    this.stackUser = (async () => {
      const current = await kept?.catch(() => undefined);
      if (current && Date.parse(current.expiration) - Date.now() > RENEW_BEFORE_MS) return current;
      const user = await this.server.createFileUser(this.bucket, '');
      return { ...user, expiration: new Date(Date.now() + CREDENTIALS_TTL_MS).toISOString() };
    })();
    return this.stackUser;
  }
}

function isMissing(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
