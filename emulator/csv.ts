/**
 * CSV of the emulator, through csv-parse and csv-stringify: reading uploaded files (plain or gzipped) and table
 * data record by record (never a whole file in memory), and writing with back-pressure.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline as pipe, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { parse, type Options as ParseOptions } from 'csv-parse';
import { stringify, type Options as StringifyOptions } from 'csv-stringify';

/**
 * RFC 4180, read as forgivingly as the Storage API imports: a BOM, LF, CRLF or CR line ends (mixed), blank lines,
 * quotes inside unquoted values and rows of other lengths (the importer reports those with the row number).
 */
export const CSV_READ_OPTIONS: ParseOptions = {
  bom: true,
  record_delimiter: ['\r\n', '\n', '\r'],
  skip_empty_lines: true,
  relax_quotes: true,
  relax_column_count: true,
};

/** What Keboola exports: every value quoted, `""` inside, LF line ends. */
export const CSV_WRITE_OPTIONS: StringifyOptions = { quoted: true, quoted_empty: true, record_delimiter: 'unix', eof: true };

const BATCH_ROWS = 1000;

/** The records of a CSV byte stream, in batches. */
export async function* csvBatches(input: Readable): AsyncGenerator<string[][]> {
  const parser = parse(CSV_READ_OPTIONS);
  pipe(input, parser, () => undefined); // an error of either ends the loop below; leaving it early closes both
  let batch: string[][] = [];
  for await (const record of parser) {
    batch.push(record as string[]);
    if (batch.length >= BATCH_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** Opens a file for reading, gunzipping it when it starts with the gzip magic bytes. */
async function openMaybeGzip(path: string): Promise<Readable> {
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
  for (const path of paths) yield* csvBatches(await openMaybeGzip(path));
}

/** Writes records as CSV into a file, gzipped or not; `close()` resolves when the file is complete. */
export class CsvFileWriter {
  private readonly csv = stringify(CSV_WRITE_OPTIONS);
  private readonly done: Promise<void>;
  private csvBytes = 0;

  constructor(path: string, options: { gzip?: boolean } = {}) {
    const count = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        this.csvBytes += chunk.length;
        callback(null, chunk);
      },
    });
    const file = createWriteStream(path);
    this.done = options.gzip ? pipeline(this.csv, count, createGzip(), file) : pipeline(this.csv, count, file);
    this.done.catch(() => undefined); // reported by close()
  }

  /** Bytes of CSV written (before compression). */
  get bytes(): number {
    return this.csvBytes;
  }

  async write(record: readonly string[]): Promise<void> {
    if (!this.csv.write(record)) await Promise.race([once(this.csv, 'drain'), this.done]);
  }

  async close(): Promise<void> {
    this.csv.end();
    await this.done;
  }
}
