/**
 * The host of one emulated stack: its state (persisted by StateStore), per-key locks, timers, and the express app on
 * which every API area (emulator/storage/*, emulator/services/*, the object store, the admin API) registers its
 * routes, all the same way: `host.storageApi.get('/v2/storage/buckets', handler)`.
 *
 * Route groups, tried in this order:
 * - `adminApi` (`/_emulator/...`): no token, no faults, not counted;
 * - `storageApi` (`/v2/storage/...`): counted, faults, the Storage API token checked, and the response may be
 *   lost (`lose-response` fault); a known path asked with another method is a 405;
 * - `publicApi` (the API index, `/_services/...`, the object store): counted, faults; services check tokens
 *   themselves.
 * Requests are counted by `METHOD route-template` (`GET /_emulator/requests`), before faults apply.
 */
import { createHmac } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { objectBody } from './body';
import { FaultRegistry, injectFaults, isResponseLost } from './faults';
import type { FileStorage } from './file-storage/storage';
import { str } from './params';
import { ApiError, errorBody, notFound, sendJson, type Reply } from './replies';
import type { StackSeed } from './seed';
import { StateStore, type ProjectRecord, type StackState, type TokenRecord } from './state';

export interface RequestContext {
  req: Request;
  res: Response;
  url: URL;
  /** the body: a JSON object or a PHP-style form, parsed on first use (emulator/body.ts) */
  body: () => Promise<Record<string, unknown>>;
}

/** A Storage API request whose token was accepted. */
export interface StorageContext extends RequestContext {
  project: ProjectRecord;
  token: TokenRecord;
  /** the request's `X-KBC-RunId`, stamped on the jobs and files it creates */
  runId: string | null;
}

