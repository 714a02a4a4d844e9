// Where the CLI and the worker find Temporal: flags first, then the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
// TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE through @temporalio/envconfig, which is how
// Temporal Cloud is reached with mTLS or an API key), then defaults. Every value is validated with zod, and an error
// names the value that is wrong and where it came from, e.g. `TEMPORAL_ADDRESS="localhost": must be host:port`.
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/client';
import { z } from 'zod';

/** Invalid configuration: the CLI exits with code 2, the worker refuses to start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The task queue the worker polls and the CLI starts migrations on, unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'stack-migrate';
/** The Worker Deployment that versioned workers join (worker/main.ts, STACK_MIGRATE_DEPLOYMENT_NAME). */
export const DEFAULT_DEPLOYMENT_NAME = 'stack-migrate';

export interface TemporalFlags {
  address?: string;
  namespace?: string;
  taskQueue?: string;
  profile?: string;
  apiKey?: string;
  tls?: boolean;
}

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Options for `Connection.connect` / `NativeConnection.connect`. */
  connection: { address: string; tls?: TLSConfig | boolean; apiKey?: string; metadata?: Record<string, string> };
}

const hostPort = z
  .string()
  .trim()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):\d{1,5}$/, 'must be host:port, e.g. localhost:7233 or my-ns.a1b2c.tmprl.cloud:7233');

export const temporalSettingsSchema = z.object({
  address: hostPort,
  namespace: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be a Temporal namespace name (letters, digits, ".", "_", "-")'),
  taskQueue: z.string().trim().min(1, 'must not be empty').regex(/^\S+$/, 'must not contain spaces'),
  apiKey: z.string().trim().min(1, 'must not be empty when set').optional(),
});

/** Reads one value: the flag if given, else the environment variable, else the profile, else the default. */
function pick(flag: string | undefined, flagName: string, envName: string, env: NodeJS.ProcessEnv, fromProfile: string | undefined, fallback?: string) {
  if (flag !== undefined) return { value: flag, source: flagName };
  if (env[envName] !== undefined && env[envName] !== '') return { value: env[envName]!, source: envName };
  if (fromProfile !== undefined && fromProfile !== '') return { value: fromProfile, source: `the Temporal config profile` };
  return { value: fallback, source: 'the default' };
}

function describeSource(source: string, value: unknown): string {
  return `${source}${value === undefined ? '' : `=${JSON.stringify(value)}`}`;
}

export function loadTemporalSettings(flags: TemporalFlags = {}, env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  let profile;
  try {
    // Reads TEMPORAL_CONFIG_FILE (or ~/.config/temporalio/temporal.toml when present) and the TEMPORAL_* variables.
    profile = loadClientConfigProfile({ profile: flags.profile, overrideEnvVars: stringEnv(env) });
  } catch (error) {
    const where = env.TEMPORAL_CONFIG_FILE ? `TEMPORAL_CONFIG_FILE=${JSON.stringify(env.TEMPORAL_CONFIG_FILE)}` : 'the Temporal config file';
    throw new ConfigError(`${where}${flags.profile ?? env.TEMPORAL_PROFILE ? ` (profile ${flags.profile ?? env.TEMPORAL_PROFILE})` : ''}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const picked = {
    address: pick(flags.address, '--address', 'TEMPORAL_ADDRESS', env, profile.address, 'localhost:7233'),
    namespace: pick(flags.namespace, '--namespace', 'TEMPORAL_NAMESPACE', env, profile.namespace, 'default'),
    taskQueue: pick(flags.taskQueue, '--task-queue', 'STACK_MIGRATE_TASK_QUEUE', env, undefined, DEFAULT_TASK_QUEUE),
    apiKey: pick(flags.apiKey, '--api-key', 'TEMPORAL_API_KEY', env, profile.apiKey),
  };
  const parsed = temporalSettingsSchema.safeParse(Object.fromEntries(Object.entries(picked).map(([k, p]) => [k, p.value])));
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues
        .map((issue) => {
          const key = String(issue.path[0]) as keyof typeof picked;
          // never echo a secret back
          const shown = key === 'apiKey' ? undefined : picked[key]?.value;
          return `${describeSource(picked[key]?.source ?? key, shown)}: ${issue.message}`;
        })
        .join('; '),
    );
  }
  let tls: TLSConfig | boolean | undefined;
  try {
    tls = toClientOptions(profile).connectionOptions.tls as TLSConfig | boolean | undefined;
  } catch (error) {
    throw new ConfigError(`TEMPORAL_TLS_*: cannot read a certificate or key: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (flags.tls !== undefined) tls = flags.tls ? (typeof tls === 'object' ? tls : true) : false;
  if (tls === undefined && parsed.data.apiKey) tls = true; // an API key is only sent over TLS (Temporal Cloud)
  const { address, namespace, taskQueue, apiKey } = parsed.data;
  return {
    address,
    namespace,
    taskQueue,
    connection: { address, ...(tls !== undefined ? { tls } : {}), ...(apiKey ? { apiKey } : {}), ...(profile.grpcMeta ? { metadata: profile.grpcMeta } : {}) },
  };
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** A positive whole number from the environment, or a ConfigError that names the variable. */
export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, max = 10_000): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}=${JSON.stringify(raw)}: must be a whole number`);
  const parsed = z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(max, `must be at most ${max}`).safeParse(raw.trim());
  if (!parsed.success) throw new ConfigError(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** An optional host:port from the environment (a listen address), or a ConfigError that names the variable. */
export function listenAddressFromEnv(env: NodeJS.ProcessEnv, name: string): { host: string; port: number; address: string } | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = hostPort.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues[0].message}`);
  const at = parsed.data.lastIndexOf(':');
  const port = Number(parsed.data.slice(at + 1));
  if (port > 65535) throw new ConfigError(`${name}=${JSON.stringify(raw)}: the port must be at most 65535`);
  return { host: parsed.data.slice(0, at).replace(/^\[|\]$/g, ''), port, address: parsed.data };
}
