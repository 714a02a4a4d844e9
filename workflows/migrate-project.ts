// migrateProject: validate → wait for approval → snapshot → restore → verify → report. Deterministic
// orchestration only: every read and write of a stack happens in activities; this code holds the plan, the
// progress and the results. Pause and cancellation take effect at entity boundaries (workflows/run.ts).
import { ApplicationFailure, CancellationScope, executeChild, upsertSearchAttributes } from '@temporalio/workflow';
import { describeIssues, migrationInputSchema, stackName, type MigrationInput, type MigrationInputDraft } from './input';
import { SOURCE_PROJECT_ID, SOURCE_STACK, DESTINATION_STACK } from './search-attributes';
import { chunk } from './concurrency';
import { snapshotTableBatch } from './table-batches';
import { MigrationRun, TABLE_BATCH } from './run';
import type { MigrationResult, TableDataSnapshot } from './types';

export async function migrateProject(rawInput: MigrationInputDraft): Promise<MigrationResult> {
  const parsed = migrationInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid migration input: ${describeIssues(parsed.error)}`, 'InvalidInput');
  }
  const input: MigrationInput = parsed.data;
  const run = new MigrationRun(input);
  const { quick, status, info } = run;

  upsertSearchAttributes([
    { key: SOURCE_STACK, value: stackName(input.source) },
    { key: DESTINATION_STACK, value: stackName(input.destination) },
    { key: SOURCE_PROJECT_ID, value: String(input.source.projectId) },
  ]);

  try {
    return await CancellationScope.nonCancellable(async (): Promise<MigrationResult> => {
      run.setStep('validating');
      run.checkValidation(await quick.validateMigration({ source: input.source, destination: input.destination, resume: input.resume }));
      if (!(await run.awaitApproval(input.requireApproval))) {
        return { outcome: 'rejected', status, counts: run.counts(), verification: [] };
      }

      run.setStep('snapshotting');
      const plan = await quick.snapshotProjectMetadata({
        source: input.source,
        snapshotId: `${info.workflowId}-${info.firstExecutionRunId}`,
        reuseLatestOf: input.resume ? info.workflowId : undefined,
      });
      status.snapshotDir = plan.snapshotDir;
      const dataTables = plan.tables.filter((t) => !t.isAlias);
      status.progress.buckets.total = plan.bucketCount;
      status.progress.tables.total = dataTables.length;
      status.progress.tableData.total = dataTables.length * 2; // exported, then imported
      status.progress.aliases.total = plan.tables.length - dataTables.length;
      status.progress.configurations.total = plan.configurationCount;

      const snapshots: TableDataSnapshot[] = [];
      for (const [n, batch] of chunk(dataTables, TABLE_BATCH).entries()) {
        await run.boundary();
        const batchSnapshots = await run.childScope.run(() =>
          executeChild(snapshotTableBatch, {
            workflowId: `${info.workflowId}-snapshot-tables-${n}`,
            args: [
              {
                source: input.source,
                snapshotDir: plan.snapshotDir,
                tableIds: batch.map((t) => t.id),
                concurrency: input.options.tableConcurrency,
                heartbeatTimeout: run.heartbeatTimeout,
              },
            ],
          }),
        );
        snapshots.push(...batchSnapshots);
        run.advance('tableData', batch.length);
      }
      await quick.snapshotOrchestrations({ source: input.source, snapshotDir: plan.snapshotDir });
      await quick.finalizeSnapshot({ source: input.source, snapshotDir: plan.snapshotDir });

      const outcome = await run.restore(input.destination, plan.snapshotDir, snapshots, { source: input.source, manageTokenRef: input.manageTokenRef });
      const report = await run.writeReport({ source: input.source, destination: input.destination, snapshotDir: plan.snapshotDir, outcome });
      run.setStep('completed');
      return { outcome: 'completed', status, counts: run.counts(), verification: outcome.verification, snapshotDir: plan.snapshotDir, report };
    });
  } catch (error) {
    return run.fail(error, input.options.cleanupOnCancel ? { destination: input.destination } : undefined);
  }
}
