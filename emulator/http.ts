/** HTTP plumbing of the emulator: errors in Keboola's shape, a template router, body parsing (JSON and PHP-style forms). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (code: string, message: string) => new ApiError(404, code, message);
export const badRequest = (message: string, code = 'storage.validation') => new ApiError(400, code, message);

export function errorBody(code: string, message: string): Record<string, unknown> {
  return { error: message, code, status: 'error', exceptionId: `exception-${randomBytes(8).toString('hex')}` };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

export interface Route<C> {
  method: string;
  template: string;
  regex: RegExp;
  keys: string[];
  handler: (ctx: C, params: Record<string, string>) => unknown;
}

export class Router<C> {
  readonly routes: Route<C>[] = [];

  add(method: string, template: string, handler: Route<C>['handler']): void {
    const keys: string[] = [];
    const pattern = template
      .split('/')
      .map((part) => {
        const m = /^\{(\w+)\}$/.exec(part);
        if (m) {
          keys.push(m[1]!);
          return '([^/]+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, template, regex: new RegExp(`^${pattern}$`), keys, handler });
  }

  match(method: string, path: string): { route: Route<C>; params: Record<string, string> } | { allowed: string[] } | null {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
      return { route, params };
    }
    return allowed.length ? { allowed } : null;
  }
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, 'storage.requestTooLarge', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses `a[b][]=1&a[b][]=2&c[0][key]=x` into nested objects/arrays like PHP does. */
export function parseForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const m = /^([^[\]]+)((?:\[[^\]]*\])*)$/.exec(rawKey);
    if (!m) {
      root[rawKey] = value;
      continue;
    }
    const path = [m[1]!, ...[...m[2]!.matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]!)];
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < path.length; i++) {
      const key = path[i]!;
      const last = i === path.length - 1;
      const nextIsArray = !last && (path[i + 1] === '' || /^\d+$/.test(path[i + 1]!));
      if (Array.isArray(node)) {
        if (key === '') {
          if (last) node.push(value);
          else {
            const child = nextIsArray ? [] : {};
            node.push(child);
            node = child as Record<string, unknown>;
          }
          continue;
        }
        const idx = Number(key);
        if (last) node[idx] = value;
        else {
          node[idx] ??= nextIsArray ? [] : {};
          node = node[idx] as Record<string, unknown>;
        }
        continue;
      }
      if (last) node[key] = value;
      else {
        node[key] ??= nextIsArray ? [] : {};
        node = node[key] as Record<string, unknown>;
      }
    }
  }
  return root;
}

export async function parseBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  if (!raw.length) return {};
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  const text = raw.toString('utf8');
  if (type.includes('application/x-www-form-urlencoded')) return parseForm(text);
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    throw badRequest('Request body must be a JSON object');
  } catch (e) {
    if (e instanceof ApiError) throw e;
    if (!type.includes('json') && text.includes('=')) return parseForm(text);
    throw badRequest(`Invalid JSON body: ${(e as Error).message}`, 'storage.invalidJson');
  }
}

export function bool(v: unknown, dflt = false): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return !['0', 'false', 'no', 'off'].includes(String(v).toLowerCase());
}

export function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

/** Accepts an array, a form "array" object, or a comma separated string. */
export function strList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map(String).filter((s) => s !== '');
  if (typeof v === 'object') return Object.values(v as object).map(String);
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A JSON value that may arrive as an object (JSON body) or as a JSON string (form body). */
export function jsonObjectParam(v: unknown, name: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw badRequest(`Invalid JSON in "${name}"`);
    }
  }
  if (Array.isArray(v) && v.length === 0) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`"${name}" must be an object`);
  return v as Record<string, unknown>;
}
