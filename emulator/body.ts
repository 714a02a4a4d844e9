/**
 * Request bodies, parsed by express's parsers when a handler first asks for them: handlers look up the entities of
 * the path first, so a request for a missing bucket is a 404 even when its body is broken.
 */
import type { IncomingMessage } from 'node:http';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { ApiError, badRequest } from './replies';

const LIMIT = '64mb';

const isForm = (req: IncomingMessage) => String(req.headers['content-type'] ?? '').toLowerCase().includes('application/x-www-form-urlencoded');

/** PHP-style forms (`columns[]=a&columns[]=b`, `metadata[0][key]=k`) as nested objects and arrays, like PHP reads them. */
const formParser = express.urlencoded({ extended: true, limit: LIMIT, parameterLimit: Infinity, type: isForm });
const isJson = (req: IncomingMessage) => /^application\/([\w.-]+\+)?json\b/i.test(String(req.headers['content-type'] ?? ''));
/** A Storage API body is a form or JSON sent as JSON: a JSON text under another content type is refused, as the API does. */
const jsonParser = express.json({ limit: LIMIT, strict: false, type: isJson });
const anyJsonParser = express.json({ limit: LIMIT, strict: false, type: () => true });

const hasBody = (req: IncomingMessage) => Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;

function run(parser: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => void parser(req, res, (error?: unknown) => (error ? reject(error) : resolve())));
}

/** body-parser's errors (http-errors with a `type`) in Keboola's shape. */
function asApiError(error: unknown, invalidJsonCode: string): unknown {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') return new ApiError(413, 'storage.requestTooLarge', 'Request body too large');
  if (type === 'entity.parse.failed') return badRequest(`Invalid JSON body: ${(error as Error).message}`, invalidJsonCode);
  return error;
}

/** A Storage API body: a JSON object or a form; `{}` when there is no body. */
export async function objectBody(req: Request, res: Response): Promise<Record<string, unknown>> {
  try {
    await run(formParser, req, res);
    await run(jsonParser, req, res); // skips a body the form parser has read
  } catch (e) {
    throw asApiError(e, 'storage.invalidJson');
  }
  if (req.body === undefined && hasBody(req)) {
    throw badRequest(
      `Unsupported Content-Type "${String(req.headers['content-type'] ?? '(none)')}": send JSON as application/json, or a form as application/x-www-form-urlencoded`,
      'storage.unsupportedContentType',
    );
  }
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('Request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Any JSON value, whatever the content type; `{}` when there is no body. */
export async function jsonBody(req: Request, res: Response, invalidJsonCode: string): Promise<unknown> {
  try {
    await run(anyJsonParser, req, res);
  } catch (e) {
    throw asApiError(e, invalidJsonCode);
  }
  return req.body === undefined ? {} : (req.body as unknown);
}

/**
 * Reads a form or JSON body now, for handlers that parse it later (body-parser keeps what it read on the request;
 * see `objectBody`); false when it does not parse. Used by the `late-write` fault, which closes the connection
 * before the handler runs.
 */
export async function readBodyAhead(req: Request, res: Response): Promise<boolean> {
  try {
    await run(formParser, req, res);
    await run(jsonParser, req, res);
    // a body of another content type is left to the handler (which refuses it or parses it as it documents)
    return req.body !== undefined || !hasBody(req);
  } catch {
    return false;
  }
}
