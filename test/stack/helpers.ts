/**
 * A tiny node:http server for the stack client's unit tests: records every request and answers with the
 * handler registered for `METHOD path`. Includes a fake GCS object store under `/_gcs` (docs/CONTRACTS.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const TOKEN = 'tok-SECRET-0123456789abcdef';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json?: unknown;
}

export type Handler = (req: RecordedRequest, res: http.ServerResponse, raw: http.IncomingMessage) => unknown;

export class TestServer {
  url = '';
  readonly requests: RecordedRequest[] = [];
  /** Objects of the fake GCS store: `bucket/key` → content. */
  readonly objects = new Map<string, Buffer>();
  readonly gcsToken = 'gcs-access-token-XYZ';
  private readonly routes: Array<{ method: string; path: string | RegExp; handler: Handler }> = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor() {
    this.server = http.createServer((raw, res) => {
      void this.dispatch(raw, res);
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  on(method: string, path: string | RegExp, handler: Handler): this {
    this.routes.unshift({ method, path, handler });
    return this;
  }

  /** Registers a JSON answer. */
  reply(method: string, path: string | RegExp, status: number, body?: unknown, headers: Record<string, string> = {}): this {
    return this.on(method, path, (_req, res) => sendJson(res, status, body, headers));
  }

  reset(): void {
    this.routes.length = 0;
    this.requests.length = 0;
    this.objects.clear();
  }

  /** Requests to the Storage API only (not the object store). */
  apiRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/v2/'));
  }

  last(method?: string, path?: string): RecordedRequest {
    const list = this.requests.filter((r) => (!method || r.method === method) && (!path || r.path === path));
    const found = list[list.length - 1];
    if (!found) throw new Error(`no request ${method ?? ''} ${path ?? ''} recorded; got ${this.requests.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    return found;
  }

  /** The fake object store: PUT/GET `/_gcs/{bucket}/{key}` with the Bearer token, GET with a signature. */
  enableObjectStore(): this {
    this.on('PUT', /^\/_gcs\//, (req, res) => {
      if (req.headers.authorization !== `Bearer ${this.gcsToken}`) return sendJson(res, 401, { error: 'bad bearer' });
      this.objects.set(decodeURIComponent(req.path.slice('/_gcs/'.length)), req.body);
      res.writeHead(200).end();
    });
    this.on('GET', /^\/_gcs\//, (req, res) => {
      const signed = 'X-Goog-Signature' in req.query;
      if (!signed && req.headers.authorization !== `Bearer ${this.gcsToken}`) return sendJson(res, 401, { error: 'bad bearer' });
      if (signed && req.headers.authorization) return sendJson(res, 400, { error: 'two authentication mechanisms' });
      const object = this.objects.get(decodeURIComponent(req.path.slice('/_gcs/'.length)));
      if (!object) return sendJson(res, 404, { error: 'no such object' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(object);
    });
    return this;
  }

  private async dispatch(raw: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    const url = new URL(raw.url ?? '/', 'http://localhost');
    const route = this.routes.find(
      (r) => r.method === raw.method && (typeof r.path === 'string' ? r.path === url.pathname : r.path.test(url.pathname)),
    );
    const recorded: RecordedRequest = {
      method: raw.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: raw.headers,
      body: Buffer.alloc(0),
    };
    for await (const chunk of raw) chunks.push(chunk as Buffer);
    recorded.body = Buffer.concat(chunks);
    if (recorded.body.length > 0 && String(raw.headers['content-type'] ?? '').includes('json')) {
      try {
        recorded.json = JSON.parse(recorded.body.toString('utf8'));
      } catch {
        // left undefined
      }
    }
    this.requests.push(recorded);
    if (!route) return sendJson(res, 404, { error: `no test route for ${raw.method} ${url.pathname}`, code: 'test.noRoute' });
    try {
      await route.handler(recorded, res, raw);
    } catch (error) {
      sendJson(res, 500, { error: String(error) });
    }
  }
}

export function sendJson(res: http.ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** A job answer in the blueprint's shape. */
export function job(id: number, status: 'waiting' | 'processing' | 'success' | 'error', extra: Record<string, unknown> = {}) {
  return {
    id,
    status,
    url: `https://connection.keboola.com/v2/storage/jobs/${id}`,
    tableId: null,
    operationName: 'tableImport',
    operationParams: {},
    createdTime: '2017-02-13T12:51:48+0100',
    startTime: null,
    endTime: null,
    runId: null,
    results: null,
    creatorToken: { id: '27978', description: 'dev@keboola.com' },
    ...extra,
  };
}
