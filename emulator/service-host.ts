/**
 * What the emulator's service modules (workspaces, encryption, GoodData) need from a stack, and the routers they
 * register on. server.ts passes itself and its routers; the modules stay out of its big class.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from './http';
import type { ProjectRecord, StackState, TokenRecord } from './state';

export interface PublicCtx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: () => Promise<Record<string, unknown>>;
}

/** A Storage API request whose token was accepted. */
export interface StorageCtx extends PublicCtx {
  project: ProjectRecord;
  token: TokenRecord;
}

export interface ServiceReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const serviceReply = (status: number, body?: unknown, headers?: Record<string, string>): ServiceReply => ({ status, body, headers });

export interface ServiceHost {
  /** The stack's base URL (known once it listens). */
  readonly url: string;
  readonly state: StackState;
  readonly jobDelayMs: number;
  changed(): void;
  /** HMAC-SHA256 (hex) with the stack's own secret. */
  hmac(text: string): string;
  project(id: number): ProjectRecord | undefined;
}

export interface ServiceRouters {
  /** `/v2/storage/...`: token checked by the server, fault injection and request counts apply. */
  storage: Router<StorageCtx>;
  /** Any other path (`/_services/...`): no token check by the server, fault injection and request counts apply. */
  public: Router<PublicCtx>;
  /** `/_emulator/...`: no token, never subject to faults. */
  admin: Router<PublicCtx>;
  /** Service IDs the module adds to the API index (`GET /v2/storage` → services). */
  services: string[];
}

/** The project and token owning a Storage API token, if any. */
export function storageTokenOwner(state: StackState, value: string | undefined): { project: ProjectRecord; token: TokenRecord } | undefined {
  if (!value) return undefined;
  for (const project of state.projects) {
    const token = project.tokens.find((t) => t.token === value);
    if (token) return { project, token };
  }
  return undefined;
}

/** Base URL of a service of this stack, as the API index advertises it. */
export const serviceUrl = (host: ServiceHost, id: string): string => `${host.url}/_services/${id}`;

/** A stack given as in Keboola's APIs (`connection.eu-central-1.keboola.com`) or as a URL → its base URL. */
export function stackBaseUrl(stack: string): string {
  const trimmed = stack.trim().replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) return trimmed;
  // emulated stacks listen on plain HTTP (on loopback, or on a host:port in compose); real ones on HTTPS
  return /^(127\.|localhost|\[::1\])/.test(trimmed) || /:\d+$/.test(trimmed) ? `http://${trimmed}` : `https://${trimmed}`;
}
