// Where snapshots live: a local folder, or a prefix in an object store (S3, Azure Blob Storage, GCS), so that
// workers on several machines can share one migration. Every file of the layout (snapshot/layout.ts) is read and
// written through a SnapshotStore; table data streams through it, never whole on local disk or in memory.
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline as streamPipeline, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface SnapshotStore {
  /** As an operator writes it: `/srv/snapshots/x`, `s3://bucket/prefix`, `azure://account/container/prefix`, `gs://bucket/prefix`. */
  readonly location: string;
  /** The store of a folder inside this one (a snapshot under the root). */
  child(name: string): SnapshotStore;
  /** A file's text, or undefined when there is no such file. */
  readText(key: string): Promise<string | undefined>;
  /** Writes a whole file: a reader sees the old content or the new one, never half of it. */
  writeText(key: string, text: string): Promise<void>;
  /** Streams `body` into a file and answers its size; a write that fails leaves no file behind. */
  write(key: string, body: Readable): Promise<number>;
  openRead(key: string): Readable;
  /** A file's size in bytes, or undefined when there is no such file. */
  size(key: string): Promise<number | undefined>;
  /** The names directly inside a folder (files and folders), sorted; none when the folder does not exist. */
  list(folder: string): Promise<string[]>;
  /** Where a file is, for messages. */
  describe(key: string): string;
}

/**
 * `body` passed through a byte counter, so a streamed write can answer its size. An error of `body` reaches the
 * counted stream (a plain `pipe` would drop it and leave an SDK upload waiting for ever).
 */
export function counted(body: Readable): Transform & { bytes: number } {
  const counter = byteCounter();
  streamPipeline(body, counter, () => undefined);
  return counter;
}

function byteCounter(): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}

/** The answer of `work`, or undefined when it failed because the object does not exist (by `isMissing`). */
export async function unlessMissing<T>(work: Promise<T>, isMissing: (error: unknown) => boolean): Promise<T | undefined> {
  try {
    return await work;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Joins a key under a prefix of an object store (`prefix/key`, without doubled slashes). */
export function joinKey(prefix: string, key: string): string {
  return [prefix, key].filter(Boolean).join('/').replace(/\/{2,}/g, '/');
}

export class LocalSnapshotStore implements SnapshotStore {
  constructor(readonly location: string) {}

  child(name: string): SnapshotStore {
    return new LocalSnapshotStore(path.join(this.location, name));
  }

  async readText(key: string): Promise<string | undefined> {
    return fs.readFile(this.#path(key), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  }

  async writeText(key: string, text: string): Promise<void> {
    const file = this.#path(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(temp, text);
    await fs.rename(temp, file);
  }

  async write(key: string, body: Readable): Promise<number> {
    const file = this.#path(key);
    // Read from the body before anything is awaited: a body that fails meanwhile (a download refused at once)
    // would otherwise emit its error with no listener, which ends the whole worker process.
    const counter = counted(body);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const temp = `${file}.partial`;
    try {
      await pipeline(counter, createWriteStream(temp));
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await fs.rename(temp, file);
    return counter.bytes;
  }

  openRead(key: string): Readable {
    return createReadStream(this.#path(key));
  }

  async size(key: string): Promise<number | undefined> {
    return fs.stat(this.#path(key)).then(
      (stat) => stat.size,
      () => undefined,
    );
  }

  /** The files of a folder, without the writes in progress (or left by a crash) of write() and writeStream(). */
  async list(folder: string): Promise<string[]> {
    const names = await fs.readdir(this.#path(folder)).catch(() => [] as string[]);
    return names.filter((name) => !name.endsWith('.partial') && !name.endsWith('.tmp')).sort();
  }

  describe(key: string): string {
    return this.#path(key);
  }

  #path(key: string): string {
    return path.join(this.location, key);
  }
}
