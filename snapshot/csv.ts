// Streaming RFC 4180 CSV row parser: quoted fields, doubled quotes, CR/LF and newlines inside quotes.
// Rows are emitted one at a time, so a table of any size is read in constant memory.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

export class CsvRowParser {
  private field = '';
  private row: string[] = [];
  private inQuotes = false;
  private quotePending = false; // saw a quote inside a quoted field: either an escaped quote or the field's end
  private fieldStarted = false;

  constructor(private readonly onRow: (row: string[]) => void) {}

  write(chunk: string): void {
    let plainStart = -1;
    const flushPlain = (end: number) => {
      if (plainStart >= 0) {
        this.field += chunk.slice(plainStart, end);
        plainStart = -1;
      }
    };
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk.charCodeAt(i);
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (ch === 34) {
            this.field += '"';
            continue;
          }
          this.inQuotes = false; // the quote closed the field; fall through to handle ch as unquoted
        } else if (ch === 34) {
          flushPlain(i);
          this.quotePending = true;
          continue;
        } else {
          if (plainStart < 0) plainStart = i;
          continue;
        }
      }
      if (ch === 44) {
        flushPlain(i);
        this.endField();
      } else if (ch === 10) {
        flushPlain(i);
        this.endRow();
      } else if (ch === 13) {
        flushPlain(i); // CR of CRLF; a lone CR outside quotes is dropped
      } else if (ch === 34 && !this.fieldStarted && plainStart < 0 && this.field === '') {
        this.inQuotes = true;
        this.fieldStarted = true;
      } else {
        if (plainStart < 0) plainStart = i;
        this.fieldStarted = true;
      }
    }
    flushPlain(chunk.length);
  }

  end(): void {
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) throw new Error('CSV ends inside a quoted field: the file is truncated or malformed');
    if (this.fieldStarted || this.field !== '' || this.row.length > 0) this.endRow();
  }

  private endField(): void {
    this.row.push(this.field);
    this.field = '';
    this.fieldStarted = false;
  }

  private endRow(): void {
    this.endField();
    const row = this.row;
    this.row = [];
    this.onRow(row);
  }
}

/** Formats one row as RFC 4180 CSV (always quoted, like Keboola's exports). */
export function formatCsvRow(row: readonly string[]): string {
  return row.map((value) => `"${value.replace(/"/g, '""')}"`).join(',') + '\n';
}

/**
 * Reads CSV (gzipped or not) to its end, calling `onRow` for each row. `skipHeader` drops the first row
 * (plain Keboola files carry a header; slices do not).
 */
export async function forEachCsvRow(input: NodeJS.ReadableStream, options: { gzipped: boolean; skipHeader: boolean }, onRow: (row: string[]) => void): Promise<void> {
  let skip = options.skipHeader;
  const parser = new CsvRowParser((row) => {
    if (skip) skip = false;
    else onRow(row);
  });
  const decoder = new StringDecoder('utf8');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      try {
        parser.write(decoder.write(chunk));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    final(callback) {
      try {
        parser.write(decoder.end());
        parser.end();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  if (options.gzipped) await pipeline(input, createGunzip(), sink);
  else await pipeline(input, sink);
}
