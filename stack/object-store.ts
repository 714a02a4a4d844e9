/**
 * The object store behind a stack's files (docs/CONTRACTS.md#file-transfer), as every file provider
 * (stack/file-providers/) reaches it: each transfer takes a slot of the stack's limiter, each failure becomes a
 * StackError of stack/errors.ts naming the file and its provider, with the file's credentials redacted, and every
 * download is checked for its full length. Plain HTTP (undici) for the providers that speak it (GCP); the SDK
 * providers run their calls through `run`. Never sees the Storage API token; redirects are not followed.
 */
import { Readable, Transform } from 'node:stream';
import { request as httpRequest, type Dispatcher } from 'undici';
import {
  StackError,
  networkFailure,
  objectStoreError,
  parseRetryAfter,
  problemForStatus,
  withSecrets,
  type ErrorContext,
  type ObjectStoreFailure,
  type ObjectTransfer,
} from './errors';
import { isOverloadStatus, type AdaptiveLimiter, type LimiterPermit } from './limiter';

/** One transfer and the credentials it uses (redacted from its errors). */
export interface Transfer extends ObjectTransfer {
  secrets: ReadonlyArray<string>;
}

/** One HTTP request of a file's object: its URL and the headers that authorise it (a Bearer token, or none). */
export interface ObjectRequest {
  url: string;
  headers: Record<string, string>;
}

/** An object being downloaded: its body and, when the store said it, its length. */
export interface ObjectDownload {
  body: Readable;
  bytes?: number;
  /** Called once the body is done (read, failed or abandoned): frees what the download held. */
  close?: () => void;
}

export interface ObjectStoreOptions {
  /** Names the stack in messages and redacts what must not appear in them. */
  context: ErrorContext;
  /** Connect and first-byte timeout of a transfer; a transfer itself may legitimately take hours. */
  timeoutMs: number;
  limiter?: AdaptiveLimiter;
  /** The connections of the plain HTTP transfers (the stack client's, which connects within `timeoutMs`). */
  http: Dispatcher;
}

export class ObjectStore {
  readonly timeoutMs: number;
  readonly #context: ErrorContext;
  readonly #limiter?: AdaptiveLimiter;
  readonly #http: Dispatcher;

  constructor(options: ObjectStoreOptions) {
    this.#context = options.context;
    this.timeoutMs = options.timeoutMs;
    this.#limiter = options.limiter;
    this.#http = options.http;
  }

  /** The StackError of a failed transfer (stack/errors.ts). */
  error(transfer: Transfer, failure: ObjectStoreFailure): StackError {
    return objectStoreError(withSecrets(this.#context, transfer.secrets), transfer, failure);
  }

  /**
   * Runs one call of an SDK in a slot of the stack's limiter. Its failure, as `classify` reads it, is thrown as a
   * StackError; throttling and server failures shrink the limit.
   */
  async run<T>(transfer: Transfer, call: () => Promise<T>, classify: (error: unknown) => ObjectStoreFailure): Promise<T> {
    const permit = await this.#limiter?.acquire();
    try {
      const result = await call();
      permit?.success();
      return result;
    } catch (error) {
      if (error instanceof StackError) {
        permit?.release();
        throw error;
      }
      const failure = classify(error);
      settle(permit, failure);
      throw this.error(transfer, failure);
    }
  }

  /** Writes one object with a PUT or POST (`body`: a Buffer or a factory of a fresh stream, streamed). */
  async send(transfer: Transfer, method: 'PUT' | 'POST', request: ObjectRequest, body: Buffer | (() => NodeJS.ReadableStream), contentType: string): Promise<void> {
    const source = Buffer.isBuffer(body) ? body : toReadable(body());
    try {
      await this.run(
        transfer,
        async () => {
          const response = await httpRequest(request.url, {
            dispatcher: this.#http,
            method,
            body: source,
            headers: { 'user-agent': 'stack-migrate', ...request.headers, 'content-type': contentType },
            headersTimeout: this.timeoutMs,
          });
          await response.body.dump();
          if (response.statusCode >= 400) throw new HttpAnswer(response.statusCode, response.headers['retry-after']);
        },
        // An upload does not need its object to exist: its 404 is the bucket's.
        (error) => httpFailure(error, { notFound: 'no-bucket' }),
      );
    } finally {
      if (source instanceof Readable && !source.destroyed && !source.readableEnded) source.destroy();
    }
  }

  /** Starts a GET of one object; resolves once the store answered (a slot is held until then, not for the transfer). */
  async get(transfer: Transfer, request: ObjectRequest): Promise<ObjectDownload> {
    return this.run(
      transfer,
      async () => {
        // No timeout on the body: it streams at the pace its reader takes it, which may pause for long.
        const response = await httpRequest(request.url, { dispatcher: this.#http, headers: { 'user-agent': 'stack-migrate', ...request.headers }, headersTimeout: this.timeoutMs, bodyTimeout: 0 });
        if (response.statusCode >= 400) {
          await response.body.dump();
          throw new HttpAnswer(response.statusCode, response.headers['retry-after']);
        }
        const announced = response.headers['content-length'];
        const length = Number(announced);
        return { body: response.body, ...(typeof announced === 'string' && Number.isFinite(length) ? { bytes: length } : {}) };
      },
      (error) => httpFailure(error, { notFound: 'no-object' }),
    );
  }

  /**
   * The body of a download as the caller reads it: a failure while reading, or an end before the announced
   * length, is a StackError (`truncated`) on the stream; abandoning the stream ends the download.
   */
  checked(transfer: Transfer, download: ObjectDownload): Readable {
    let received = 0;
    const expected = download.bytes;
    const truncated = (cause?: unknown) => {
      const network = cause === undefined ? undefined : networkFailure(cause);
      return this.error(transfer, {
        problem: network?.problem === 'timeout' ? 'timeout' : 'truncated',
        detail: `after ${received}${expected !== undefined ? ` of ${expected}` : ''} bytes`,
        ...(network?.code ? { code: network.code } : {}),
      });
    };
    const out = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        done(null, chunk);
      },
      flush(done) {
        done(expected !== undefined && received < expected ? truncated() : null);
      },
    });
    download.body.once('error', (error) => out.destroy(error instanceof StackError ? error : truncated(error)));
    out.once('close', () => {
      if (!download.body.destroyed) download.body.destroy();
      download.close?.();
    });
    download.body.pipe(out);
    return out;
  }
}

export function toReadable(stream: NodeJS.ReadableStream): Readable {
  return stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<unknown>);
}

/** An HTTP error answer of the store, carried to the classifier. */
class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    readonly retryAfter: string | string[] | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

function httpFailure(error: unknown, meaning: { notFound: 'no-bucket' | 'no-object' }): ObjectStoreFailure {
  if (error instanceof HttpAnswer) {
    const retryAfterSeconds = parseRetryAfter(error.retryAfter);
    const problem = error.status === 404 ? meaning.notFound : problemForStatus(error.status);
    return { problem, status: error.status, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  }
  return networkFailure(error) ?? { problem: 'unreachable', detail: error instanceof Error ? error.message : String(error) };
}

/** Reports an outcome to the stack's limiter: throttling and server failures shrink it, others only free the slot. */
function settle(permit: LimiterPermit | undefined, failure: ObjectStoreFailure): void {
  if (!permit) return;
  if (failure.problem === 'throttled' || failure.problem === 'server' || isOverloadStatus(failure.status)) permit.overloaded();
  else permit.release();
}
