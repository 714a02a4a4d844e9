import type { DataConverter, Duration, WorkerDeploymentVersion } from '@temporalio/common';
import { NativeConnection, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { createActivities, createActivityDeps, type ActivityDeps } from '../activities';
import { keepAlive } from '../activities/heartbeat';
import type { MigrationMetrics } from '../activities/metrics';
import { DEFAULT_TASK_QUEUE } from '../temporal/settings';
import { failureCountingInterceptor } from './metrics';
import { WORKFLOW_BUNDLER_OPTIONS } from './workflow-bundle';


export interface WorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  snapshotRoot?: string;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /**
   * On SIGINT/SIGTERM the worker stops polling and gives activities in flight this long to finish; then they are
   * cancelled, and their last heartbeat cursor lets the next attempt (on any worker) resume from there.
   */
  shutdownGraceTime?: Duration;
  /** Counters for /metrics (worker/metrics.ts): entities, bytes, and failed activity attempts by type. */
  metrics?: MigrationMetrics;
  /** Must match the clients' (temporal/payload-codec.ts): payloads are encrypted at rest. */
  dataConverter: DataConverter;
  /** A workflow bundle built beforehand (worker/workflow-bundle.ts); without it, workflows/ is bundled here. */
  workflowBundlePath?: string;
  /**
   * Worker Deployment Versioning: the deployment and build this worker belongs to. Every workflow it starts is
   * pinned to that build for its whole life (migrations wait days for approval), so a new build with changed
   * workflow code serves only migrations started after it became the deployment's current version
   * (README, "Upgrading workers"). Without it the worker is unversioned.
   */
  deployment?: WorkerDeploymentVersion;
  /** The workflows to bundle instead of workflows/ (a test's changed workflow code). */
  workflowsPath?: string;
  /** More activity interceptors, after the failure counter (tests hold an activity at a chosen moment with one). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/** Every heartbeat-timed activity heartbeats its last progress while it runs (activities/heartbeat.ts). */
const keepAliveInterceptor: ActivityInterceptorsFactory = (context) => ({ inbound: { execute: (input, next) => keepAlive(context, () => next(input)) } });

/** The migration worker: our workflows (bundled from workflows/) and every activity with its dependencies. */
export async function createMigrationWorker(options: WorkerOptions): Promise<Worker> {
  const deps = options.deps ?? createActivityDeps({ snapshotRoot: options.snapshotRoot ?? '.data/snapshots' });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    ...(options.workflowBundlePath
      ? { workflowBundle: { codePath: options.workflowBundlePath } }
      : { workflowsPath: options.workflowsPath ?? require.resolve('../workflows'), bundlerOptions: WORKFLOW_BUNDLER_OPTIONS }),
    ...(options.deployment ? { workerDeploymentOptions: { useWorkerVersioning: true, version: options.deployment, defaultVersioningBehavior: 'PINNED' as const } } : {}),
    activities: createActivities(options.metrics ? { ...deps, metrics: options.metrics } : deps),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 16,
    ...(options.maxConcurrentWorkflowTaskExecutions ? { maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTaskExecutions } : {}),
    ...(options.shutdownGraceTime !== undefined ? { shutdownGraceTime: options.shutdownGraceTime } : {}),
    // A cursor heartbeat reaches the server within half a second, even right after a keep-alive one (the SDK's
    // default throttle, 80 % of the heartbeat timeout, could hold it for seconds: a crash then would lose it).
    maxHeartbeatThrottleInterval: '500ms',
    interceptors: { activity: [keepAliveInterceptor, ...(options.metrics ? [failureCountingInterceptor(options.metrics)] : []), ...(options.activityInterceptors ?? [])] },
    dataConverter: options.dataConverter,
  });
}
