/**
 * The one transport under every API area of the stack client (stack/resources/, docs/CONTRACTS.md):
 *
 * - JSON requests to the stack's Storage API (`/v2/storage`), or to one of the services its API index lists
 *   (`service`: the Orchestrator, the Encryption API, GoodData), discovered lazily and once per client.
 * - Every answer is validated with zod (stack/schemas/); a missing or mistyped documented field throws
 *   StackError kind "unexpected-response" naming the field and the endpoint.
 * - No retries here: retries belong to Temporal (docs/domain.md). Every failure is a classified StackError
 *   (stack/errors.ts); requests take a slot of the stack's adaptive limiter (stack/limiter.ts).
 * - Asynchronous operations (202 + job) are awaited by polling `jobs/{id}` with backoff, through `poll`, the one
 *   polling loop of the client (GoodData tasks use it too).
 * - The Storage API token is kept in an ES private field, is only ever sent to the stack's own URL and to the
 *   services of its API index (redirects are not followed), never to the object store (`objects`, which never
 *   sees it), and is redacted from every message the client produces.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Agent, request as httpRequest, type Dispatcher } from 'undici';
import { z } from 'zod';
import { StackError, httpError, jobError, redact, requestError, schemaError, type ErrorContext } from './errors';
import { settlePermit, type AdaptiveLimiter } from './limiter';
import { jsonArrayItems, NotAJsonList } from './json-items';
import { ObjectStore } from './object-store';
import { ApiIndexSchema, JobSchema, type Job } from './schemas';

export interface StackClientOptions {
  /** Stack URL, e.g. `https://connection.keboola.com` (no `/v2/storage`). */
  url: string;
  /** Storage API token of the project. */
  token: string;
  /**
   * Timeout in ms (default 60000) of a connection, of an API request's answer and of each wait for more of its
   * body. For streamed transfers: of the connection and of the answer's headers.
   */
  timeoutMs?: number;
  /** First delay between two polls of a job (default 100 ms: most Storage jobs end in well under a second), grown by half up to 2000 ms. */
  jobPollIntervalMs?: number;
  /** Give up waiting for a job after this long (default: no limit; the activity's own timeout applies). */
  jobTimeoutMs?: number;
  /** Called after every poll of a job (e.g. to heartbeat a Temporal activity during a long import). */
  onJobPoll?: (job: Job) => void;
  /**
   * Shared adaptive limit of in-flight requests to this stack (stack/limiter.ts): API calls and object-store
   * transfers take a slot; 429/5xx answers shrink it, successes grow it back. Without it, no limit.
   */
  limiter?: AdaptiveLimiter;
}

export type Query = Record<string, string | number | boolean | undefined>;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  headers?: Record<string, string>;
  /** Answer null for a 404 instead of failing. */
  allow404?: boolean;
  /** The path is under the URL of this service of the API index (e.g. `orchestrator`), not under `/v2/storage`. */
  service?: string;
  /** More secrets to redact from every error of this request (e.g. a Manage API token sent in a header). */
  secrets?: string[];
}

/** An answer as received: its status, its parsed JSON body (undefined when empty) and `METHOD /path`. */
export interface ApiResponse {
  status: number;
  body: unknown;
  endpoint: string;
}

/** A request whose headers are in and whose body is not read yet (Transport's #exchange). */
interface Exchange {
  status: number;
  retryAfter: string | string[] | undefined;
  endpoint: string;
  body: Dispatcher.ResponseData['body'];
  read<T>(reader: (body: Dispatcher.ResponseData['body']) => Promise<T>): Promise<T>;
}

export interface PollOptions<T> {
  /**
   * First delay between two checks, grown by half after each one up to 2 s (or this delay, when longer). Doubling
   * noticed a 2 s job at 3.1 s (100+200+400+800+1600 ms); growing by half, at 2.1 s, for one or two polls more.
   */
  intervalMs: number;
  /** Give up after this long (Infinity: never). */
  timeoutMs: number;
  /** Called after every check but the first one (which the caller already holds). */
  onPoll?: (value: T) => void;
  /** The error thrown when `timeoutMs` has passed. */
  timedOut: (last: T, elapsedMs: number) => StackError;
  /** Waits between two checks (default: a timer); a test passes its own to see the delays. */
  sleep?: (ms: number) => Promise<void>;
}

