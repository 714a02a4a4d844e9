/**
 * Errors of the stack client, classified per the failure policy of docs/domain.md.
 *
 * The client never retries by itself: every failure is thrown as a StackError whose `retryable` flag and
 * `retryAfterSeconds` tell the caller (a Temporal activity) whether and when a retry can help.
 * A StackError never carries the Storage API token: not in its message, not in any of its fields, and it
 * never keeps the underlying HTTP client's error (which may hold the request headers) as a cause.
 *
 * The classifiers at the end (HTTP answers, network errors, failed jobs, unexpected shapes, the object store) build
 * every StackError the transport (stack/transport.ts), the object store (stack/object-store.ts) and the file
 * providers (stack/file-providers/) throw.
 */
import { errors as undiciErrors } from 'undici';
import type { z } from 'zod';
import type { Job } from './schemas';

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

/** Kinds that a later attempt can fix by itself (docs/domain.md). */
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

// ---------------------------------------------------------------- classifiers

/** Who produced an error: the stack named in its message, and how secrets are scrubbed from that message. */
export interface ErrorContext {
  readonly url: string;
  redact(text: string): string;
}

/** An HTTP error answer of the Storage API or of one of the stack's services. */
export function httpError(
  ctx: ErrorContext,
  status: number,
  text: string,
  retryAfterHeader: string | string[] | undefined,
  endpoint: string,
): StackError {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // not JSON (a proxy's HTML page, an empty body): classified by status alone
  }
  const code = body.code !== undefined && body.code !== null ? String(body.code) : undefined;
  const serverText = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : undefined;
  const retryAfterSeconds = parseRetryAfter(retryAfterHeader);
  let kind: StackErrorKind = kindForStatus(status);
  if (status === 503 && body.status !== 'maintenance' && retryAfterSeconds === undefined) kind = 'server';
  const detail = serverText ? `: ${serverText}` : '';
  const codeText = code ? `, ${code}` : '';
  const after = retryAfterSeconds !== undefined ? ` in ${retryAfterSeconds} s` : ' later';
  const url = ctx.url;
  let message: string;
  switch (kind) {
    case 'invalid-token':
      message = `the token for ${url} was rejected (${endpoint}, HTTP 401${codeText})${detail}: check that the token exists, belongs to this stack and is not expired`;
      break;
    case 'forbidden':
      message = `the token for ${url} is not allowed to do ${endpoint} (HTTP 403${codeText})${detail}: use a master token or a token with the needed permissions (canManageBuckets, component access)`;
      break;
    case 'not-found':
      message = `${endpoint} on ${url}: not found (HTTP 404${codeText})${detail}`;
      break;
    case 'conflict':
      message = `${endpoint} on ${url} conflicts with the current state (HTTP ${status}${codeText})${detail}: the object probably exists already`;
      break;
    case 'rate-limited':
      message = `${url} is rate limiting requests (${endpoint}, HTTP 429${codeText})${detail}: retry${after}`;
      break;
    case 'maintenance': {
      const reason = typeof body.reason === 'string' ? ` (${body.reason})` : '';
      const until = typeof body.estimatedEndTime === 'string' ? `, expected to end at ${body.estimatedEndTime}` : '';
      message = `${url} is under maintenance${reason}${until} (${endpoint}, HTTP 503): retry${after}`;
      break;
    }
    case 'server':
      message = `${url} failed on ${endpoint} (HTTP ${status}${codeText})${detail}: a problem of the stack, retry${after}`;
      break;
    case 'timeout':
      message = `${url} timed out on ${endpoint} (HTTP ${status}${codeText})${detail}: retry${after}`;
      break;
    default:
      message = `${url} refused ${endpoint} as invalid (HTTP ${status}${codeText})${detail}: the request or its data must be fixed, a retry will not help`;
  }
  return new StackError({
    kind,
    status,
    endpoint,
    message: ctx.redact(message),
    ...(code !== undefined ? { code } : {}),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}

/**
 * A request that got no answer (network, timeout) → StackError; the HTTP client's error itself is dropped. Its code
 * is the socket's (ECONNREFUSED, ...) or undici's (UND_ERR_SOCKET, UND_ERR_HEADERS_TIMEOUT, ...).
 */
export function requestError(ctx: ErrorContext, error: unknown, endpoint: string): StackError {
  if (error instanceof StackError) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new StackError({
      kind: 'timeout',
      endpoint,
      code,
      message: ctx.redact(`${endpoint} on ${ctx.url} did not answer in time (${message}): the stack is slow or unreachable, retry later`),
    });
  }
  if (code !== undefined) {
    return new StackError({
      kind: 'network',
      endpoint,
      code,
      message: ctx.redact(`could not talk to ${ctx.url} (${endpoint}): ${message.includes(code) ? '' : `${code} `}${message}: check the stack URL and the network, retry later`),
    });
  }
  return new StackError({ kind: 'network', endpoint, message: ctx.redact(`${endpoint} on ${ctx.url} failed: ${message}: retry later`) });
}

