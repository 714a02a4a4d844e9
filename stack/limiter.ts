/**
 * Adaptive concurrency per stack (AIMD): at most `limit` requests to one stack are in flight from this worker
 * process. A 429 or 5xx answer halves the limit (never below `min`); each success raises it by one (never above
 * `max`). Requests that started before the last decrease do not decrease it again, so a burst of 429s from one
 * overloaded moment halves the limit once, not once per request.
 *
 * The limiter does not retry: the failed request still fails (and Temporal retries the activity); the limiter
 * only makes the retries and every other activity talking to that stack send fewer requests at once.
 */

export interface LimiterOptions {
  /** Upper bound of in-flight requests (the configured limit). */
  max: number;
  /** Lower bound (default 1). */
  min?: number;
}

export interface LimiterStats {
  limit: number;
  inFlight: number;
  waiting: number;
  decreases: number;
}

/** What one acquired slot reports back. */
export interface LimiterPermit {
  /** The request succeeded: +1. */
  success(): void;
  /** The stack was overloaded (429, 5xx): halve. */
  overloaded(): void;
  /** Any other outcome (4xx, a network error): frees the slot and changes nothing. */
  release(): void;
}

export class AdaptiveLimiter {
  readonly max: number;
  readonly min: number;
  #limit: number;
  #inFlight = 0;
  #decreases = 0;
  #lastDecreaseSeq = -1;
  #seq = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: LimiterOptions) {
    this.max = Math.max(1, Math.floor(options.max));
    this.min = Math.min(this.max, Math.max(1, Math.floor(options.min ?? 1)));
    this.#limit = this.max;
  }

  get limit(): number {
    return this.#limit;
  }

  stats(): LimiterStats {
    return { limit: this.#limit, inFlight: this.#inFlight, waiting: this.#waiting.length, decreases: this.#decreases };
  }

  /** Waits for a free slot. */
  async acquire(): Promise<LimiterPermit> {
    while (this.#inFlight >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#inFlight++;
    const startedAt = this.#seq++;
    let done = false;
    const finish = (outcome: 'success' | 'overloaded' | 'other') => {
      if (done) return;
      done = true;
      this.#inFlight--;
      if (outcome === 'success') this.#limit = Math.min(this.max, this.#limit + 1);
      else if (outcome === 'overloaded' && startedAt > this.#lastDecreaseSeq) {
        this.#limit = Math.max(this.min, Math.floor(this.#limit / 2));
        this.#lastDecreaseSeq = this.#seq;
        this.#decreases++;
      }
      this.#wake();
    };
    return { success: () => finish('success'), overloaded: () => finish('overloaded'), release: () => finish('other') };
  }

  #wake(): void {
    // Wake as many waiters as there are free slots; each re-checks the limit when it runs.
    let free = this.#limit - this.#inFlight;
    while (free-- > 0 && this.#waiting.length > 0) this.#waiting.shift()!();
  }
}

/** 429 and 5xx mean "send less"; everything else does not. */
export function isOverloadStatus(status: number | undefined): boolean {
  return status === 429 || (status !== undefined && status >= 500 && status <= 599);
}

/** Reports an HTTP answer to the stack's limiter: 429/5xx shrink it, other errors leave it, successes grow it. */
export function settlePermit(permit: LimiterPermit | undefined, status: number): void {
  if (!permit) return;
  if (isOverloadStatus(status)) permit.overloaded();
  else if (status < 400) permit.success();
  else permit.release();
}

const registry = new Map<string, AdaptiveLimiter>();

/**
 * The limiter of one stack in this process (keyed by the stack's origin), so every activity of the worker shares
 * it. `max` comes from configuration (STACK_MIGRATE_STACK_CONCURRENCY, default 16); the first caller sets it.
 */
export function limiterForStack(url: string, max = defaultStackConcurrency()): AdaptiveLimiter {
  let key = url;
  try {
    key = new URL(url).origin;
  } catch {
    // an invalid URL fails later, in the client, with a readable message
  }
  let limiter = registry.get(key);
  if (!limiter) {
    limiter = new AdaptiveLimiter({ max });
    registry.set(key, limiter);
  }
  return limiter;
}

/** The state of every stack's limiter in this process, by the stack's origin (the worker's /metrics reads it). */
export function stackLimiterStats(): Record<string, LimiterStats> {
  return Object.fromEntries([...registry].map(([origin, limiter]) => [origin, limiter.stats()]));
}

export function defaultStackConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.STACK_MIGRATE_STACK_CONCURRENCY);
  return Number.isInteger(value) && value > 0 ? value : 16;
}
