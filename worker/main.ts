// `npm run worker`: connects to Temporal and runs migrations until SIGINT/SIGTERM, then lets in-flight
// activities finish or checkpoint (Worker.run handles the signals and drains).
import * as path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { createMigrationWorker, DEFAULT_TASK_QUEUE } from './create-worker';
import { createDataConverter } from './payload-codec';

async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.STACK_MIGRATE_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  const snapshotRoot = path.resolve(process.env.STACK_MIGRATE_SNAPSHOT_ROOT ?? '.data/snapshots');
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await createMigrationWorker({ connection, namespace, taskQueue, snapshotRoot, dataConverter: await createDataConverter() });
    console.log(`stack-migrate worker: Temporal ${address}, namespace ${namespace}, task queue ${taskQueue}, snapshots in ${snapshotRoot}`);
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((error) => {
  console.error(`stack-migrate worker stopped: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
