// Order-independent fingerprint of a table's rows: the row count plus the lane-wise sum (mod 2^32) of a hash
// of each row. Source and destination stacks may export rows in any order and quote them differently; the
// fingerprint compares parsed values, so it only changes when the data does.
//
// The row hash is a 128-bit MurmurHash3 (x86_128) of the row's JSON, computed in JS: about twice as cheap as a
// native SHA-1 call per row. Checksums read "m3:<32 hex>", naming the hash; a new one needs a new prefix and a
// new SNAPSHOT_FORMAT_VERSION. Not meant to resist an adversary (lane sums are not collision-resistant); it
// detects lost, duplicated or changed rows.
import { createHash } from 'node:crypto';
import { forEachCsvRow } from './csv';
import type { TableFingerprint } from '../workflows/types';

export class Fingerprinter {
  private readonly lanes = new Uint32Array(4);
  private readonly digest = new Uint32Array(4);
  rows = 0;

  addRow(row: readonly string[]): void {
    murmur3x86x128(JSON.stringify(row), this.digest);
    for (let lane = 0; lane < this.lanes.length; lane++) this.lanes[lane] = (this.lanes[lane] + this.digest[lane]) >>> 0;
    this.rows++;
  }

  merge(other: Fingerprinter): void {
    for (let lane = 0; lane < this.lanes.length; lane++) this.lanes[lane] = (this.lanes[lane] + other.lanes[lane]) >>> 0;
    this.rows += other.rows;
  }

  result(): TableFingerprint {
    return { rows: this.rows, checksum: `m3:${Array.from(this.lanes, (lane) => lane.toString(16).padStart(8, '0')).join('')}` };
  }
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;
const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
const fmix = (h: number) => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
};

/**
 * MurmurHash3 x86_128 (seed 0) of the UTF-16LE code units of `s`, two code units per 32-bit word, without
 * encoding the string to bytes first. Writes the four 32-bit words to `out`.
 */
export function murmur3x86x128(s: string, out: Uint32Array): void {
  const n = s.length;
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  const blocks = n - (n % 8);
  let i = 0;
  for (; i < blocks; i += 8) {
    let k1 = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    let k2 = s.charCodeAt(i + 2) | (s.charCodeAt(i + 3) << 16);
    let k3 = s.charCodeAt(i + 4) | (s.charCodeAt(i + 5) << 16);
    let k4 = s.charCodeAt(i + 6) | (s.charCodeAt(i + 7) << 16);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = (rotl(h1, 19) + h2) | 0;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = (rotl(h2, 17) + h3) | 0;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = (rotl(h3, 15) + h4) | 0;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = (rotl(h4, 13) + h1) | 0;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  const rest = n - i;
  const unit = (j: number) => (i + j < n ? s.charCodeAt(i + j) : 0);
  if (rest >= 7) h4 ^= Math.imul(rotl(Math.imul(unit(6) | (unit(7) << 16), C4), 18), C1);
  if (rest >= 5) h3 ^= Math.imul(rotl(Math.imul(unit(4) | (unit(5) << 16), C3), 17), C4);
  if (rest >= 3) h2 ^= Math.imul(rotl(Math.imul(unit(2) | (unit(3) << 16), C2), 16), C3);
  if (rest >= 1) h1 ^= Math.imul(rotl(Math.imul(unit(0) | (unit(1) << 16), C1), 15), C2);
  const bytes = n * 2;
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}

/**
 * Reads CSV (gzipped or not) to its end and adds each row to the fingerprinter.
 * `skipHeader` drops the first row (plain Keboola files carry a header; slices do not).
 */
export function fingerprintStream(fingerprinter: Fingerprinter, input: NodeJS.ReadableStream, options: { gzipped: boolean; skipHeader: boolean }): Promise<void> {
  return forEachCsvRow(input, options, (row) => fingerprinter.addRow(row));
}

/**
 * The SHA-256 (hex) of a data file's bytes as they are stored: how a restore checks that a file is the one the
 * snapshot wrote without parsing its CSV again (hashing is native and cheap; the CSV fingerprint is not).
 */
export async function digestStream(input: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of input) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
