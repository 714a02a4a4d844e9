/**
 * Streaming RFC 4180 CSV: a push parser that never needs the whole file, a formatter, and a
 * back-pressure aware writer. Table data of the emulator lives on disk as header-less CSV.
 */
import { createReadStream, createWriteStream, WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';

export class CsvParser {
  private field = '';
  private record: string[] = [];
  private inQuotes = false;
  private afterQuote = false;
  private fieldStarted = false;
  private lastWasCR = false;
  private first = true;

  /** Parses a chunk of text, pushing complete records to `out`. */
  feed(chunk: string, out: string[][]): void {
    if (this.first && chunk.length > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.inQuotes) {
        const q = chunk.indexOf('"', i);
        if (q === -1) {
          this.field += chunk.slice(i);
          return;
        }
        this.field += chunk.slice(i, q);
        i = q + 1;
        this.inQuotes = false;
        this.afterQuote = true;
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (this.afterQuote) {
        this.afterQuote = false;
        if (c === 34) {
          this.field += '"';
          this.inQuotes = true;
          i++;
          continue;
        }
      }
      if (this.lastWasCR) {
        this.lastWasCR = false;
        if (c === 10) {
          i++;
          continue;
        }
      }
      if (c === 44) {
        this.record.push(this.field);
        this.field = '';
        this.fieldStarted = false;
        i++;
      } else if (c === 10 || c === 13) {
        this.finishRecord(out);
        this.lastWasCR = c === 13;
        i++;
      } else if (c === 34 && !this.fieldStarted) {
        this.inQuotes = true;
        this.fieldStarted = true;
        i++;
      } else {
        let j = i + 1;
        while (j < n) {
          const d = chunk.charCodeAt(j);
          if (d === 44 || d === 10 || d === 13) break;
          j++;
        }
        this.field += chunk.slice(i, j);
        this.fieldStarted = true;
        i = j;
      }
    }
  }

  end(out: string[][]): void {
    if (this.inQuotes) throw new Error('CSV ends inside a quoted field');
    this.finishRecord(out);
  }

  /** Emits the record being read, unless the line was empty, and starts a new one. */
  private finishRecord(out: string[][]): void {
    if (this.record.length > 0 || this.field !== '' || this.fieldStarted) {
      this.record.push(this.field);
      out.push(this.record);
    }
    this.record = [];
    this.field = '';
    this.fieldStarted = false;
  }
}

/** Parses a text stream into batches of records (one batch per chunk; never the whole file). */
export async function* parseCsvStream(stream: AsyncIterable<string | Buffer>): AsyncGenerator<string[][]> {
  const parser = new CsvParser();
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const out: string[][] = [];
    parser.feed(text, out);
    if (out.length) yield out;
  }
  const out: string[][] = [];
  const tail = decoder.decode();
  if (tail) parser.feed(tail, out);
  parser.end(out);
  if (out.length) yield out;
}

export function csvLine(values: readonly string[]): string {
  let s = '';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? '';
    s += (i ? ',"' : '"') + (v.includes('"') ? v.replace(/"/g, '""') : v) + '"';
  }
  return s + '\n';
}

/** Buffers text and writes it with back-pressure. */
export class BufferedWriter {
  private buf: string[] = [];
  private size = 0;
  bytes = 0;
  constructor(private readonly target: Writable) {}

  async write(text: string): Promise<void> {
    this.buf.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.buf.length) return;
    const data = Buffer.from(this.buf.join(''), 'utf8');
    this.buf = [];
    this.size = 0;
    this.bytes += data.length;
    if (!this.target.write(data)) await once(this.target, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    const done = once(this.target, this.target instanceof WriteStream ? 'close' : 'finish');
    this.target.end();
    await done;
  }
}

export function fileWriter(path: string): BufferedWriter {
  return new BufferedWriter(createWriteStream(path));
}

/** A gzip stream into a file; resolves close() when the file is fully written. */
export class GzipFileWriter {
  private readonly gzip: Gzip;
  private readonly file: WriteStream;
  private readonly writer: BufferedWriter;
  private readonly finished: Promise<unknown>;
  constructor(path: string) {
    this.gzip = createGzip();
    this.file = createWriteStream(path);
    this.gzip.pipe(this.file);
    this.finished = once(this.file, 'close');
    this.writer = new BufferedWriter(this.gzip);
  }
  get uncompressedBytes(): number {
    return this.writer.bytes;
  }
  write(text: string): Promise<void> {
    return this.writer.write(text);
  }
  async close(): Promise<void> {
    await this.writer.flush();
    this.gzip.end();
    await this.finished;
  }
}

/** Opens a file for reading, transparently gunzipping it when it starts with the gzip magic bytes. */
export async function openMaybeGzip(path: string): Promise<Readable> {
  const fh = await open(path, 'r');
  const head = Buffer.alloc(2);
  let read = 0;
  try {
    read = (await fh.read(head, 0, 2, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (read === 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    return raw.pipe(gunzip);
  }
  return raw;
}

/** Records of several files in sequence (slices of one logical file). */
export async function* readCsvFiles(paths: readonly string[]): AsyncGenerator<string[][]> {
  for (const path of paths) {
    const stream = await openMaybeGzip(path);
    yield* parseCsvStream(stream);
  }
}
