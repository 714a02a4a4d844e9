import type { Client } from '@temporalio/client';
import { approveSignal, rejectSignal } from '../../workflows';
import { approvalPayloadSchema } from '../../workflows/migrate-project';
import { describeIssues } from '../../workflows/input';
import { InputError } from './start';

/** Sends the operator's approval or rejection to a migration waiting for it. */
export async function decideMigration(client: Client, workflowId: string, decision: 'approve' | 'reject', payload: { by: string; comment?: string }) {
  const valid = approvalPayloadSchema.safeParse(payload);
  if (!valid.success) throw new InputError(`cannot ${decision}: ${describeIssues(valid.error)}`);
  await client.workflow.getHandle(workflowId).signal(decision === 'approve' ? approveSignal : rejectSignal, valid.data);
}
