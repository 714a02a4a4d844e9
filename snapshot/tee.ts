import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Feeds one readable stream to several consumers at once, with backpressure from the slowest,
 * so a download can be written to disk and fingerprinted in a single pass.
 */
export async function tee(source: Readable, consumers: Array<(branch: Readable) => Promise<void>>): Promise<void> {
  const branches = consumers.map(() => new PassThrough({ highWaterMark: 1 << 20 }));
  for (const branch of branches) source.pipe(branch);
  try {
    await Promise.all([finished(source), ...consumers.map((consume, i) => consume(branches[i]))]);
  } catch (error) {
    source.destroy();
    for (const branch of branches) branch.destroy();
    throw error;
  }
}
