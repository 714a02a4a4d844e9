// The worker as operators run it (`npm run worker`: compiled into dist/ and run by Node, scripts/worker-process.ts;
// a child process here): JSON log lines, the SDK's Prometheus exporter and our /metrics with counters that a
// migration moved, and a graceful stop on SIGTERM with exit code 0. Configuration errors name the variable and
// exit 2. The compiled worker finds the codec key file that a CLI run from the sources uses. (test/infra/compose.test.ts
// checks that package.json and the Dockerfile run the worker this way.)
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { Client } from '@temporalio/client';
import { startMigration } from '../../client/commands/start';
import { createDataConverter, DEFAULT_KEY_FILE } from '../../temporal/payload-codec';
import { compileWorker, workerNodeArgs, WORKER_ENV } from '../../scripts/worker-process';
import { useHarness } from '../helpers/harness';
import { eventually, PROJECT_ROOT } from './helpers';

const h = useHarness({ jobDelayMs: 10 });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startWorkerProcess(env: NodeJS.ProcessEnv) {
  compileWorker();
  const child = spawn(process.execPath, workerNodeArgs(), {
    cwd: PROJECT_ROOT,
    env: { ...env, ...WORKER_ENV },
  }) as ChildProcessWithoutNullStreams;
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (c) => (output.stdout += c));
  child.stderr.on('data', (c) => (output.stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

function metricValue(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('worker process', () => {
  test('metrics after a migration, JSON logs, and a graceful stop on SIGTERM', async () => {
    const codecKey = randomBytes(32).toString('base64');
    const taskQueue = `worker-${randomUUID()}`;
    const [sdkPort, appPort] = [await freePort(), await freePort()];
    const worker = startWorkerProcess({
      ...process.env, // carries the stack tokens the harness put there (env: token references)
      TEMPORAL_ADDRESS: h.temporal.address,
      TEMPORAL_NAMESPACE: h.temporal.namespace,
      STACK_MIGRATE_TASK_QUEUE: taskQueue,
      STACK_MIGRATE_CODEC_KEY: codecKey,
      STACK_MIGRATE_SNAPSHOT_ROOT: h.snapshotRoot,
      STACK_MIGRATE_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
      STACK_MIGRATE_APP_METRICS_ADDRESS: `127.0.0.1:${appPort}`,
      STACK_MIGRATE_MAX_ACTIVITIES: '8',
      STACK_MIGRATE_SHUTDOWN_GRACE: '5s',
    });
    try {
      await eventually('the worker to start', async () => (worker.output.stdout.includes('stack-migrate worker started') ? true : undefined), 60_000).catch((e) => {
        throw new Error(`${e.message}\nstdout: ${worker.output.stdout}\nstderr: ${worker.output.stderr}`);
      });
      const client = new Client({ connection: h.temporal.client.connection, namespace: h.temporal.namespace, dataConverter: await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey }) });
      const handle = await startMigration(client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false });
      expect((await handle.result()).outcome).toBe('completed');

      const ours = await (await fetch(`http://127.0.0.1:${appPort}/metrics`)).text();
      expect(metricValue(ours, 'stack_migrate_entities_migrated_total', 'type="buckets"')).toBeGreaterThan(0);
      expect(metricValue(ours, 'stack_migrate_entities_migrated_total', 'type="tables"')).toBeGreaterThan(0);
      expect(metricValue(ours, 'stack_migrate_entities_migrated_total', 'type="configurations"')).toBeGreaterThan(0);
      expect(metricValue(ours, 'stack_migrate_bytes_copied_total', 'direction="export"')).toBeGreaterThan(0);
      expect(metricValue(ours, 'stack_migrate_bytes_copied_total', 'direction="import"')).toBeGreaterThan(0);
      expect(ours).toContain('# TYPE stack_migrate_activity_failures_total counter');
      // the adaptive limiter of each stack the migration reached (STACK_MIGRATE_STACK_CONCURRENCY default 16)
      for (const url of [h.stacks.sourceRef.url, h.stacks.destinationRef.url]) {
        expect(metricValue(ours, 'stack_migrate_stack_concurrency_limit', `stack="${new URL(url).origin}"`)).toBe(16);
      }

      const sdk = await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text();
      expect(sdk).toMatch(/^temporal_activity_execution_latency/m);
      expect(sdk).toContain(`task_queue="${taskQueue}"`);

      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      const lines = worker.output.stdout.trim().split('\n').filter(Boolean);
      const entries = lines.map((l) => JSON.parse(l) as { time: string; level: string; message: string; taskQueue?: string });
      expect(entries.every((e) => e.time && e.level && typeof e.message === 'string')).toBe(true);
      expect(entries.find((e) => e.message === 'stack-migrate worker started')).toMatchObject({ taskQueue, level: 'INFO' });
      expect(entries.at(-1)?.message).toBe('stack-migrate worker stopped cleanly');
      expect(worker.output.stdout).not.toContain(h.stacks.tokens.source); // no token in the logs
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
  });

  test('a wrong configuration value stops the worker with exit code 2 and names it', async () => {
    const worker = startWorkerProcess({ ...process.env, TEMPORAL_ADDRESS: h.temporal.address, STACK_MIGRATE_METRICS_ADDRESS: 'everywhere' });
    expect(await worker.exited).toBe(2);
    expect(JSON.parse(worker.output.stderr.trim().split('\n').at(-1)!)).toMatchObject({
      level: 'ERROR',
      message: expect.stringContaining('STACK_MIGRATE_METRICS_ADDRESS="everywhere": must be host:port'),
    });
  });

  test('the compiled worker reads the codec key file that the sources do', () => {
    compileWorker();
    const compiled = require(path.join(PROJECT_ROOT, 'dist', 'temporal', 'payload-codec.js')) as { DEFAULT_KEY_FILE: string };
    expect(compiled.DEFAULT_KEY_FILE).toBe(DEFAULT_KEY_FILE);
    expect(DEFAULT_KEY_FILE).toBe(path.join(PROJECT_ROOT, '.data', 'codec.key'));
  });
});
