// `npm run worker`: connects to Temporal (local, self-hosted, or Temporal Cloud with mTLS or an API key through
// @temporalio/envconfig) and runs migrations until SIGINT/SIGTERM. Then it stops polling and gives activities in
// flight STACK_MIGRATE_SHUTDOWN_GRACE to finish; an activity cut off resumes elsewhere from its heartbeat cursor.
//
// Environment (all optional; a wrong value stops the worker with a message that names it, exit code 2):
//   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE
//   STACK_MIGRATE_TASK_QUEUE            task queue (default stack-migrate)
//   STACK_MIGRATE_SNAPSHOT_ROOT         where snapshots go, shared by the workers: a folder (default .data/snapshots),
//                                       or s3://bucket/prefix, azure://account/container/prefix, gs://bucket/prefix
//                                       (credentials from each SDK's standard environment)
//   STACK_MIGRATE_METRICS_ADDRESS       host:port of the SDK's Prometheus exporter (Temporal worker metrics)
//   STACK_MIGRATE_APP_METRICS_ADDRESS   host:port of our GET /metrics (entities, bytes, failures by type)
//   STACK_MIGRATE_MAX_ACTIVITIES        activities run at once (default 16)
//   STACK_MIGRATE_MAX_WORKFLOW_TASKS    workflow tasks run at once (default: the SDK's)
//   STACK_MIGRATE_SHUTDOWN_GRACE        e.g. 30s, 5m (default 30s)
//   STACK_MIGRATE_LOG_LEVEL             TRACE | DEBUG | INFO | WARN | ERROR (default INFO); logs are JSON lines
//   STACK_MIGRATE_BUILD_ID              this build's ID: the worker joins Worker Deployment Versioning and pins every
//                                       migration it starts to this build (README, "Upgrading workers")
//   STACK_MIGRATE_DEPLOYMENT_NAME       the worker deployment (default stack-migrate; only with a build ID)
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { Server } from 'node:http';
import { z } from 'zod';
import type { Duration } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString, type LogEntry, type LogLevel } from '@temporalio/worker';
import { ConfigError, DEFAULT_DEPLOYMENT_NAME, intFromEnv, listenAddressFromEnv, loadTemporalSettings, type TemporalSettings } from '../temporal/settings';
import { createMigrationWorker } from './create-worker';
import { buildWorkflowBundle } from './workflow-bundle';
import { rmSync } from 'node:fs';
import { createMetricsServer, createWorkerMetrics, listen } from './metrics';
import { openSnapshotStore } from '../snapshot/stores';
import { createDataConverter } from '../temporal/payload-codec';

export interface WorkerConfig {
  temporal: TemporalSettings;
  snapshotRoot: string;
  sdkMetrics?: { address: string };
  appMetrics?: { host: string; port: number };
  maxActivities: number;
  maxWorkflowTasks?: number;
  shutdownGraceTime: Duration;
  logLevel: LogLevel;
  deployment?: { deploymentName: string; buildId: string };
}

const deploymentPartSchema = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'must be letters, digits, dots, dashes and underscores (at most 255), such as 2026.12.01-3f2a1c');

const durationSchema = z.string().trim().regex(/^\d+(ms|s|m|h)$/, 'must be a duration such as 500ms, 30s, 5m or 1h').transform((v) => v as Duration);
const logLevelSchema = z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], { message: 'must be one of TRACE, DEBUG, INFO, WARN, ERROR' });

