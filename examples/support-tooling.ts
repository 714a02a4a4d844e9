// Support tooling from TypeScript: what a support engineer's script does with a running migration through
// @temporalio/client — read its status, pause it before a maintenance window, resume it, and approve it through the
// `decide` update (which answers at once when the migration refuses, e.g. under the four-eyes rule).
//
//   STACK_MIGRATE_CODEC_KEY=... TEMPORAL_ADDRESS=localhost:7233 npx tsx examples/support-tooling.ts <workflowId> status
//   ... pause "destination maintenance" | resume | approve "plan checked"
//
// The client needs the same payload codec key as the workers (payloads are encrypted at rest).
import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { decideUpdate, pauseSignal, resumeSignal, statusQuery } from '../workflows/controls';
import type { Approval, MigrationStatus } from '../workflows/types';
import { createDataConverter } from '../temporal/payload-codec';

export async function connect(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS ?? 'localhost:7233' });
  return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE ?? 'default', dataConverter: await createDataConverter(env) });
}

/** The live status: step, progress per entity type, approval, pause, failures, report location. */
export async function status(client: Client, workflowId: string): Promise<MigrationStatus> {
  return client.workflow.getHandle(workflowId).query(statusQuery);
}

/** Holds the migration at its next entity boundary; work in flight finishes first. */
export async function pause(client: Client, workflowId: string, by: string, reason?: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(pauseSignal, { by, reason });
}

export async function resume(client: Client, workflowId: string, by: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(resumeSignal, { by });
}

/** Approves or rejects; returns the recorded decision, or the migration's reason for refusing it. */
export async function decide(client: Client, workflowId: string, decision: 'approve' | 'reject', by: string, comment?: string): Promise<Approval | { refused: string }> {
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, { args: [{ decision, by, comment }] });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) return { refused: error.cause?.message ?? error.message };
    throw error;
  }
}

async function main(argv: string[]): Promise<void> {
  const [workflowId, action = 'status', text] = argv;
  if (!workflowId) throw new Error('usage: support-tooling.ts <workflowId> [status|pause|resume|approve|reject] [reason or comment]');
  const client = await connect();
  const me = process.env.USER ?? 'support';
  try {
    if (action === 'pause') await pause(client, workflowId, me, text);
    else if (action === 'resume') await resume(client, workflowId, me);
    else if (action === 'approve' || action === 'reject') console.log(await decide(client, workflowId, action, me, text));
    const s = await status(client, workflowId);
    console.log(`${workflowId}: ${s.step}${s.paused ? ` (paused by ${s.paused.by})` : ''}`);
    for (const [type, p] of Object.entries(s.progress)) if (p.total) console.log(`  ${type}: ${p.done}/${p.total}`);
  } finally {
    await client.connection.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
