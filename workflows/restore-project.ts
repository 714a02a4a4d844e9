// restoreProject: restores a snapshot directory (ours, or one made by Keboola's own project backup) into an
// empty destination project: validate → approval → fingerprint the snapshot's tables → restore → verify → report.
import { ApplicationFailure, CancellationScope, executeChild, upsertSearchAttributes } from '@temporalio/workflow';
import { z } from 'zod';
import { componentRules, describeIssues, inputSizeProblem, migrationOptionsSchema, requestedBySchema, stackName, stackRefSchema, INPUT_LIMITS } from './input';
import { DESTINATION_STACK } from './search-attributes';
import { fingerprintTableBatch } from './table-batches';
import { restoreSnapshot } from './restore-steps';
import { MigrationRun } from './run';
import { NOTHING_VERIFIED, type MigrationResult } from './types';

export const restoreInputSchema = z.object({
  destination: stackRefSchema,
  /** Where the backup is, in Keboola's layout: a folder the worker can read, or an object-store prefix. */
  snapshotDir: z.string().max(INPUT_LIMITS.urlChars, `must be at most ${INPUT_LIMITS.urlChars} characters`).regex(/^(\/|s3:\/\/|azure:\/\/|gs:\/\/)/, 'must be an absolute path on the worker, or s3://bucket/prefix, azure://account/container/prefix or gs://bucket/prefix'),
  requireApproval: z.boolean().default(true),
  requestedBy: requestedBySchema,
  options: migrationOptionsSchema.default(() => migrationOptionsSchema.parse({})),
});
export type RestoreInput = z.infer<typeof restoreInputSchema>;
export type RestoreInputDraft = z.input<typeof restoreInputSchema>;

export function restoreWorkflowId(input: Pick<RestoreInput, 'destination'>): string {
  return `restore-snapshot-to-${stackName(input.destination)}-${input.destination.projectId}`;
}

export async function restoreProject(rawInput: RestoreInputDraft): Promise<MigrationResult> {
  const tooBig = inputSizeProblem(rawInput);
  if (tooBig) throw ApplicationFailure.nonRetryable(`invalid restore input: ${tooBig}`, 'InvalidInput');
  const parsed = restoreInputSchema.safeParse(rawInput);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`invalid restore input: ${describeIssues(parsed.error)}`, 'InvalidInput');
  const input = parsed.data;
  const run = new MigrationRun(input);
  const { quick, status, info } = run;
  upsertSearchAttributes([{ key: DESTINATION_STACK, value: stackName(input.destination) }]);

  try {
    return await CancellationScope.nonCancellable(async (): Promise<MigrationResult> => {
      run.setStep('validating');
      const plan = await quick.inspectSnapshot({ snapshotDir: input.snapshotDir });
      run.checkValidation(await quick.validateRestore({ destination: input.destination, snapshotDir: input.snapshotDir, components: componentRules(input.options) }));
      if (!(await run.awaitApproval(input.requireApproval))) {
        return { outcome: 'rejected', status, counts: run.counts(), verification: NOTHING_VERIFIED };
      }

      // The snapshot is the source: every table is read from disk and fingerprinted before anything is written,
      // which both proves the backup complete (a truncated file fails here) and gives what to verify against.
      run.setStep('snapshotting');
      status.snapshotDir = input.snapshotDir;
      status.progress.tables.total = plan.dataTableCount;
      status.progress.tableData.total = plan.dataTableCount * 2; // fingerprinted, then imported
      status.progress.aliases.total = plan.aliasCount;
      await run.takeTables(input.snapshotDir, plan.dataTableCount, (batch) =>
        executeChild(fingerprintTableBatch, { workflowId: `${info.workflowId}-fingerprint-tables-${batch.batchNumber}`, args: [batch] }),
      );
      run.setStep('restoring');
      const verification = await restoreSnapshot(run, { destination: input.destination, snapshotDir: input.snapshotDir, dataTableCount: plan.dataTableCount });
      const source = { url: `file://${input.snapshotDir}`, projectId: status.validation?.sourceProject.id ?? 0 };
      const report = await run.writeReport({ source, destination: input.destination, snapshotDir: input.snapshotDir, verification });
      run.setStep('completed');
      return { outcome: 'completed', status, counts: run.counts(), verification, snapshotDir: input.snapshotDir, report };
    });
  } catch (error) {
    return run.fail(error, input.options.cleanupOnCancel ? { destination: input.destination } : undefined);
  }
}
