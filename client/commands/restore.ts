import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { restoreProject } from '../../workflows';
import { describeIssues, inputSizeProblem, stackName } from '../../workflows/input';
import { restoreInputSchema, restoreWorkflowId, type RestoreInputDraft } from '../../workflows/restore-project';
import { DESTINATION_STACK } from '../../workflows/search-attributes';
import { InputError } from './start';

/** Starts the restore of a snapshot folder (ours or Keboola's backup) into an empty destination project. */
export async function startRestore(client: Client, taskQueue: string, draft: RestoreInputDraft): Promise<WorkflowHandleWithFirstExecutionRunId<typeof restoreProject>> {
  const tooBig = inputSizeProblem(draft);
  if (tooBig) throw new InputError(`the restore input is invalid: ${tooBig}`);
  const parsed = restoreInputSchema.safeParse(draft);
  if (!parsed.success) throw new InputError(`the restore input is invalid: ${describeIssues(parsed.error)}`);
  const input = parsed.data;
  return client.workflow.start(restoreProject, {
    taskQueue,
    workflowId: restoreWorkflowId(input),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: new TypedSearchAttributes([{ key: DESTINATION_STACK, value: stackName(input.destination) }]),
    memo: { summary: `snapshot ${input.snapshotDir} → project ${input.destination.projectId} on ${stackName(input.destination)}` },
  });
}
