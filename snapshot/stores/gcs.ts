// Snapshots under `gs://bucket/prefix`, through the Google Cloud Storage SDK with the worker's standard
// environment (GOOGLE_APPLICATION_CREDENTIALS, and STORAGE_EMULATOR_HOST for a local server such as
// fake-gcs-server). Data streams in uploads of one request.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as GoogleCloudStorage from '@google-cloud/storage';
import type { Bucket } from '@google-cloud/storage';
import { counted, joinKey, unlessMissing, type SnapshotStore } from '../store';

/** The Google Cloud Storage SDK, loaded for the first gs:// store: a worker that never opens one never holds it (about 10 MB of RSS). */
function googleCloudStorage(): typeof GoogleCloudStorage {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, on purpose
  return require('@google-cloud/storage') as typeof GoogleCloudStorage;
}

export function gcsBucket(env: NodeJS.ProcessEnv, bucket: string): Bucket {
  const emulator = env.STORAGE_EMULATOR_HOST;
  return new (googleCloudStorage().Storage)({
    ...(env.GOOGLE_CLOUD_PROJECT ? { projectId: env.GOOGLE_CLOUD_PROJECT } : {}),
    ...(emulator ? { apiEndpoint: emulator.startsWith('http') ? emulator : `http://${emulator}`, projectId: env.GOOGLE_CLOUD_PROJECT ?? 'stack-migrate' } : {}),
  }).bucket(bucket);
}

const isMissing = (error: unknown) => (error as { code?: number }).code === 404;

export class GcsSnapshotStore implements SnapshotStore {
  readonly location: string;

  constructor(
    private readonly bucket: Bucket,
    private readonly prefix: string,
  ) {
    this.location = `gs://${bucket.name}${prefix ? `/${prefix}` : ''}`;
  }

  child(name: string): SnapshotStore {
    return new GcsSnapshotStore(this.bucket, joinKey(this.prefix, name));
  }

  async readText(key: string): Promise<string | undefined> {
    return (await unlessMissing(this.#file(key).download(), isMissing))?.[0].toString('utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    await this.#file(key).save(text, { resumable: false, contentType: 'application/json' });
  }

  async write(key: string, body: Readable): Promise<number> {
    const counter = counted(body);
    // An upload of one request creates the object only when it completes.
    await pipeline(counter, this.#file(key).createWriteStream({ resumable: false }));
    return counter.bytes;
  }

  openRead(key: string): Readable {
    return this.#file(key).createReadStream();
  }

  async size(key: string): Promise<number | undefined> {
    const metadata = await unlessMissing(this.#file(key).getMetadata(), isMissing);
    return metadata ? Number(metadata[0].size) : undefined;
  }

  async list(folder: string): Promise<string[]> {
    const prefix = `${joinKey(this.prefix, folder)}/`.replace(/^\//, '');
    const [files, , response] = await this.bucket.getFiles({ prefix, delimiter: '/', autoPaginate: false, maxResults: 100_000 });
    const folders = ((response as { prefixes?: string[] } | undefined)?.prefixes ?? []).map((p) => p.slice(prefix.length).replace(/\/$/, ''));
    return [...new Set([...files.map((f) => f.name.slice(prefix.length)), ...folders])].filter(Boolean).sort();
  }

  describe(key: string): string {
    return `gs://${this.bucket.name}/${joinKey(this.prefix, key)}`;
  }

  #file(key: string) {
    return this.bucket.file(joinKey(this.prefix, key));
  }
}
