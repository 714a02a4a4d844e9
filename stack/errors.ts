/**
 * Errors of the stack client, classified per DESIGN §4 (failure policy).
 *
 * The client never retries by itself: every failure is thrown as a StackError whose `retryable` flag and
 * `retryAfterSeconds` tell the caller (a Temporal activity) whether and when a retry can help.
 * A StackError never carries the Storage API token: not in its message, not in any of its fields, and it
 * never keeps the underlying got error (whose options hold the request headers) as a cause.
 */

export type StackErrorKind =
  | 'invalid-token'
  | 'forbidden'
  | 'not-found'
  | 'bad-request'
  | 'conflict'
  | 'maintenance'
  | 'rate-limited'
  | 'server'
  | 'network'
  | 'timeout'
  | 'unexpected-response'
  | 'job-failed';

export const STACK_ERROR_KINDS: readonly StackErrorKind[] = [
  'invalid-token',
  'forbidden',
  'not-found',
  'bad-request',
  'conflict',
  'maintenance',
  'rate-limited',
  'server',
  'network',
  'timeout',
  'unexpected-response',
  'job-failed',
];

/** Kinds that a later attempt can fix by itself (DESIGN §4). */
const RETRYABLE_KINDS: ReadonlySet<StackErrorKind> = new Set(['maintenance', 'rate-limited', 'server', 'network', 'timeout']);

export function isRetryableKind(kind: StackErrorKind): boolean {
  return RETRYABLE_KINDS.has(kind);
}

export interface StackErrorInit {
  kind: StackErrorKind;
  message: string;
  /** `METHOD /path` of the request, without query string or host. */
  endpoint: string;
  status?: number;
  code?: string;
  retryAfterSeconds?: number;
  jobId?: number | string;
  /** Overrides the default retryability of the kind (used for jobs failing with an internal error). */
  retryable?: boolean;
}

export class StackError extends Error {
  readonly kind: StackErrorKind;
  readonly status?: number;
  /** Keboola's error code (`storage.buckets.notFound`, a job's `error.code`, ...). */
  readonly code?: string;
  readonly retryable: boolean;
  /** From the `Retry-After` header (seconds) when the stack sent one. */
  readonly retryAfterSeconds?: number;
  /** `METHOD /path` of the failed request (never the host's query string, never the token). */
  readonly endpoint: string;
  /** Storage job id, when an asynchronous job failed or timed out. */
  readonly jobId?: number | string;

  constructor(init: StackErrorInit) {
    super(init.message);
    this.name = 'StackError';
    this.kind = init.kind;
    this.retryable = init.retryable ?? isRetryableKind(init.kind);
    this.endpoint = init.endpoint;
    // Only defined fields become own properties: keeps logs and test snapshots free of `undefined` noise.
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
    if (init.jobId !== undefined) this.jobId = init.jobId;
  }

  /** A plain, serialisable view (for logs, activity failure details). Contains no secret. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      endpoint: this.endpoint,
      retryable: this.retryable,
      ...(this.status !== undefined ? { status: this.status } : {}),
      ...(this.code !== undefined ? { code: this.code } : {}),
      ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
      ...(this.jobId !== undefined ? { jobId: this.jobId } : {}),
    };
  }
}

export function isStackError(error: unknown): error is StackError {
  return error instanceof StackError;
}

/** HTTP status → kind (before looking at the body). */
export function kindForStatus(status: number): StackErrorKind {
  if (status === 401) return 'invalid-token';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 429) return 'rate-limited';
  if (status === 503) return 'maintenance';
  if (status >= 500) return 'server';
  if (status === 408) return 'timeout';
  return 'bad-request';
}

/**
 * Kind of a failed storage job, from its error code. Keboola reports internal failures as
 * `APPLICATION_ERROR` (or `*.internal*`): those are retryable; anything else is a problem of the request or data.
 */
export function kindForJobErrorCode(code: string | undefined): { kind: StackErrorKind; retryable: boolean } {
  const c = (code ?? '').toLowerCase();
  if (c === 'application_error' || c.includes('internal')) return { kind: 'server', retryable: true };
  if (c.includes('maintenance')) return { kind: 'maintenance', retryable: true };
  if (c.includes('notfound') || c.includes('not_found')) return { kind: 'not-found', retryable: false };
  if (c.includes('alreadyexists') || c.includes('already_exists') || c.includes('conflict')) {
    return { kind: 'conflict', retryable: false };
  }
  if (c.includes('accessdenied') || c.includes('forbidden')) return { kind: 'forbidden', retryable: false };
  return { kind: 'job-failed', retryable: false };
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw.trim() === '') return undefined;
  const trimmed = raw.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/** Replaces every occurrence of each secret by `***`. */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