function fromEnv<T>(env: NodeJS.ProcessEnv, name: string, schema: z.ZodType<T>, fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const parsed = schema.safeParse(raw.trim());
  if (!parsed.success) throw new ConfigError(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

/** Reads and validates the worker's whole configuration; throws ConfigError naming the wrong value. */
export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const sdk = listenAddressFromEnv(env, 'STACK_MIGRATE_METRICS_ADDRESS');
  const app = listenAddressFromEnv(env, 'STACK_MIGRATE_APP_METRICS_ADDRESS');
  if (sdk && app && sdk.address === app.address) {
    throw new ConfigError(`STACK_MIGRATE_APP_METRICS_ADDRESS=${JSON.stringify(app.address)}: must differ from STACK_MIGRATE_METRICS_ADDRESS (the SDK's exporter listens there)`);
  }
  const maxWorkflowTasks = env.STACK_MIGRATE_MAX_WORKFLOW_TASKS ? intFromEnv(env, 'STACK_MIGRATE_MAX_WORKFLOW_TASKS', 0, 1000) : undefined;
  if (maxWorkflowTasks === 1) throw new ConfigError('STACK_MIGRATE_MAX_WORKFLOW_TASKS="1": must be at least 2 (the SDK needs 2 with a workflow cache)');
  return {
    temporal: loadTemporalSettings({}, env),
    snapshotRoot: snapshotRootFromEnv(env),
    sdkMetrics: sdk ? { address: sdk.address } : undefined,
    appMetrics: app ? { host: app.host, port: app.port } : undefined,
    maxActivities: intFromEnv(env, 'STACK_MIGRATE_MAX_ACTIVITIES', 16, 1000),
    maxWorkflowTasks,
    shutdownGraceTime: fromEnv(env, 'STACK_MIGRATE_SHUTDOWN_GRACE', durationSchema, '30s'),
    logLevel: fromEnv(env, 'STACK_MIGRATE_LOG_LEVEL', z.preprocess((v) => String(v).toUpperCase(), logLevelSchema), 'INFO'),
    deployment: deploymentFromEnv(env),
  };
}

/** The worker's deployment version, when it has a build ID. */
function deploymentFromEnv(env: NodeJS.ProcessEnv): WorkerConfig['deployment'] {
  const buildId = fromEnv(env, 'STACK_MIGRATE_BUILD_ID', deploymentPartSchema, '');
  const deploymentName = fromEnv(env, 'STACK_MIGRATE_DEPLOYMENT_NAME', deploymentPartSchema, DEFAULT_DEPLOYMENT_NAME);
  if (!buildId) {
    if (env.STACK_MIGRATE_DEPLOYMENT_NAME?.trim()) throw new ConfigError('STACK_MIGRATE_DEPLOYMENT_NAME is set without STACK_MIGRATE_BUILD_ID: set the build ID too (or neither, for an unversioned worker)');
    return undefined;
  }
  return { deploymentName, buildId };
}

/** The snapshot root, checked before the worker starts: a folder (made absolute) or an object-store prefix. */
function snapshotRootFromEnv(env: NodeJS.ProcessEnv): string {
  const value = env.STACK_MIGRATE_SNAPSHOT_ROOT ?? '.data/snapshots';
  const location = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : path.resolve(value);
  try {
    openSnapshotStore(location, env);
  } catch (error) {
    throw new ConfigError(`STACK_MIGRATE_SNAPSHOT_ROOT=${JSON.stringify(value)}: ${(error as Error).message}`);
  }
  return location;
}

/** One JSON object per line: time, level, message and the SDK's context (workflowId, activityType, ...). */
export function jsonLogLine(entry: LogEntry): string {
  return JSON.stringify({
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
    ...(entry.meta ?? {}),
  });
}

/**
 * How far V8 lets the heap grow past what the last full collection kept alive, in percent. Its own choice (up to
 * 4 times, for a process that allocates as fast as this one) held 250 MB of old space for 60 MB alive: measured in
 * BENCHMARKS.md ("Issue 13: memory"). 1.5 times keeps the worker's RSS flat at a cost in GC time that the bench did
 * not tell apart from noise. A limit, as --max-old-space-size would be, is not set: a worker out of heap would crash.
 */
const HEAP_GROWING_PERCENT = 50;

/**
 * The largest semi-space of the SDK's workflow thread, in MB. V8's own (16 MB, so 32 MB of new space) stayed
 * committed while 3 MB of it was alive (BENCHMARKS.md, "Issue 13: the young generations"). V8 reads the flag when it
 * creates an isolate, so set at run time it sizes the workflow thread, created by Worker.create after it, and not
 * the main thread, which is already running. A smaller young generation is collected more often: no limit is set.
 */
const WORKFLOW_THREAD_SEMI_SPACE_MB = 2;

async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  v8.setFlagsFromString(`--max-semi-space-size=${WORKFLOW_THREAD_SEMI_SPACE_MB}`);
  const config = workerConfigFromEnv(env);
  const logger = new DefaultLogger(config.logLevel, (entry) => process.stdout.write(`${jsonLogLine(entry)}\n`));
  Runtime.install({
    logger,
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: config.logLevel === 'TRACE' || config.logLevel === 'DEBUG' ? config.logLevel : 'WARN' }), forward: {} },
      ...(config.sdkMetrics ? { metrics: { prometheus: { bindAddress: config.sdkMetrics.address } } } : {}),
    },
  });

  const metrics = createWorkerMetrics();
  let metricsServer: Server | undefined;
  if (config.appMetrics) {
    metricsServer = createMetricsServer(metrics.registry);
    const bound = await listen(metricsServer, config.appMetrics.host, config.appMetrics.port);
    logger.info('metrics endpoint listening', { url: `http://${bound.host}:${bound.port}/metrics` });
  }

  const { temporal } = config;
  const connection = await NativeConnection.connect(temporal.connection);
  try {
    const workflowBundlePath = buildWorkflowBundle();
    const worker = await createMigrationWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      snapshotRoot: config.snapshotRoot,
      maxConcurrentActivityTaskExecutions: config.maxActivities,
      maxConcurrentWorkflowTaskExecutions: config.maxWorkflowTasks,
      shutdownGraceTime: config.shutdownGraceTime,
      metrics,
      dataConverter: await createDataConverter(env),
      workflowBundlePath,
      deployment: config.deployment,
    });
    rmSync(workflowBundlePath, { force: true }); // loaded into the worker; the file is no longer needed
    logger.info('stack-migrate worker started', {
      identity: worker.options.identity, // as the Temporal UI shows the worker of each activity
      deployment: config.deployment ? `${config.deployment.deploymentName}.${config.deployment.buildId}` : 'unversioned',
      address: temporal.address,
      namespace: temporal.namespace,
      taskQueue: temporal.taskQueue,
      tls: Boolean(temporal.connection.tls),
      apiKey: Boolean(temporal.connection.apiKey),
      snapshotRoot: config.snapshotRoot,
      maxActivities: config.maxActivities,
      shutdownGraceTime: config.shutdownGraceTime,
      sdkMetrics: config.sdkMetrics?.address,
    });
    // Worker.run() stops on SIGINT/SIGTERM (Runtime shutdownSignals) and drains within shutdownGraceTime.
    await worker.run();
    logger.info('stack-migrate worker stopped cleanly');
  } finally {
    await connection.close();
    await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error) => {
      const invalid = error instanceof ConfigError;
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level: 'ERROR', message: `stack-migrate worker ${invalid ? 'configuration is invalid' : 'stopped'}: ${error instanceof Error ? error.message : String(error)}` })}\n`,
      );
      process.exit(invalid ? 2 : 1);
    },
  );
}
