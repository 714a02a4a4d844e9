// restoreProject: restores a snapshot directory (ours, or one made by Keboola's own project backup) into an
// empty destination project: validate → approval → fingerprint the snapshot's tables → restore → verify → report.
import { ApplicationFailure, CancellationScope, executeChild, upsertSearchAttributes } from '@temporalio/workflow';
import { z } from 'zod';
import { describeIssues, migrationOptionsSchema, stackName, stackRefSchema } from './input';
import { DESTINATION_STACK } from './search-attributes';
import { chunk } from './concurrency';
import { fingerprintTableBatch } from './table-batches';
import { MigrationRun, TABLE_BATCH } from './run';
import type { MigrationResult, TableDataSnapshot } from './types';

export const restoreInputSchema = z.object({
  destination: stackRefSchema,
  /** A folder the worker can read, in Keboola's backup layout. */
  snapshotDir: z.string().regex(/^\//, 'must be an absolute path on the worker'),
  requireApproval: z.boolean().default(true),
  requestedBy: z.string().trim().min(1).optional(),
  options: migrationOptionsSchema.default(() => migrationOptionsSchema.parse({})),
});
export type RestoreInput = z.infer<typeof restoreInputSchema>;
export type RestoreInputDraft = z.input<typeof restoreInputSchema>;

export function restoreWorkflowId(input: Pick<RestoreInput, 'destination'>): string {
  return `restore-snapshot-to-${stackName(input.destination)}-${input.destination.projectId}`;
}

export async function restoreProject(rawInput: RestoreInputDraft): Promise<MigrationResult> {
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
      run.checkValidation(await quick.validateRestore({ destination: input.destination, snapshotDir: input.snapshotDir }));
      if (!(await run.awaitApproval(input.requireApproval))) {
        return { outcome: 'rejected', status, counts: run.counts(), verification: [] };
      }

      // The snapshot is the source: fingerprint its tables (read from disk) to verify the restore against them.
      run.setStep('snapshotting');
      status.snapshotDir = input.snapshotDir;
      const dataTables = plan.tables.filter((t) => !t.isAlias);
      status.progress.tables.total = dataTables.length;
      status.progress.tableData.total = dataTables.length;
      status.progress.aliases.total = plan.tables.length - dataTables.length;
      const snapshots: TableDataSnapshot[] = [];
      for (const [n, batch] of chunk(dataTables, TABLE_BATCH).entries()) {
        await run.boundary();
        snapshots.push(
          ...(await run.childScope.run(() =>
            executeChild(fingerprintTableBatch, {
              workflowId: `${info.workflowId}-fingerprint-tables-${n}`,
              args: [{ snapshotDir: input.snapshotDir, tableIds: batch.map((t) => t.id), concurrency: input.options.tableConcurrency, heartbeatTimeout: run.heartbeatTimeout }],
            }),
          )),
        );
      }

      const outcome = await run.restore(input.destination, input.snapshotDir, snapshots);
      const source = { url: `file://${input.snapshotDir}`, projectId: status.validation?.sourceProject.id ?? 0 };
      const report = await run.writeReport({ source, destination: input.destination, snapshotDir: input.snapshotDir, outcome });
      run.setStep('completed');
      return { outcome: 'completed', status, counts: run.counts(), verification: outcome.verification, snapshotDir: input.snapshotDir, report };
    });
  } catch (error) {
    return run.fail(error, input.options.cleanupOnCancel ? { destination: input.destination } : undefined);
  }
}