const STORAGE = '/v2/storage';
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_POLL_MS = 100;
const MAX_POLL_MS = 2_000;

/** A path segment, percent-encoded. */
export const seg = (value: string | number): string => encodeURIComponent(String(value));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The one polling loop of the client: from `first`, checks again with `next` after a growing delay until `isDone`.
 * Storage jobs and GoodData tasks are awaited with it.
 */
export async function poll<T>(first: T, next: () => Promise<T>, isDone: (value: T) => boolean, options: PollOptions<T>): Promise<T> {
  const started = Date.now();
  let delay = options.intervalMs;
  let current = first;
  while (!isDone(current)) {
    if (Date.now() - started >= options.timeoutMs) throw options.timedOut(current, Date.now() - started);
    await (options.sleep ?? sleep)(delay);
    delay = Math.min(delay * 1.5, Math.max(MAX_POLL_MS, options.intervalMs));
    current = await next();
    options.onPoll?.(current);
  }
  return current;
}

export class Transport {
  /** The stack's base URL, normalised (no trailing slash). */
  readonly url: string;
  /** The object store of the stack's files: never carries the Storage API token. */
  readonly objects: ObjectStore;
  readonly #token: string;
  readonly #pollMs: number;
  readonly #jobTimeoutMs: number;
  readonly #onJobPoll?: (job: Job) => void;
  readonly #limiter?: AdaptiveLimiter;
  /** The connections to the stack, its services and (for plain HTTP providers) its object store; kept alive between requests. */
  readonly #http: Agent;
  readonly #timeoutMs: number;
  /** Service ID → URL, from the API index; discovered by the first request that needs a service. */
  #services: Promise<Map<string, string>> | undefined;

  constructor(options: StackClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new StackError({
        kind: 'bad-request',
        endpoint: 'createStackClient',
        message: `"${options.url}" is not a valid stack URL: give the stack's base URL, e.g. https://connection.keboola.com`,
      });
    }
    if (!options.token) {
      throw new StackError({
        kind: 'invalid-token',
        endpoint: 'createStackClient',
        message: `no Storage API token was given for ${parsed.origin}: provide the project's token`,
      });
    }
    this.url = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
    this.#token = options.token;
    this.#pollMs = options.jobPollIntervalMs ?? DEFAULT_POLL_MS;
    this.#jobTimeoutMs = options.jobTimeoutMs ?? Number.POSITIVE_INFINITY;
    this.#onJobPoll = options.onJobPoll;
    this.#limiter = options.limiter;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#timeoutMs = timeoutMs;
    // undici rather than a richer client: a migration makes tens of thousands of small requests, and the HTTP
    // client's own work per request was the largest part of the worker's CPU (BENCHMARKS.md). It follows no redirect.
    this.#http = new Agent({ connect: { timeout: timeoutMs } });
    this.objects = new ObjectStore({ context: this.#context(), timeoutMs, limiter: options.limiter, http: this.#http });
  }

  // ============================================================ requests

  /** One request, its answer validated with `schema`. */
  async request<S extends z.ZodType>(method: HttpMethod, path: string, schema: S, options: RequestOptions & { allow404: true }): Promise<z.output<S> | null>;
  async request<S extends z.ZodType>(method: HttpMethod, path: string, schema: S, options?: RequestOptions): Promise<z.output<S>>;
  async request<S extends z.ZodType>(method: HttpMethod, path: string, schema: S, options: RequestOptions = {}): Promise<z.output<S> | null> {
    const res = await this.send(method, path, options);
    if (res.status === 404 && options.allow404) return null;
    return this.parse(schema, res, options.secrets);
  }

  /** One request answered by a list, checked item by item so that an error names the failing item. */
  async list<S extends z.ZodType>(method: HttpMethod, path: string, itemSchema: S, options: RequestOptions = {}): Promise<Array<z.output<S>>> {
    const res = await this.send(method, path, options);
    if (!Array.isArray(res.body)) {
      throw new StackError({
        kind: 'unexpected-response',
        status: res.status,
        endpoint: res.endpoint,
        message: this.#context(options.secrets).redact(
          `${this.url} answered ${res.endpoint} with ${describeType(res.body)} where a list was documented: the stack's API differs from the documented one`,
        ),
      });
    }
    return this.parse(z.array(itemSchema), res, options.secrets);
  }

