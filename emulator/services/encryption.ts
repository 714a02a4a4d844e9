/**
 * The Encryption API of an emulated stack (`{stackUrl}/_services/encryption`), shaped like Keboola's:
 * - `POST /encrypt?componentId=&projectId=&configId=`: a JSON body comes back with every string under a `#` key
 *   encrypted (a JSON string body gives a JSON string). The ciphertext is AES-256-GCM under a key of this stack's
 *   secret, bound (as authenticated data) to the stack, the project, the component and, when given, the
 *   configuration. Nothing decrypts it over the API.
 * - `POST /migrate-configuration[?dry-run=true]` with `X-KBC-ManageApiToken` (a Manage API token of this stack):
 *   body `{sourceStorageApiToken, destinationStack, destinationStorageApiToken, componentId, configId, branchId}`.
 *   Decrypts the configuration's values (and its rows') in this stack, has the destination stack's Encryption API
 *   encrypt them for the destination project, and writes the configuration there (not in a dry run).
 * Test-only: `POST /_emulator/encryption/decrypt {value}` → the plain text and what the value is bound to.
 *
 * Seeds cannot hold real ciphertext (the key is born with the stack's state): a seed value
 * `KBC::ProjectSecure::<base64 of the plain text>` stands for a value this stack encrypted for the configuration
 * that holds it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { StackHost } from '../host';
import { str } from '../params';
import { ApiError, badRequest, reply } from '../replies';
import type { ConfigurationRecord } from '../state';
import { findConfig } from '../lookup';

interface Binding {
  stack: string;
  projectId: number | null;
  componentId: string;
  configId: string | null;
}

const PREFIX = { project: 'KBC::ProjectSecure::', config: 'KBC::ConfigSecure::', component: 'KBC::ComponentSecure::' } as const;
const BASE = '/_services/encryption';

class DecryptError extends Error {}

function stackIdentity(host: StackHost): string {
  return host.state.stack.name ?? host.state.stack.region;
}

function key(host: StackHost): Buffer {
  return createHash('sha256').update(host.hmac('encryption-api-key')).digest();
}

function aad(b: Binding): Buffer {
  return Buffer.from(JSON.stringify([b.stack, b.projectId, b.componentId, b.configId]));
}

function encryptValue(host: StackHost, plain: string, binding: Omit<Binding, 'stack'>): string {
  const b: Binding = { stack: stackIdentity(host), ...binding };
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key(host), iv);
  cipher.setAAD(aad(b));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  const envelope = { v: 1, s: b.stack, p: b.projectId, c: b.componentId, k: b.configId, iv: iv.toString('base64'), t: cipher.getAuthTag().toString('base64'), d: data.toString('base64') };
  const prefix = b.configId !== null ? PREFIX.config : b.projectId !== null ? PREFIX.project : PREFIX.component;
  return prefix + Buffer.from(JSON.stringify(envelope)).toString('base64');
}

interface Envelope {
  v: number;
  s: string;
  p: number | null;
  c: string;
  k: string | null;
  iv: string;
  t: string;
  d: string;
}

function parseEnvelope(value: string): { envelope?: Envelope; seedPlain?: string } {
  const prefix = Object.values(PREFIX).find((p) => value.startsWith(p));
  if (!prefix) throw new DecryptError('it is not a Keboola ciphertext');
  const decoded = Buffer.from(value.slice(prefix.length), 'base64').toString('utf8');
  try {
    const parsed = JSON.parse(decoded) as Envelope;
    if (parsed && typeof parsed === 'object' && parsed.v === 1) return { envelope: parsed };
  } catch {
    // not an envelope
  }
  if (prefix === PREFIX.project && /^[\x20-\x7e]*$/.test(decoded)) return { seedPlain: decoded };
  throw new DecryptError('the ciphertext is corrupted');
}

/** Decrypts a value made by this stack; `expected` (when given) must match what it is bound to. */
function decryptValue(host: StackHost, value: string, expected?: { projectId: number; componentId: string; configId: string }): { plain: string; binding: Binding | null } {
  const { envelope, seedPlain } = parseEnvelope(value);
  if (seedPlain !== undefined) return { plain: seedPlain, binding: null };
  const e = envelope!;
  const b: Binding = { stack: e.s, projectId: e.p, componentId: e.c, configId: e.k };
  if (b.stack !== stackIdentity(host)) throw new DecryptError(`it was encrypted by another stack (${b.stack})`);
  if (expected) {
    if (b.componentId !== expected.componentId) throw new DecryptError(`it was encrypted for component ${b.componentId}, not ${expected.componentId}`);
    if (b.projectId !== null && b.projectId !== expected.projectId) throw new DecryptError(`it was encrypted for project ${b.projectId}, not ${expected.projectId}`);
    if (b.configId !== null && b.configId !== expected.configId) throw new DecryptError(`it was encrypted for configuration ${b.configId}, not ${expected.configId}`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key(host), Buffer.from(e.iv, 'base64'));
    decipher.setAAD(aad(b));
    decipher.setAuthTag(Buffer.from(e.t, 'base64'));
    return { plain: Buffer.concat([decipher.update(Buffer.from(e.d, 'base64')), decipher.final()]).toString('utf8'), binding: b };
  } catch {
    throw new DecryptError('it cannot be decrypted with this stack\'s key');
  }
}

