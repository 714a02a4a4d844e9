// Shared set-up of workflow tests: a real Temporal server per test file, fresh emulated stacks per test,
// and a worker on its own task queue around each test body.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createStackClient, type StackClient } from '../../stack';
import { createMigrationWorker } from '../../worker/create-worker';
import { startStackPair, type StackPair, type StackPairOptions } from '../../scripts/stack-pair';
import { startTestTemporal, TEMPORAL_STARTUP_TIMEOUT_MS, type TestTemporal } from './temporal';

// Worker state changes at INFO level would bury the test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

export interface Harness {
  temporal: TestTemporal;
  snapshotRoot: string;
  stacks: StackPair;
  source: StackClient;
  destination: StackClient;
  /** Runs `fn` while a migration worker polls a fresh task queue. */
  withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T>;
}

export function useHarness(stackOptions: StackPairOptions = { jobDelayMs: 10 }): Harness {
  const harness = {} as Harness;
  beforeAll(async () => {
    harness.temporal = await startTestTemporal();
    harness.snapshotRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'snapshots-'));
    harness.withWorker = async (fn) => {
      const taskQueue = `it-${randomUUID()}`;
      const worker = await createMigrationWorker({
        connection: harness.temporal.nativeConnection,
        namespace: harness.temporal.namespace,
        taskQueue,
        snapshotRoot: harness.snapshotRoot,
      });
      return worker.runUntil(fn(taskQueue));
    };
  }, TEMPORAL_STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await harness.temporal?.teardown();
  });
  beforeEach(async () => {
    harness.stacks = await startStackPair(stackOptions);
    harness.source = createStackClient({ url: harness.stacks.source.url, token: harness.stacks.tokens.source });
    harness.destination = createStackClient({ url: harness.stacks.destination.url, token: harness.stacks.tokens.destination });
  });
  afterEach(async () => {
    await harness.stacks?.close();
  });
  return harness;
}