  /**
   * A list answered item by item, each validated with `itemSchema`: for the listings the API does not page (a
   * component's configurations, tens of MB in one answer), so that a caller holds one item at a time, never the
   * answer whole. The answer is first written to a temporary file at the network's pace and parsed from there as
   * the caller asks for items: a caller that works on each (requests of its own) would otherwise hold the connection
   * for minutes, and a server or proxy closes a connection whose reader stalls that long. A failure (a cut connection,
   * an item of the wrong shape) is thrown; items handed over before it stay handed over, and the caller's retry
   * starts again.
   */
  async *listItems<S extends z.ZodType>(method: HttpMethod, path: string, itemSchema: S, options: RequestOptions = {}): AsyncGenerator<z.output<S>> {
    const answer = await this.#exchange(method, path, options);
    if (answer.status >= 300) throw this.#refusal(answer, await answer.read((body) => body.text()), options);
    const ctx = this.#context(options.secrets);
    const spool = await mkdtemp(join(tmpdir(), 'stack-migrate-list-'));
    try {
      const file = join(spool, 'answer.json');
      await answer.read((body) => pipeline(body, createWriteStream(file)));
      let index = 0;
      try {
        for await (const item of jsonArrayItems(createReadStream(file))) {
          const parsed = itemSchema.safeParse(item);
          if (!parsed.success) throw schemaError(ctx, new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: [index, ...issue.path] }))), answer.endpoint);
          index++;
          yield parsed.data;
        }
      } catch (error) {
        if (!(error instanceof NotAJsonList)) throw error;
        const what = error.found === 'an object' || error.found === 'a value' ? `with ${error.found} where a list was documented` : `with a list that is ${error.found}`;
        throw new StackError({ kind: 'unexpected-response', status: answer.status, endpoint: answer.endpoint, message: ctx.redact(`${this.url} answered ${answer.endpoint} ${what}: the stack's API differs from the documented one`) });
      }
    } finally {
      answer.body.destroy();
      await rm(spool, { recursive: true, force: true });
    }
  }

  /**
   * One request, answered as received: for the endpoints whose status decides how to read them (202 + job or a
   * synchronous answer). Errors (4xx/5xx, redirects, bodies that are not JSON) are thrown as StackErrors.
   */
  async send(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const answer = await this.#exchange(method, path, options);
    const { status, endpoint } = answer;
    const text = await answer.read((body) => body.text());
    if (status === 404 && options.allow404) return { status, body: null, endpoint };
    if (status >= 300) throw this.#refusal(answer, text, options);
    if (status === 204 || text.trim() === '') return { status, body: undefined, endpoint };
    try {
      return { status, body: JSON.parse(text), endpoint };
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        status,
        endpoint,
        message: `${this.url} answered ${endpoint} with HTTP ${status} but a body that is not JSON: check that the URL points to a Keboola stack`,
      });
    }
  }

  /**
   * Sends a request and answers once its headers are in: its status and its body, not read yet (`read` reads it, a
   * failure while reading being the request's). The request's slot of the limiter is given back with the headers.
   */
  async #exchange(method: HttpMethod, path: string, options: RequestOptions): Promise<Exchange> {
    const target = options.service === undefined ? { origin: this.url, fullPath: `${STORAGE}${path}` } : await this.#serviceTarget(method, path, options.service);
    const endpoint = `${method} ${target.fullPath}`;
    const ctx = this.#context(options.secrets);
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();

    const permit = await this.#limiter?.acquire();
    let response: Dispatcher.ResponseData;
    try {
      response = await httpRequest(`${target.origin}${target.fullPath}${qs ? `?${qs}` : ''}`, {
        dispatcher: this.#http,
        method,
        headers: {
          'x-storageapi-token': this.#token,
          'user-agent': 'stack-migrate',
          accept: 'application/json',
          ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
        ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
    } catch (error) {
      permit?.release();
      throw requestError(ctx, error, endpoint);
    }
    settlePermit(permit, response.statusCode);
    const body = response.body;
    return {
      status: response.statusCode,
      retryAfter: response.headers['retry-after'],
      endpoint,
      body,
      read: async (reader) => {
        try {
          return await reader(body);
        } catch (error) {
          throw requestError(ctx, error, endpoint);
        }
      },
    };
  }

  /** The StackError of an answer that refuses (4xx/5xx) or redirects (3xx); `text` is its body. */
  #refusal(answer: Exchange, text: string, options: RequestOptions): StackError {
    const { status, endpoint } = answer;
    if (status >= 400) return httpError(this.#context(options.secrets), status, text, answer.retryAfter, endpoint);
    return new StackError({
      kind: 'unexpected-response',
      status,
      endpoint,
      message: `${this.url} answered ${endpoint} with a redirect (HTTP ${status}): check that the stack URL is the API's base URL (e.g. https://connection.keboola.com)`,
    });
  }

  /** The body of an answer, validated with `schema`. */
  parse<S extends z.ZodType>(schema: S, res: ApiResponse, secrets?: string[]): z.output<S> {
    return this.validate(schema, res.body, res.endpoint, secrets);
  }

  /** Any value the stack gave (a job's results, a manifest), validated with `schema`; `endpoint` says where it came from. */
  validate<S extends z.ZodType>(schema: S, value: unknown, endpoint: string, secrets?: string[]): z.output<S> {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw schemaError(this.#context(secrets), parsed.error, endpoint);
    return parsed.data;
  }

  // ============================================================ services of the API index

  /**
   * The URL of a service of the stack's API index (`services[]`), or null when the index does not list it.
   * Discovered once per client, on first use; a failed discovery is retried by the next call.
   */
  async serviceUrl(id: string): Promise<string | null> {
    this.#services ??= this.request('GET', '', ApiIndexSchema).then(
      (index) => {
        const urls = new Map<string, string>();
        for (const service of index.services) if (!urls.has(service.id)) urls.set(service.id, service.url.replace(/\/+$/, ''));
        return urls;
      },
      (error: unknown) => {
        this.#services = undefined;
        throw error;
      },
    );
    return (await this.#services).get(id) ?? null;
  }

  async #serviceTarget(method: HttpMethod, path: string, id: string): Promise<{ origin: string; fullPath: string }> {
    const url = await this.serviceUrl(id);
    if (url === null) {
      throw new StackError({
        kind: 'not-found',
        endpoint: `${method} ${path}`,
        message: `the stack ${this.url} does not offer the service "${id}" (its API index does not list it)`,
      });
    }
    let service: URL;
    try {
      service = new URL(url);
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint: `${method} ${path}`,
        message: `the API index of ${this.url} lists the service URL "${url}", which is not a URL`,
      });
    }
    return { origin: service.origin, fullPath: `${service.pathname.replace(/\/+$/, '')}${path}` };
  }

  // ============================================================ jobs

  /** The answer is a 202 job: waits for it to end. */
  async jobOf(res: ApiResponse): Promise<Job> {
    return this.waitForJob(this.parse(JobSchema, res), res.endpoint);
  }

  /**
   * Polls a job until it ends (calling the client's `onJobPoll` after each poll); throws a StackError carrying the
   * job id when it ends in error or outlasts `jobTimeoutMs`. `endpoint` is the request that started it.
   */
  async waitForJob(job: Job, endpoint = `GET ${STORAGE}/jobs/${job.id}`): Promise<Job> {
    const done = await poll(
      job,
      () => this.request('GET', `/jobs/${seg(job.id)}`, JobSchema),
      (current) => current.status !== 'waiting' && current.status !== 'processing',
      {
        intervalMs: this.#pollMs,
        timeoutMs: this.#jobTimeoutMs,
        onPoll: this.#onJobPoll,
        timedOut: (current, elapsedMs) =>
          new StackError({
            kind: 'timeout',
            endpoint,
            jobId: current.id,
            message: `job ${current.id} (${current.operationName}) started by ${endpoint} on ${this.url} is still ${current.status} after ${Math.round(elapsedMs / 1000)} s: retry later, the job may still finish`,
          }),
      },
    );
    if (done.status === 'error') throw jobError(this.#context(), done, endpoint);
    return done;
  }

  // ============================================================ internals

  /** Names this stack in messages and redacts the token (and `secrets`) from them, without exposing the token. */
  #context(secrets: string[] = []): ErrorContext {
    const token = this.#token;
    return { url: this.url, redact: (text) => redact(text, [token, ...secrets]) };
  }
}

function describeType(value: unknown): string {
  if (value === undefined) return 'an empty body';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
