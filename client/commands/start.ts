import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { migrateProject } from '../../workflows';
import { describeIssues, inputSizeProblem, migrationInputSchema, migrationWorkflowId, stackName, type MigrationInputDraft } from '../../workflows/input';
import { DESTINATION_STACK, SOURCE_PROJECT_ID, SOURCE_STACK } from '../../workflows/search-attributes';

export class InputError extends Error {
  override name = 'InputError';
}

/**
 * Starts a migration, or finds the one already running under the same business key: starting twice
 * never runs two migrations of one project.
 */
export async function startMigration(client: Client, taskQueue: string, draft: MigrationInputDraft): Promise<WorkflowHandleWithFirstExecutionRunId<typeof migrateProject>> {
  const tooBig = inputSizeProblem(draft);
  if (tooBig) throw new InputError(`the migration input is invalid: ${tooBig}`);
  const parsed = migrationInputSchema.safeParse(draft);
  if (!parsed.success) throw new InputError(`the migration input is invalid: ${describeIssues(parsed.error)}`);
  const input = parsed.data;
  return client.workflow.start(migrateProject, {
    taskQueue,
    workflowId: migrationWorkflowId(input),
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: new TypedSearchAttributes([
      { key: SOURCE_STACK, value: stackName(input.source) },
      { key: DESTINATION_STACK, value: stackName(input.destination) },
      { key: SOURCE_PROJECT_ID, value: String(input.source.projectId) },
    ]),
    memo: {
      summary: `project ${input.source.projectId} on ${stackName(input.source)} → project ${input.destination.projectId} on ${stackName(input.destination)}`,
    },
  });
}
