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

/**
 * Hands `source` to one reader while `observe` reads a copy of it, with backpressure from both. An observer that
 * fails stops holding the reader back (its copy is dropped), and its failure is in `result`.
 */
export function observed<T>(source: Readable, observe: (copy: Readable) => Promise<T>): { stream: Readable; result: Promise<T> } {
  const stream = new PassThrough({ highWaterMark: 1 << 20 });
  const copy = new PassThrough({ highWaterMark: 1 << 20 });
  source.on('error', (error) => {
    stream.destroy(error);
    copy.destroy(error);
  });
  copy.on('error', () => undefined); // the observer's failure is reported through `result`
  source.pipe(stream);
  source.pipe(copy);
  const result = observe(copy);
  result.catch(() => {
    source.unpipe(copy);
    copy.resume();
  });
  return { stream, result };
}