/** Applies `fn` to every string under a `#` key (recursively); returns a copy. */
function mapSecrets(value: unknown, fn: (plain: string, path: string) => string, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => mapSecrets(v, fn, `${path}${path ? '.' : ''}${i}`));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => {
        const p = `${path}${path ? '.' : ''}${k}`;
        return [k, k.startsWith('#') && typeof v === 'string' ? fn(v, p) : mapSecrets(v, fn, p)];
      }),
    );
  }
  return value;
}

const apiError = (status: number, message: string) => new ApiError(status, 'encryption.error', message);

async function callJson(url: string, init: { method: string; headers?: Record<string, string>; body?: unknown }): Promise<{ status: number; body: any }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      headers: { accept: 'application/json', ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw apiError(502, `The destination stack cannot be reached: ${(e as Error).message}`);
  }
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

const errorText = (body: any) => (body && typeof body === 'object' ? String(body.error ?? body.message ?? JSON.stringify(body)) : String(body));

/** A stack given as in Keboola's APIs (`connection.eu-central-1.keboola.com`) or as a URL → its base URL. */
function stackBaseUrl(stack: string): string {
  const trimmed = stack.trim().replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) return trimmed;
  // emulated stacks listen on plain HTTP (on loopback, or on a host:port in compose); real ones on HTTPS
  return /^(127\.|localhost|\[::1\])/.test(trimmed) || /:\d+$/.test(trimmed) ? `http://${trimmed}` : `https://${trimmed}`;
}

export function registerEncryption(host: StackHost): void {
  host.serviceIds.push('encryption');
  const api = host.publicApi;

  api.post(`${BASE}/encrypt`, async (ctx) => {
    const q = ctx.url.searchParams;
    const componentId = q.get('componentId');
    if (!componentId) throw apiError(400, 'Parameter "componentId" is required');
    if (!host.state.stack.components.some((c) => c.id === componentId)) throw apiError(400, `Component "${componentId}" not found on this stack`);
    const projectParam = q.get('projectId');
    const projectId = projectParam ? Number(projectParam) : null;
    if (projectParam && !host.project(projectId!)) throw apiError(400, `Project "${projectParam}" not found on this stack`);
    const configId = q.get('configId') || null;
    if (configId && projectId === null) throw apiError(400, 'Parameter "projectId" is required with "configId"');
    const binding = { projectId, componentId, configId };
    const raw = await ctx.body().catch(() => {
      throw apiError(400, 'The body must be JSON: an object (its "#" keys are encrypted) or a string');
    });
    const encrypt = (plain: string) => (Object.values(PREFIX).some((x) => plain.startsWith(x)) ? plain : encryptValue(host, plain, binding));
    return reply(200, mapSecrets(raw, encrypt));
  });

  api.post(`${BASE}/migrate-configuration`, async (ctx) => {
    const manage = str(ctx.req.headers['x-kbc-manageapitoken']);
    if (!manage) throw apiError(401, 'Manage API token must be set (X-KBC-ManageApiToken)');
    if (!(host.state.stack.manageTokens ?? []).some((t) => t.token === manage)) throw apiError(401, 'Invalid Manage API token');
    const dryRun = ['1', 'true'].includes(String(ctx.url.searchParams.get('dry-run') ?? '').toLowerCase());
    const body = await ctx.body();
    const need = (name: string) => {
      const v = str(body[name]);
      if (!v) throw apiError(400, `Parameter "${name}" is required`);
      return v;
    };
    const [sourceToken, destinationStack, destinationToken, componentId, configId, branchId] = [
      need('sourceStorageApiToken'),
      need('destinationStack'),
      need('destinationStorageApiToken'),
      need('componentId'),
      need('configId'),
      need('branchId'),
    ];
    const source = host.tokenOwner(sourceToken);
    if (!source) throw apiError(400, 'Invalid source Storage API token');
    if (!['default', String(source.project.defaultBranchId)].includes(branchId)) throw apiError(400, `Branch "${branchId}" not found`);
    const config = findConfig(source.project, componentId, configId);
    if (!config || config.isDeleted) throw apiError(400, `Configuration "${configId}" of component "${componentId}" not found`);

    const expected = { projectId: source.project.id, componentId, configId };
    const decrypt = (where: string) => (value: string, path: string) => {
      if (!Object.values(PREFIX).some((x) => value.startsWith(x))) return value;
      try {
        return decryptValue(host, value, expected).plain;
      } catch (e) {
        throw apiError(400, `Configuration "${configId}" of component "${componentId}": the value of "${where}${path}" cannot be decrypted: ${(e as Error).message}`);
      }
    };
    const plain = {
      configuration: mapSecrets(config.configuration, decrypt('')),
      rows: config.rows.map((row) => ({ id: row.id, configuration: mapSecrets(row.configuration, decrypt(`rows.${row.id}.`)) })),
    };

    const destination = stackBaseUrl(destinationStack);
    const token = { 'x-storageapi-token': destinationToken };
    const verify = await callJson(`${destination}/v2/storage/tokens/verify`, { method: 'GET', headers: token });
    if (verify.status !== 200) throw apiError(400, `Invalid destination Storage API token for ${destinationStack}: ${errorText(verify.body)}`);
    const destinationProject = Number(verify.body?.owner?.id);
    const index = await callJson(`${destination}/v2/storage`, { method: 'GET' });
    const encryptionUrl = (index.body?.services as Array<{ id: string; url: string }> | undefined)?.find((s) => s.id === 'encryption')?.url;
    if (!encryptionUrl) throw apiError(400, `The stack ${destinationStack} has no Encryption API`);
    const encrypted = await callJson(`${encryptionUrl}/encrypt?${new URLSearchParams({ componentId, projectId: String(destinationProject) })}`, { method: 'POST', body: plain });
    if (encrypted.status !== 200) throw apiError(400, `The Encryption API of ${destinationStack} refused the values of configuration "${configId}": ${errorText(encrypted.body)}`);
    const migrated = encrypted.body as { configuration: Record<string, unknown>; rows: Array<{ id: string; configuration: Record<string, unknown> }> };

    if (!dryRun) await writeDestination(destination, token, config, migrated);
    return reply(200, {
      message: dryRun
        ? `Configuration with ID '${configId}' can be migrated to stack '${destinationStack}' (dry run, nothing written).`
        : `Configuration with ID '${configId}' successfully migrated to stack '${destinationStack}'.`,
      data: { destinationStack, componentId, configId, branchId },
    });
  });

  host.adminApi.post('/_emulator/encryption/decrypt', async (ctx) => {
    const value = str((await ctx.body()).value);
    if (!value) throw badRequest('"value" is required', 'emulator.invalidDecrypt');
    try {
      const { plain, binding } = decryptValue(host, value);
      return reply(200, { plain, seed: binding === null, ...(binding ?? {}) });
    } catch (e) {
      throw badRequest(`The value cannot be decrypted: ${(e as Error).message}`, 'emulator.decryptFailed');
    }
  });
}

