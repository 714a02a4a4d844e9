// Operator tests: the CLI (in-process through runCli, or the real bin in a child process) against the harness's
// real Temporal server, with a worker whose codec key the CLI is given, as an operator's machine would have it.
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { runCli } from '../../client/main';
import { createMigrationWorker } from '../../worker/create-worker';
import { createDataConverter } from '../../temporal/payload-codec';
import type { MigrationMetrics } from '../../activities/metrics';
import type { Harness } from '../helpers/harness';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface OperatorContext {
  codecKey: string;
  client: Client;
  taskQueue: string;
  env: NodeJS.ProcessEnv;
  worker: Worker;
  /** `stack-migrate <args>` in this process. */
  cli(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliRun>;
  /** `node bin/stack-migrate.js <args>` in a child process, for exit codes as a shell sees them. */
  bin(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliRun>;
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

export function runBin(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'stack-migrate.js'), ...args], { env, cwd: PROJECT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs `fn` while a migration worker (with the operator's codec key) polls a fresh task queue. */
export async function withOperator<T>(h: Harness, fn: (ctx: OperatorContext) => Promise<T>, options: { metrics?: MigrationMetrics } = {}): Promise<T> {
  const codecKey = randomBytes(32).toString('base64');
  const dataConverter = await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey });
  const client = new Client({ connection: h.temporal.client.connection, namespace: h.temporal.namespace, dataConverter });
  const taskQueue = `op-${randomUUID()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: h.temporal.address,
    TEMPORAL_NAMESPACE: h.temporal.namespace,
    STACK_MIGRATE_TASK_QUEUE: taskQueue,
    STACK_MIGRATE_CODEC_KEY: codecKey,
    USER: 'operator-test',
  };
  const worker = await createMigrationWorker({
    connection: h.temporal.nativeConnection,
    namespace: h.temporal.namespace,
    taskQueue,
    snapshotRoot: h.snapshotRoot,
    dataConverter,
    metrics: options.metrics,
  });
  const ctx: OperatorContext = {
    codecKey,
    client,
    taskQueue,
    env,
    worker,
    async cli(args, extraEnv = {}) {
      const out = collect();
      const err = collect();
      const code = await runCli(args, { env: { ...env, ...extraEnv }, stdout: out.stream, stderr: err.stream });
      return { code, stdout: out.text(), stderr: err.text() };
    },
    bin: (args, extraEnv = {}) => runBin(args, { ...env, ...extraEnv }),
  };
  return worker.runUntil(fn(ctx));
}

/** The `start`/`validate` flags for the harness's two emulated stacks. */
export function stackFlags(h: Harness, overrides: Partial<Record<'sourceProject' | 'destinationProject', string>> = {}): string[] {
  const s = h.stacks.sourceRef;
  const d = h.stacks.destinationRef;
  return [
    '--source-url', s.url,
    '--source-project', overrides.sourceProject ?? String(s.projectId),
    '--source-token-ref', s.tokenRef,
    '--source-name', s.name!,
    '--destination-url', d.url,
    '--destination-project', overrides.destinationProject ?? String(d.projectId),
    '--destination-token-ref', d.tokenRef,
    '--destination-name', d.name!,
  ];
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
