// Snapshots under `s3://bucket/prefix`, through the AWS SDK with the worker's standard AWS environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, and AWS_ENDPOINT_URL_S3 for an
// S3-compatible server such as the Versity gateway the tests start). Data streams in multipart uploads.
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { counted, joinKey, unlessMissing, type SnapshotStore } from '../store';

export function s3ClientFromEnv(env: NodeJS.ProcessEnv): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN } }
      : {}),
  });
}

const isMissing = (error: unknown) => ['NoSuchKey', 'NotFound'].includes((error as { name?: string }).name ?? '') || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

export class S3SnapshotStore implements SnapshotStore {
  readonly location: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {
    this.location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  }

  child(name: string): SnapshotStore {
    return new S3SnapshotStore(this.client, this.bucket, joinKey(this.prefix, name));
  }

  async readText(key: string): Promise<string | undefined> {
    const answer = await unlessMissing(this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: joinKey(this.prefix, key) })), isMissing);
    return answer?.Body?.transformToString('utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    // One PUT: S3 shows a reader the old object or the new one, never half.
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: joinKey(this.prefix, key), Body: text, ContentType: 'application/json' }));
  }

  async write(key: string, body: Readable): Promise<number> {
    const counter = counted(body);
    const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: joinKey(this.prefix, key), Body: counter } });
    await upload.done(); // a failed multipart upload is aborted by lib-storage: no object appears
    return counter.bytes;
  }

  openRead(key: string): Readable {
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.bucket, Key: joinKey(this.prefix, key) }))
      .then((answer) => pipeline(answer.Body as Readable, out))
      .catch((error: Error) => out.destroy(error));
    return out;
  }

  async size(key: string): Promise<number | undefined> {
    return (await unlessMissing(this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: joinKey(this.prefix, key) })), isMissing))?.ContentLength;
  }

  async list(folder: string): Promise<string[]> {
    const prefix = `${joinKey(this.prefix, folder)}/`.replace(/^\//, '');
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) names.add(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
      for (const o of page.Contents ?? []) if (o.Key) names.add(o.Key.slice(prefix.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return [...names].filter(Boolean).sort();
  }

  describe(key: string): string {
    return `s3://${this.bucket}/${joinKey(this.prefix, key)}`;
  }
}
