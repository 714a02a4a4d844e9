import { Client, Connection } from '@temporalio/client';
import { createDataConverter } from '../temporal/payload-codec';
import { loadTemporalSettings, type TemporalFlags, type TemporalSettings } from '../temporal/settings';

/** What a command needs to reach the migrations: validated settings (temporal/settings.ts). */
export type TemporalTarget = TemporalSettings;

export function targetFromEnv(env: NodeJS.ProcessEnv = process.env, flags: TemporalFlags = {}): TemporalTarget {
  return loadTemporalSettings(flags, env);
}

export async function connectClient(target: TemporalTarget, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const connection = await Connection.connect(target.connection).catch((error: Error) => {
    throw new Error(`cannot reach Temporal at ${target.address} (${error.message}): start it with "npm run temporal" or set TEMPORAL_ADDRESS`);
  });
  return new Client({ connection, namespace: target.namespace, dataConverter: await createDataConverter(env) });
}