export type RouteHandler<C> = (ctx: C, params: Record<string, string>) => Reply | Promise<Reply>;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** `/v2/storage/tables/{tableId}` (Keboola's notation, also the request-count key) → express's `/v2/storage/tables/:tableId` */
const expressPath = (template: string) => template.replace(/\{(\w+)\}/g, ':$1');

/** Express also routes HEAD to GET handlers; the emulator answers HEAD on the object store only. */
const skipHead: RequestHandler = (req, _res, next) => (req.method === 'HEAD' ? next('route') : next());
/**
 * Express answers an OPTIONS request itself (200 with the path's methods) unless a route takes it; Keboola's API
 * has no OPTIONS, so every route takes it and passes it on, to the 404 or 405 answer.
 */
const passOn: RequestHandler = (_req, _res, next) => next('route');

interface GroupRules<C> {
  /** middleware run before the handler: counting, faults, authentication */
  before(template: string): RequestHandler[];
  context(base: RequestContext, res: Response): C;
  send(req: Request, res: Response, out: Reply): void | Promise<void>;
  /** whether a known path asked with another method is a 405 (see `pathMatcher`) */
  methodNotAllowed?: boolean;
}

/** Paths match case-sensitively, as Keboola's do. */
const newRouter = () => Router({ caseSensitive: true });

export class RouteGroup<C extends RequestContext> {
  readonly router = newRouter();
  /**
   * Marks the templates a request's path matches, whatever its method: mounted by the host after every route, so
   * a request reaching it had no route for its method (see `allowedMethods`).
   */
  readonly pathMatcher = newRouter();
  /** Every route, in the order registered (the order a 405 answer lists the allowed methods in). */
  private readonly routes: Array<{ method: Method; template: string }> = [];

  constructor(private readonly rules: GroupRules<C>) {}

  get(template: string, handler: RouteHandler<C>): void {
    this.add('GET', template, handler);
  }
  post(template: string, handler: RouteHandler<C>): void {
    this.add('POST', template, handler);
  }
  put(template: string, handler: RouteHandler<C>): void {
    this.add('PUT', template, handler);
  }
  delete(template: string, handler: RouteHandler<C>): void {
    this.add('DELETE', template, handler);
  }

  /** A route that answers every method itself and streams its body (no body parsing); counted under `template`. */
  streaming(template: string, path: string, handler: (req: Request, res: Response) => Promise<void>): void {
    this.router.all(path, ...this.rules.before(template), handler);
  }

  /** The methods of the routes whose paths matched the request in `pathMatcher`. */
  allowedMethods(res: Response): Method[] {
    const matched = (res.locals.matchedTemplates ?? new Set()) as Set<string>;
    return this.routes.filter((r) => matched.has(r.template)).map((r) => r.method);
  }

  private add(method: Method, template: string, handler: RouteHandler<C>): void {
    if (this.rules.methodNotAllowed && !this.routes.some((r) => r.template === template)) {
      this.pathMatcher.all(expressPath(template), (_req, res, next) => {
        ((res.locals.matchedTemplates ??= new Set<string>()) as Set<string>).add(template);
        next();
      });
    }
    this.routes.push({ method, template });
    const run = async (req: Request, res: Response) => {
      let body: Promise<Record<string, unknown>> | undefined;
      const base: RequestContext = { req, res, url: new URL(req.url, 'http://emulator.local'), body: () => (body ??= objectBody(req, res)) };
      await this.rules.send(req, res, await handler(this.rules.context(base, res), req.params as Record<string, string>));
    };
    const route = this.router.route(expressPath(template));
    route[method.toLowerCase() as Lowercase<Method>](...(method === 'GET' ? [skipHead] : []), ...this.rules.before(template), run);
    route.options(passOn);
  }
}

const send = (_req: Request, res: Response, out: Reply) => sendJson(res, out.status, out.body, out.headers);

export class StackHost {
  readonly app = express();
  readonly store: StateStore;
  readonly faults = new FaultRegistry();
  readonly requestCounts: Record<string, number> = {};
  /** IDs of the services that modules add to the API index (`GET /v2/storage` → services). */
  readonly serviceIds: string[] = [];
  readonly adminApi: RouteGroup<RequestContext>;
  readonly storageApi: RouteGroup<StorageContext>;
  readonly publicApi: RouteGroup<RequestContext>;
  /** The stack's base URL (known once it listens). */
  url = '';
  /** Where the bytes of the stack's files are (emulator/file-storage), opened before the stack listens. */
  fileStorage!: FileStorage;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closingDown = false;

  constructor(
    readonly dataDir: string,
    state: StackState,
    /** simulated duration of storage jobs (and of the services' tasks); `PUT /_emulator/job-delay` changes it */
    public jobDelayMs: number,
    /** rows per exported slice */
    readonly sliceRows: number,
    /**
     * Whether a change is saved before its answer is sent (a SIGKILL then never loses what a client was told). Off,
     * changes are saved on the store's short debounce: for benchmarks, whose stacks are never killed, as every save
     * writes the whole state (an emulator's cost, which at 5,000 tables outweighs the migration's own).
     */
    readonly saveBeforeAnswer = true,
  ) {
    this.store = new StateStore(dataDir, state);
    const counted = (template: string): RequestHandler => (req, _res, next) => {
      const key = `${req.method} ${template}`;
      this.requestCounts[key] = (this.requestCounts[key] ?? 0) + 1;
      next();
    };
    const faults = injectFaults(this.faults);
    const authenticate: RequestHandler = (req, res, next) => {
      const value = str(req.headers['x-storageapi-token']);
      if (!value) throw new ApiError(401, 'storage.tokenMissing', 'Access token must be set');
      const owner = this.tokenOwner(value);
      if (!owner) throw new ApiError(401, 'storage.tokenInvalid', 'Invalid access token');
      res.locals.owner = owner;
      next();
    };

    // What a client is told is saved first; a `lose-response` or `late-write` fault then drops the answer (done on
    // the stack, but the client never hears of it).
    const commitThenSend = async (req: Request, res: Response, out: Reply) => {
      await this.commit();
      if (isResponseLost(res)) req.socket.destroy();
      else send(req, res, out);
    };
    this.adminApi = new RouteGroup({ before: () => [], context: (base) => base, send });
    this.storageApi = new RouteGroup({
      before: (template) => [counted(template), faults, authenticate],
      context: (base, res) => ({ ...base, ...(res.locals.owner as { project: ProjectRecord; token: TokenRecord }), runId: str(base.req.headers['x-kbc-runid']) ?? null }),
      send: commitThenSend,
      methodNotAllowed: true,
    });
    this.publicApi = new RouteGroup({ before: (template) => [counted(template), faults], context: (base) => base, send: commitThenSend });

    const app = this.app;
    app.disable('x-powered-by');
    app.set('etag', false);
    app.use((req, _res, next) => {
      const url = new URL(req.url, 'http://emulator.local');
      let path = url.pathname.replace(/\/{2,}/g, '/');
      if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
      req.url = `${path}${url.search}`;
      next();
    });
    app.use((req, res, next) => {
      if (!req.path.startsWith('/_emulator')) return next();
      this.adminApi.router(req, res, (error?: unknown) => next(error ?? notFound('emulator.notFound', `Admin route ${req.method} ${req.path} not found`)));
    });
    app.use(this.storageApi.router, this.publicApi.router);
    // What no route took is counted and faulted like the rest, then answered 404 (405 on a known Storage API path).
    app.use(counted('(unmatched)'), faults, (req, _res, next) => {
      if (!req.path.startsWith('/v2/storage')) throw notFound('notFound', `Route ${req.method} ${req.path} not found`);
      next();
    });
    app.use(authenticate, this.storageApi.pathMatcher, (req: Request, res: Response) => {
      const allowed = this.storageApi.allowedMethods(res);
      if (allowed.length) throw new ApiError(405, 'storage.methodNotAllowed', `Method ${req.method} is not allowed on ${req.path} (allowed: ${allowed.join(', ')})`);
      throw notFound('storage.routeNotFound', `Route ${req.method} ${req.path} not found`);
    });
    app.use(async (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      await this.commit(); // a refused request may have changed something first (a job it started)
      if (res.headersSent) return void res.destroy();
      if (error instanceof ApiError) return sendJson(res, error.status, errorBody(error.code, error.message));
      sendJson(res, 500, errorBody('internalError', `Internal error: ${(error as Error)?.message ?? String(error)}`));
    });
  }

  get state(): StackState {
    return this.store.state;
  }
  get stack(): StackSeed {
    return this.state.stack;
  }
  /** Marks the state changed: saved before the next answer, or on a short debounce. */
  changed(): void {
    this.store.markDirty();
  }
  /** Saves what changed, and waits for a save that is running (before an answer that may reveal either). */
  commit(): Promise<void> {
    return this.saveBeforeAnswer ? this.store.flush() : Promise.resolve();
  }
  get closing(): boolean {
    return this.closingDown;
  }

  project(id: number): ProjectRecord | undefined {
    return this.state.projects.find((p) => p.id === id);
  }

  /** The project and token owning a Storage API token, if any. */
  tokenOwner(value: string | undefined): { project: ProjectRecord; token: TokenRecord } | undefined {
    if (!value) return undefined;
    for (const project of this.state.projects) {
      const token = project.tokens.find((t) => t.token === value);
      if (token) return { project, token };
    }
    return undefined;
  }

  /** HMAC-SHA256 (hex) with the stack's own secret. */
  hmac(text: string): string {
    return createHmac('sha256', this.state.secret).update(text).digest('hex');
  }

  nextMetadataId(): string {
    return String(this.state.nextId.metadata++);
  }

  /** Runs `fn` after every earlier call with the same key has settled. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  /** Runs `fn` in `ms`, unless the stack is closing by then. */
  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closingDown) fn();
    }, ms);
    this.timers.add(t);
  }

  /** Work that shutdown waits for (a running job). */
  track(work: Promise<unknown>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  async shutdown(): Promise<void> {
    this.closingDown = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    await this.store.flush();
  }
}