/** The code of a socket's or undici's error (a string), if it has one. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/** A Storage job that ended in error: its error code decides the kind (kindForJobErrorCode). */
export function jobError(ctx: ErrorContext, job: Job, endpoint: string): StackError {
  const error = job.error;
  let code: string | undefined;
  let text: string | undefined;
  if (typeof error === 'string') text = error;
  else if (error) {
    code = error.code !== undefined ? String(error.code) : undefined;
    text = error.message;
  }
  const { kind, retryable } = kindForJobErrorCode(code);
  const advice = retryable ? 'a problem of the stack, retry later' : 'the request or its data must be fixed';
  return new StackError({
    kind,
    retryable,
    endpoint,
    jobId: job.id,
    ...(code !== undefined ? { code } : {}),
    message: ctx.redact(
      `job ${job.id} (${job.operationName}) started by ${endpoint} on ${ctx.url} failed${code ? ` [${code}]` : ''}: ${text ?? 'no error message'}: ${advice}`,
    ),
  });
}

/** An answer that does not match its schema: names the first failing fields and the endpoint. */
export function schemaError(ctx: ErrorContext, error: z.ZodError, endpoint: string): StackError {
  const issues = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return new StackError({
    kind: 'unexpected-response',
    endpoint,
    message: ctx.redact(
      `${ctx.url} answered ${endpoint} with an unexpected shape: ${issues.join('; ')}${more}. The stack's API differs from the documented one; the client cannot go on safely`,
    ),
  });
}

// ---------------------------------------------------------------- the object store of a stack's files

/** What went wrong with one object of a file, as its file provider (stack/file-providers/) read its store's answer. */
export type ObjectStoreProblem =
  /** The file's credentials were refused: expired, wrong, or not valid for this object. */
  | 'credentials'
  /** The bucket (Azure: container) named by the file answer does not exist. */
  | 'no-bucket'
  /** The object does not exist (any more). */
  | 'no-object'
  /** A download ended before its last byte: the connection was cut or the answer is shorter than announced. */
  | 'truncated'
  /** Nothing answered: connection refused or reset, unknown host. */
  | 'unreachable'
  | 'timeout'
  | 'throttled'
  | 'server'
  /** Any other refusal (a 4xx): the request itself is wrong. */
  | 'refused';

export interface ObjectStoreFailure {
  problem: ObjectStoreProblem;
  status?: number;
  /** The store's error code (`NoSuchKey`, `AuthenticationFailed`) or the system's (`ECONNREFUSED`). */
  code?: string;
  retryAfterSeconds?: number;
  /** What the message adds in parentheses, e.g. "after 1024 of 4096 bytes". */
  detail?: string;
}

/** One transfer of one object: what a failure message names. */
export interface ObjectTransfer {
  fileId: number | string;
  /** The file provider: `aws`, `azure`, `gcp`. */
  provider: string;
  /** `METHOD object`, e.g. `PUT s3://bucket/key` (never a signature or a credential). */
  endpoint: string;
}

/** Kind and retryability of each problem, by the failure policy of docs/domain.md. */
const OBJECT_STORE_KINDS: Record<ObjectStoreProblem, { kind: StackErrorKind; retryable: boolean }> = {
  // A new attempt prepares the file again (or reads a fresh file detail) and gets fresh credentials.
  credentials: { kind: 'forbidden', retryable: true },
  'no-bucket': { kind: 'not-found', retryable: false },
  'no-object': { kind: 'not-found', retryable: false },
  truncated: { kind: 'network', retryable: true },
  unreachable: { kind: 'network', retryable: true },
  timeout: { kind: 'timeout', retryable: true },
  throttled: { kind: 'rate-limited', retryable: true },
  server: { kind: 'server', retryable: true },
  refused: { kind: 'bad-request', retryable: false },
};

