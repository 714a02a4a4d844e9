/**
 * CSV of the emulator, through csv-parse and csv-stringify: reading uploaded files (plain or gzipped) and table
 * data record by record (never a whole file in memory), and writing with back-pressure.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline as pipe, type Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { parse, type Options as ParseOptions } from 'csv-parse';
import type { Options as StringifyOptions } from 'csv-stringify';
import { stringify } from 'csv-stringify/sync';

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

/**
 * The byte offset after the first `count` records from byte `start` of a file in the emulator's own dialect
 * (CSV_WRITE_OPTIONS: every value quoted, quotes doubled, LF line ends). There a record ends at every LF after an
 * even number of quotes, so cutting such a file needs no parser.
 */
export async function offsetAfterRecords(path: string, start: number, count: number): Promise<number> {
  let offset = start;
  let quotes = 0;
  let records = 0;
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x22) quotes++;
      else if (chunk[i] === 0x0a && quotes % 2 === 0 && ++records === count) return offset + i + 1;
    }
    offset += chunk.length;
  }
  return offset;
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

/**
 * Writes records as CSV into a file, gzipped or not, a batch at a time (one stream write per record would make
 * gzip and the file slow); `close()` resolves when the file is complete.
 */
export class CsvFileWriter {
  private readonly out: Writable;
  private readonly done: Promise<void>;
  private csvBytes = 0;

  constructor(path: string, options: { gzip?: boolean } = {}) {
    const file = createWriteStream(path);
    if (options.gzip) {
      const gzip = createGzip();
      this.out = gzip;
      this.done = pipeline(gzip, file);
    } else {
      this.out = file;
      this.done = finished(file);
    }
    this.done.catch(() => undefined); // reported by write() and close()
  }

  /** Bytes of CSV written (before compression). */
  get bytes(): number {
    return this.csvBytes;
  }

  async write(records: readonly (readonly string[])[]): Promise<void> {
    if (!records.length) return;
    const text = stringify(records as string[][], CSV_WRITE_OPTIONS);
    this.csvBytes += Buffer.byteLength(text);
    if (!this.out.write(text)) await Promise.race([once(this.out, 'drain'), this.done]);
  }

  async close(): Promise<void> {
    this.out.end();
    await this.done;
  }
}
