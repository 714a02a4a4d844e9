// Shared set-up of workflow tests: a real Temporal server per test file, fresh emulated stacks per test,
// and a worker on its own task queue around each test body.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, type DataConverter } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createDataConverter } from '../../temporal/payload-codec';
import { createStackClient, type StackClient } from '../../stack';
import { createMigrationWorker, type WorkerOptions } from '../../worker/create-worker';
import { startStackPair, type StackPair, type StackPairOptions } from '../../scripts/stack-pair';
import { startTestTemporal, TEMPORAL_STARTUP_TIMEOUT_MS, type TestTemporal } from './temporal';

/** Every line the SDK and our workflows logged in this test process, at any level, for tests that audit logs. */
export const workerLogLines: string[] = [];
// Worker state changes at INFO level would bury the test output: only warnings and errors are printed.
Runtime.install({
  logger: new DefaultLogger('DEBUG', (entry) => {
    const line = `${entry.level} ${entry.message} ${JSON.stringify(entry.meta ?? {})}`;
    workerLogLines.push(line);
    if (entry.level === 'WARN' || entry.level === 'ERROR') console.warn(line);
  }),
});

export interface Harness {
  temporal: TestTemporal;
  /** A client with the same payload codec as the worker. */
  client: Client;
  dataConverter: DataConverter;
  snapshotRoot: string;
  stacks: StackPair;
  source: StackClient;
  destination: StackClient;
  /** Runs `fn` while a migration worker (with `options` added) polls a fresh task queue. */
  withWorker<T>(fn: (taskQueue: string) => Promise<T>, options?: Pick<WorkerOptions, 'activityInterceptors'>): Promise<T>;
  /** Replaces this test's stacks with a pair started with `options` (another file provider, say). */
  useStacks(options: StackPairOptions): Promise<void>;
}

export function useHarness(stackOptions: StackPairOptions = { jobDelayMs: 10 }): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    harness.temporal = await startTestTemporal();
    harness.dataConverter = await createDataConverter({ STACK_MIGRATE_CODEC_KEY: randomBytes(32).toString('base64') });
    harness.client = new Client({ connection: harness.temporal.client.connection, namespace: harness.temporal.namespace, dataConverter: harness.dataConverter });
    harness.snapshotRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'snapshots-'));
    harness.withWorker = async (fn, options) => {
      const taskQueue = `it-${randomUUID()}`;
      const worker = await createMigrationWorker({
        connection: harness.temporal.nativeConnection,
        namespace: harness.temporal.namespace,
        taskQueue,
        snapshotRoot: harness.snapshotRoot,
        dataConverter: harness.dataConverter,
        ...options,
      });
      return worker.runUntil(fn(taskQueue));
    };
  }, TEMPORAL_STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await harness.temporal?.teardown();
  });
  harness.useStacks = async (options) => {
    await harness.stacks?.close();
    harness.stacks = await startStackPair(options);
    harness.source = createStackClient({ url: harness.stacks.source.url, token: harness.stacks.tokens.source });
    harness.destination = createStackClient({ url: harness.stacks.destination.url, token: harness.stacks.tokens.destination });
  };
  beforeEach(() => harness.useStacks(stackOptions));
  afterEach(async () => {
    await harness.stacks?.close();
  });
  return harness;
}

/**
 * What a test needs to run migrations on worker processes (scripts/durability-tools.ts spawnWorker) against this
 * harness: a task queue of its own, the processes' environment (with a codec key of their own and the stacks'
 * tokens; `overrides` added last), and a client that reads their payloads.
 */
export async function workerProcesses(h: Harness, prefix: string, overrides: NodeJS.ProcessEnv = {}): Promise<{ client: Client; taskQueue: string; env: NodeJS.ProcessEnv }> {
  const codecKey = randomBytes(32).toString('base64');
  const client = new Client({ connection: h.temporal.client.connection, namespace: h.temporal.namespace, dataConverter: await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey }) });
  const taskQueue = `${prefix}-${randomUUID()}`;
  const env = {
    TEMPORAL_ADDRESS: h.temporal.address,
    TEMPORAL_NAMESPACE: h.temporal.namespace,
    STACK_MIGRATE_TASK_QUEUE: taskQueue,
    STACK_MIGRATE_SNAPSHOT_ROOT: h.snapshotRoot,
    STACK_MIGRATE_CODEC_KEY: codecKey,
    STACK_MIGRATE_SOURCE_TOKEN: h.stacks.tokens.source,
    STACK_MIGRATE_DESTINATION_TOKEN: h.stacks.tokens.destination,
    ...overrides,
  };
  return { client, taskQueue, env };
}
