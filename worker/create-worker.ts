import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, createActivityDeps, type ActivityDeps } from '../activities';

export const DEFAULT_TASK_QUEUE = 'stack-migrate';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  snapshotRoot?: string;
  maxConcurrentActivityTaskExecutions?: number;
  /** Must match the clients' (worker/payload-codec.ts): payloads are encrypted at rest. */
  dataConverter: DataConverter;
}

/** The migration worker: our workflows (bundled from workflows/) and every activity with its dependencies. */
export async function createMigrationWorker(options: WorkerOptions): Promise<Worker> {
  const deps = options.deps ?? createActivityDeps({ snapshotRoot: options.snapshotRoot ?? '.data/snapshots' });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 16,
    dataConverter: options.dataConverter,
  });
}