/** A failed transfer of a file's object → a StackError naming the file, its provider and what to do. */
export function objectStoreError(ctx: ErrorContext, transfer: ObjectTransfer, failure: ObjectStoreFailure): StackError {
  const { kind, retryable } = OBJECT_STORE_KINDS[failure.problem];
  const store = `the ${transfer.provider} file storage of ${ctx.url}`;
  const facts = [transfer.endpoint, failure.status !== undefined ? `HTTP ${failure.status}` : undefined, failure.code, failure.detail].filter(Boolean).join(', ');
  const file = `file ${transfer.fileId}`;
  const after = failure.retryAfterSeconds !== undefined ? ` in ${failure.retryAfterSeconds} s` : ' later';
  let message: string;
  switch (failure.problem) {
    case 'credentials':
      message = `${store} refused the credentials of ${file} (${facts}): they have expired or are not valid for this object; a new attempt gets fresh ones from the stack`;
      break;
    case 'no-bucket':
      message = `the bucket or container of ${file} does not exist in ${store} (${facts}): the stack's file storage is misconfigured and a retry will not help; report it to the stack's operator (an emulated stack: create the bucket)`;
      break;
    case 'no-object':
      message = `${file} has no such object in ${store} (${facts}): the file has expired or was never fully uploaded and a retry will not help; export or upload it again`;
      break;
    case 'truncated':
      message = `the download of ${file} from ${store} ended early (${facts}): the connection was cut; a new attempt downloads it again`;
      break;
    case 'unreachable':
      message = `could not reach ${store} for ${file} (${facts}): check the network (an emulated stack: that its object store runs and the worker's endpoint setting names it, docs/object-stores.md); retry later`;
      break;
    case 'timeout':
      message = `${store} did not answer in time for ${file} (${facts}): it is slow or unreachable; retry later`;
      break;
    case 'throttled':
      message = `${store} is throttling requests (${facts}) for ${file}: retry${after}`;
      break;
    case 'server':
      message = `${store} failed for ${file} (${facts}): a problem of the storage, retry${after}`;
      break;
    default:
      message = `${store} refused ${transfer.endpoint} of ${file} as invalid (${facts}): a retry will not help; the stack's file answer and this client disagree (docs/CONTRACTS.md)`;
  }
  return new StackError({
    kind,
    retryable,
    endpoint: transfer.endpoint,
    message: ctx.redact(message),
    ...(failure.status !== undefined ? { status: failure.status } : {}),
    ...(failure.code !== undefined ? { code: failure.code } : {}),
    ...(failure.retryAfterSeconds !== undefined ? { retryAfterSeconds: failure.retryAfterSeconds } : {}),
  });
}

/** The problem an object store's HTTP status means, when the store's own error code does not say more. */
export function problemForStatus(status: number): ObjectStoreProblem {
  if (status === 401 || status === 403) return 'credentials';
  if (status === 404) return 'no-object';
  if (status === 408) return 'timeout';
  if (status === 429 || status === 503) return 'throttled';
  if (status >= 500) return 'server';
  return 'refused';
}

/** Node.js and SDK error codes of a request that reached nobody (or lost its connection). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'REQUEST_SEND_ERROR',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'TimeoutError', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A network-level failure (undici's, an SDK's, the socket's) as an object-store failure; undefined for anything else. */
export function networkFailure(error: unknown): ObjectStoreFailure | undefined {
  const { code, name, message } = (error ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  // An SDK may wrap a socket error it does not recognise as an Error (one of another realm) into its message only.
  const named = typeof message === 'string' ? /\b(E[A-Z]{3,})\b/.exec(message)?.[1] : undefined;
  const codeText = typeof code === 'string' ? code : named && (UNREACHABLE_CODES.has(named) || TIMEOUT_CODES.has(named)) ? named : undefined;
  if ((codeText && TIMEOUT_CODES.has(codeText)) || name === 'TimeoutError') {
    return { problem: 'timeout', code: codeText ?? 'ETIMEDOUT' };
  }
  if (codeText && UNREACHABLE_CODES.has(codeText)) return { problem: 'unreachable', code: codeText };
  if (error instanceof undiciErrors.UndiciError) return { problem: 'unreachable', ...(codeText ? { code: codeText } : {}) };
  return undefined;
}

/** `ctx`, also redacting `secrets` (a file's credentials) from every message. */
export function withSecrets(ctx: ErrorContext, secrets: ReadonlyArray<string>): ErrorContext {
  return { url: ctx.url, redact: (text) => redact(ctx.redact(text), secrets) };
}
