/**
 * Fault injection: outages (503 maintenance + Retry-After), dropped connections, latency and rate limiting,
 * scoped by path pattern / method and limited by time or by a number of matching requests.
 * Three more kinds prove idempotency and input checking: `lose-response` carries the request out and then closes
 * the connection without an answer (the client cannot know it succeeded); `late-write` reads the request, closes
 * the connection at once (so the client gives up and retries) and carries the request out `latencyMs` later,
 * after the retry (a write that reaches the stack after its client gave up); and `garbage` answers 200 with a body
 * of the wrong shape (a stack whose API differs from the documented one). Streaming routes (the object store) take
 * no `lose-response` or `late-write`.
 */
import type { RequestHandler, Response } from 'express';
import { z } from 'zod';
import { readBodyAhead } from './body';
import { errorBody, sendJson } from './replies';
import { timestamp } from './state';

export const faultSpecSchema = z.object({
  kind: z.enum(['outage', 'drop', 'latency', 'rate-limit', 'lose-response', 'late-write', 'garbage']),
  forSeconds: z.number().positive().optional(),
  forRequests: z.number().int().positive().optional(),
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  latencyMs: z.number().int().nonnegative().optional(),
  /** a regular expression tested against the request path (without query string) */
  pathPattern: z.string().optional(),
  method: z.string().optional(),
});

export type FaultSpec = z.infer<typeof faultSpecSchema>;

export interface ActiveFault extends FaultSpec {
  id: string;
  createdAt: string;
  expiresAt: number | null;
  remainingRequests: number | null;
  hits: number;
}

export class FaultRegistry {
  private faults: ActiveFault[] = [];
  private seq = 0;

  add(spec: FaultSpec): ActiveFault {
    if (spec.pathPattern) new RegExp(spec.pathPattern); // throws on an invalid pattern
    const fault: ActiveFault = {
      ...spec,
      id: `fault-${++this.seq}`,
      createdAt: new Date().toISOString(),
      expiresAt: spec.forSeconds ? Date.now() + spec.forSeconds * 1000 : null,
      remainingRequests: spec.forRequests ?? null,
      hits: 0,
    };
    this.faults.push(fault);
    return fault;
  }

  list(): ActiveFault[] {
    this.prune();
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }

  private prune(): void {
    const now = Date.now();
    this.faults = this.faults.filter((f) => (f.expiresAt === null || f.expiresAt > now) && (f.remainingRequests === null || f.remainingRequests > 0));
  }

  /** The faults that apply to this request (consuming one request of each counted fault). */
  match(method: string, path: string): ActiveFault[] {
    this.prune();
    const hit: ActiveFault[] = [];
    for (const f of this.faults) {
      if (f.method && f.method.toUpperCase() !== method.toUpperCase()) continue;
      if (f.pathPattern && !new RegExp(f.pathPattern).test(path)) continue;
      f.hits++;
      if (f.remainingRequests !== null) f.remainingRequests--;
      hit.push({ ...f });
    }
    return hit;
  }
}

/** Parses a CLI fault flag: `outage:30s`, `outage:20r`, `drop:10r`, `latency:200ms`, `rate-limit:5r`. */
export function parseFaultFlag(flag: string): FaultSpec {
  const m = /^(outage|drop|latency|rate-limit):(\d+)(ms|s|r)$/.exec(flag.trim());
  if (!m) throw new Error(`invalid fault "${flag}" (expected e.g. outage:30s, outage:20r, drop:10r, latency:200ms, rate-limit:5r)`);
  const kind = m[1] as FaultSpec['kind'];
  const n = Number(m[2]);
  const unit = m[3];
  if (kind === 'latency') {
    if (unit !== 'ms') throw new Error(`latency fault takes milliseconds: latency:${n}ms`);
    return { kind, latencyMs: n };
  }
  if (unit === 'ms') throw new Error(`${kind} fault takes seconds (s) or requests (r)`);
  return unit === 's' ? { kind, forSeconds: n } : { kind, forRequests: n };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Whether a `lose-response` or `late-write` fault hit this request: it is carried out and never answered. */
export const isResponseLost = (res: Response): boolean => res.locals.responseLost === true;

/** Express middleware: applies the registry's faults that match the request (its path without the query string). */
export function injectFaults(registry: FaultRegistry): RequestHandler {
  return async (req, res, next) => {
    for (const fault of registry.match(req.method, req.path)) {
      if (fault.kind === 'latency') await sleep(fault.latencyMs ?? 200);
      else if (fault.kind === 'lose-response') res.locals.responseLost = true;
      else if (fault.kind === 'late-write') {
        if (!(await readBodyAhead(req, res))) break; // a body that does not parse is answered as usual
        res.locals.responseLost = true;
        req.socket.destroy();
        await sleep(fault.latencyMs ?? 1000);
      }
      else if (fault.kind === 'garbage') return sendJson(res, 200, { emulatorGarbage: true, note: 'a 200 answer of a shape no documented endpoint has' });
      else if (fault.kind === 'drop') return void req.socket.destroy();
      else if (fault.kind === 'outage') {
        const retryAfter = fault.retryAfterSeconds ?? (fault.expiresAt ? Math.max(1, Math.ceil((fault.expiresAt - Date.now()) / 1000)) : 1);
        const end = new Date(fault.expiresAt ?? Date.now() + retryAfter * 1000);
        return sendJson(res, 503, { status: 'maintenance', reason: 'The stack is down for maintenance (emulated outage)', estimatedEndTime: timestamp(end) }, { 'Retry-After': String(retryAfter) });
      } else if (fault.kind === 'rate-limit') {
        return sendJson(res, 429, errorBody('tooManyRequests', 'Too many requests. Slow down.'), { 'Retry-After': String(fault.retryAfterSeconds ?? 1) });
      }
    }
    next();
  };
}