async function writeDestination(
  destination: string,
  headers: Record<string, string>,
  config: ConfigurationRecord,
  migrated: { configuration: Record<string, unknown>; rows: Array<{ id: string; configuration: Record<string, unknown> }> },
): Promise<void> {
  const base = `${destination}/v2/storage/branch/default/components/${encodeURIComponent(config.componentId)}/configs`;
  const one = `${base}/${encodeURIComponent(config.id)}`;
  const fail = (what: string, res: { status: number; body: any }) => {
    throw apiError(res.status >= 500 ? 502 : 400, `Writing the configuration to the destination failed (${what}, HTTP ${res.status}): ${errorText(res.body)}`);
  };
  const existing = await callJson(one, { method: 'GET', headers });
  let rows = new Set<string>();
  if (existing.status === 404) {
    const created = await callJson(base, {
      method: 'POST',
      headers,
      body: { configurationId: config.id, name: config.name, description: config.description, configuration: migrated.configuration, changeDescription: 'Configuration migrated with its encrypted values' },
    });
    if (created.status !== 201) fail('create', created);
  } else if (existing.status === 200) {
    rows = new Set(((existing.body?.rows ?? []) as Array<{ id: string }>).map((r) => String(r.id)));
    const updated = await callJson(one, { method: 'PUT', headers, body: { configuration: migrated.configuration, changeDescription: 'Encrypted values migrated' } });
    if (updated.status !== 200) fail('update', updated);
  } else fail('read', existing);
  for (const row of migrated.rows) {
    const source = config.rows.find((r) => r.id === row.id);
    const res = rows.has(row.id)
      ? await callJson(`${one}/rows/${encodeURIComponent(row.id)}`, { method: 'PUT', headers, body: { configuration: row.configuration, changeDescription: 'Encrypted values migrated' } })
      : await callJson(`${one}/rows`, { method: 'POST', headers, body: { rowId: row.id, name: source?.name ?? row.id, description: source?.description ?? '', configuration: row.configuration } });
    if (res.status !== 200 && res.status !== 201) fail(`row ${row.id}`, res);
  }
}
