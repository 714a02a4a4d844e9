/**
 * How the emulator answers: route handlers return a `Reply` (JSON) or throw an `ApiError`, which goes out in
 * Keboola's error shape `{error, code, status: "error", exceptionId}`.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

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

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const reply = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({ status, body, headers });

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
