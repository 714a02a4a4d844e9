// Order-independent fingerprint of a table's rows: the row count plus the lane-wise sum (mod 2^32) of each
// row's SHA-1. Source and destination stacks may export rows in any order and quote them differently; the
// fingerprint compares parsed values, so it only changes when the data does.
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CsvRowParser } from './csv';
import type { TableFingerprint } from '../workflows/types';

const LANES = 5; // SHA-1 is 160 bits

export class Fingerprinter {
  private readonly lanes = new Uint32Array(LANES);
  rows = 0;

  addRow(row: readonly string[]): void {
    const digest = createHash('sha1').update(JSON.stringify(row)).digest();
    for (let lane = 0; lane < LANES; lane++) this.lanes[lane] = (this.lanes[lane] + digest.readUInt32BE(lane * 4)) >>> 0;
    this.rows++;
  }

  merge(other: Fingerprinter): void {
    for (let lane = 0; lane < LANES; lane++) this.lanes[lane] = (this.lanes[lane] + other.lanes[lane]) >>> 0;
    this.rows += other.rows;
  }

  result(): TableFingerprint {
    return { rows: this.rows, checksum: Array.from(this.lanes, (lane) => lane.toString(16).padStart(8, '0')).join('') };
  }
}

/**
 * Reads CSV (gzipped or not) to its end and adds each row to the fingerprinter.
 * `skipHeader` drops the first row (plain Keboola files carry a header; slices do not).
 */
export async function fingerprintStream(
  fingerprinter: Fingerprinter,
  input: NodeJS.ReadableStream,
  options: { gzipped: boolean; skipHeader: boolean },
): Promise<void> {
  let skip = options.skipHeader;
  const parser = new CsvRowParser((row) => {
    if (skip) {
      skip = false;
      return;
    }
    fingerprinter.addRow(row);
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
