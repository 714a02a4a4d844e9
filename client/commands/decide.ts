import type { Client } from '@temporalio/client';
import { decideUpdate, decisionPayloadSchema } from '../../workflows';
import { parseOr } from '../../workflows/input';
import type { Approval } from '../../workflows/types';
import { InputError } from './start';

/**
 * Sends the operator's approval or rejection through the `decide` update: the migration's validator answers
 * at once, so a refused decision (already decided, four-eyes rule, not waiting) is an error here, not a silent no-op.
 */
export async function decideMigration(client: Client, workflowId: string, decision: 'approve' | 'reject', payload: { by: string; comment?: string }): Promise<Approval> {
  const valid = parseOr(decisionPayloadSchema, payload, (problems) => new InputError(`cannot ${decision}: ${problems}`));
  return client.workflow.getHandle(workflowId).executeUpdate(decideUpdate, { args: [{ ...valid, decision }] });
}
