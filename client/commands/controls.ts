import type { Client } from '@temporalio/client';
import { pausePayloadSchema, pauseSignal, resumeSignal } from '../../workflows';
import { describeIssues } from '../../workflows/input';
import { InputError } from './start';

/** Pause holds the migration at its next entity boundary (work in flight finishes); resume lets it go on. */
export async function pauseMigration(client: Client, workflowId: string, action: 'pause' | 'resume', payload: { by: string; reason?: string }): Promise<void> {
  const valid = pausePayloadSchema.safeParse(payload);
  if (!valid.success) throw new InputError(`cannot ${action}: ${describeIssues(valid.error).replace('pauses', action === 'pause' ? 'pauses' : 'resumes')}`);
  const handle = client.workflow.getHandle(workflowId);
  await handle.signal(action === 'pause' ? pauseSignal : resumeSignal, valid.data);
}

/**
 * Requests cancellation. The migration stops at the next entity boundary, and deletes what it created in the
 * destination only if it was started with `options.cleanupOnCancel` (`stack-migrate start --cleanup`).
 */
export async function cancelMigration(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).cancel();
}
