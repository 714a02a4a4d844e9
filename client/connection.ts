import { Client, Connection } from '@temporalio/client';
import { createDataConverter } from '../worker/payload-codec';

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function targetFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  return {
    address: env.TEMPORAL_ADDRESS ?? 'localhost:7233',
    namespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.STACK_MIGRATE_TASK_QUEUE ?? 'stack-migrate',
  };
}

export async function connectClient(target: TemporalTarget): Promise<Client> {
  const connection = await Connection.connect({ address: target.address }).catch((error: Error) => {
    throw new Error(`cannot reach Temporal at ${target.address} (${error.message}): start it with "npm run temporal" or set TEMPORAL_ADDRESS`);
  });
  return new Client({ connection, namespace: target.namespace, dataConverter: await createDataConverter() });
}
