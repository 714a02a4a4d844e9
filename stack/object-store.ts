/**
 * HTTP to the object store behind a stack's files (docs/CONTRACTS.md): streamed PUTs and GETs with the headers
 * a file provider (stack/file-providers/) computed, never with the Storage API token, which this module never
 * sees. Redirects are not followed. Every transfer takes a slot of the stack's limiter; failures are classified
 * StackErrors (stack/errors.ts).
 */
import { PassThrough, Readable } from 'node:stream';
import got, { type Got } from 'got';
import { objectStoreError, requestError, type ErrorContext } from './errors';
import { settlePermit, type AdaptiveLimiter, type LimiterPermit } from './limiter';

/** One object of the store: its URL and the headers that authorise the request (a Bearer token, a signature). */
export interface ObjectRequest {
  url: string;
  headers: Record<string, string>;
}

export interface ObjectStoreOptions {
  /** Names the stack in messages and redacts what must not appear in them. */
  context: ErrorContext;
  /** Connect and first-byte timeout of a transfer; the whole request for small reads (a manifest). */
  timeoutMs: number;
  limiter?: AdaptiveLimiter;
}

export class ObjectStore {
  readonly #context: ErrorContext;
  readonly #timeoutMs: number;
  readonly #limiter?: AdaptiveLimiter;
  readonly #got: Got;

  constructor(options: ObjectStoreOptions) {
    this.#context = options.context;
    this.#timeoutMs = options.timeoutMs;
    this.#limiter = options.limiter;
    this.#got = got.extend({
      headers: { 'user-agent': 'stack-migrate' },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      // A streamed transfer may legitimately take hours: bound connecting and waiting for the first byte only.
      timeout: { lookup: options.timeoutMs, connect: options.timeoutMs, secureConnect: options.timeoutMs, response: options.timeoutMs },
    });
  }

  /** Writes one object. `body` is a Buffer or a factory of a fresh stream (streamed, never held in memory). */
  async put(request: ObjectRequest, body: Buffer | (() => NodeJS.ReadableStream), contentType = 'application/octet-stream'): Promise<void> {
    const endpoint = `PUT ${describeObjectUrl(request.url)}`;
    const source = Buffer.isBuffer(body) ? body : toReadable(body());
    let response;
    const permit = await this.#limiter?.acquire();
    try {
      response = await this.#got.put(request.url, {
        body: source,
        headers: { ...request.headers, 'content-type': contentType },
        responseType: 'text',
      });
      settlePermit(permit, response.statusCode);
    } catch (error) {
      permit?.release();
      throw requestError(this.#context, error, endpoint);
    } finally {
      if (source instanceof Readable && !source.destroyed && !source.readableEnded) source.destroy();
    }
    if (response.statusCode >= 400) throw objectStoreError(this.#context, response.statusCode, response.headers['retry-after'], endpoint);
  }

  /** Reads a small object (a manifest) as text, within the request timeout. */
  async getText(request: ObjectRequest): Promise<string> {
    const endpoint = `GET ${describeObjectUrl(request.url)}`;
    let response;
    const permit = await this.#limiter?.acquire();
    try {
      response = await this.#got(request.url, { headers: request.headers, responseType: 'text', timeout: { request: this.#timeoutMs } });
    } catch (error) {
      permit?.release();
      throw requestError(this.#context, error, endpoint);
    }
    settlePermit(permit, response.statusCode);
    if (response.statusCode >= 400) throw objectStoreError(this.#context, response.statusCode, response.headers['retry-after'], endpoint);
    return response.body;
  }

  /**
   * Streams one object. HTTP and network failures are emitted as a StackError on the returned stream. A slot of
   * the stack's limiter is held until the answer's headers arrive, not for the whole transfer.
   */
  stream(request: ObjectRequest): Readable {
    const out = new PassThrough();
    const endpoint = `GET ${describeObjectUrl(request.url)}`;
    const start = (permit?: LimiterPermit) => {
      if (out.destroyed) return void permit?.release();
      const download = this.#got.stream(request.url, { headers: request.headers });
      download.on('error', (error: unknown) => {
        permit?.release();
        out.destroy(requestError(this.#context, error, endpoint));
      });
      download.once('response', (response: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
        settlePermit(permit, response.statusCode);
        if (response.statusCode >= 400) {
          download.destroy();
          out.destroy(objectStoreError(this.#context, response.statusCode, response.headers['retry-after'], endpoint));
          return;
        }
        download.pipe(out);
      });
      out.once('close', () => {
        if (!download.destroyed) download.destroy();
      });
    };
    if (this.#limiter) this.#limiter.acquire().then(start, (error: Error) => out.destroy(error));
    else start();
    return out;
  }
}

/** Path of an object store URL, without its query (which holds a signature). */
export function describeObjectUrl(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '(invalid url)';
  }
}

function toReadable(stream: NodeJS.ReadableStream): Readable {
  return stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<unknown>);
}
