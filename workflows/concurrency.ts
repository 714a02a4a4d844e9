/**
 * patched() marker of lanes that settle before a failure is answered: the workflows pass `patched(SETTLE_LANES)`,
 * since histories recorded before it answered at once (this module stays free of the SDK: activities use chunk).
 */
export const SETTLE_LANES = 'settle-lanes-before-failing';

/**
 * Runs `fn` over `items` with at most `limit` in flight, keeping the results in input order.
 * Deterministic inside workflows: promises resolve in the order the SDK replays their events.
 *
 * `settle`: when one item fails, no lane starts another, and the failure is answered once the items in flight
 * have finished. Answered at once, it let the workflow go on to its clean-up while activities of other lanes were
 * still writing to the destination (a cancellation during the configurations' restore).
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, { settle }: { settle: boolean }): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !(settle && failed)) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  if (!settle) {
    await Promise.all(lanes);
    return results;
  }
  const settled = await Promise.allSettled(lanes);
  const failure = settled.find((lane): lane is PromiseRejectedResult => lane.status === 'rejected');
  if (failure) throw failure.reason;
  return results;
}

/** Splits `items` into consecutive groups of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
