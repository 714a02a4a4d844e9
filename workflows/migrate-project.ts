// migrateProject: validate → wait for approval → snapshot → restore → verify → report (→ kept in sync until a
// planned cutover, with --keep-in-sync: workflows/sync.ts). Deterministic
// orchestration only: every read and write of a stack happens in activities; this code holds the plan, the
// progress and the results. The restore order is workflows/restore-steps.ts; pause and cancellation take effect
// at entity boundaries (workflows/run.ts).
import { ApplicationFailure, CancellationScope, executeChild, upsertSearchAttributes } from '@temporalio/workflow';
import { componentRules, describeIssues, inputSizeProblem, migrationInputSchema, stackName, type MigrationInput, type MigrationInputDraft } from './input';
import { SOURCE_PROJECT_ID, SOURCE_STACK, DESTINATION_STACK } from './search-attributes';
import { snapshotTableBatch } from './table-batches';
import { restoreSnapshot } from './restore-steps';
import { MigrationRun } from './run';
import { firstCopyState, keepInSync, setPhase } from './sync';
import { NOTHING_VERIFIED, type CarriedState, type MigrationResult } from './types';

export async function migrateProject(rawInput: MigrationInputDraft): Promise<MigrationResult> {
  const tooBig = inputSizeProblem(rawInput);
  if (tooBig) throw ApplicationFailure.nonRetryable(`invalid migration input: ${tooBig}`, 'InvalidInput');
  const parsed = migrationInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid migration input: ${describeIssues(parsed.error)}`, 'InvalidInput');
  }
  const input: MigrationInput = parsed.data;
  const run = new MigrationRun(input);
  if (!input.carried) run.refuseSyncUntilCopied(input.keepInSync);
  const { quick, status, info } = run;

  upsertSearchAttributes([
    { key: SOURCE_STACK, value: stackName(input.source) },
    { key: DESTINATION_STACK, value: stackName(input.destination) },
    { key: SOURCE_PROJECT_ID, value: String(input.source.projectId) },
  ]);

  try {
    return await CancellationScope.nonCancellable(async (): Promise<MigrationResult> => {
      // A migration kept in sync continues here after each pass, its first copy long done (workflows/sync.ts).
      if (input.carried) return keepInSync(run, input, input.carried as unknown as CarriedState);
      if (input.keepInSync) setPhase('copying');
      run.setStep('validating');
      run.checkValidation(await quick.validateMigration({ source: input.source, destination: input.destination, resume: input.resume, components: componentRules(input.options) }));
      if (!(await run.awaitApproval(input.requireApproval))) {
        return { outcome: 'rejected', status, counts: run.counts(), verification: NOTHING_VERIFIED };
      }

      run.setStep('snapshotting');
      const plan = await run.long.snapshotProjectMetadata({
        source: input.source,
        snapshotId: `${info.workflowId}-${info.firstExecutionRunId}`,
        reuseLatestOf: input.resume ? info.workflowId : undefined,
      });
      status.snapshotDir = plan.snapshotDir;
      status.progress.buckets.total = plan.bucketCount;
      status.progress.tables.total = plan.dataTableCount;
      status.progress.tableData.total = plan.dataTableCount * 2; // exported, then imported
      status.progress.aliases.total = plan.aliasCount;
      status.progress.configurations.total = plan.configurationCount;

      const verification = await restoreSnapshot(run, {
        destination: input.destination,
        snapshotDir: plan.snapshotDir,
        dataTableCount: plan.dataTableCount,
        live: {
          source: input.source,
          manageTokenRef: input.manageTokenRef,
          takeTables: (batch) =>
            executeChild(snapshotTableBatch, { workflowId: `${info.workflowId}-snapshot-tables-${batch.batchNumber}`, args: [{ ...batch, source: input.source }] }),
          finishSnapshot: async () => {
            await run.long.snapshotOrchestrations({ source: input.source, snapshotDir: plan.snapshotDir });
            await quick.finalizeSnapshot({ source: input.source, snapshotDir: plan.snapshotDir });
            run.setStep('restoring');
          },
        },
      });
      const report = await run.writeReport({ source: input.source, destination: input.destination, snapshotDir: plan.snapshotDir, verification });
      run.setStep('completed');
      if (input.keepInSync) return keepInSync(run, input, firstCopyState(run, plan.snapshotDir, verification, input.syncEveryHours));
      return { outcome: 'completed', status, counts: run.counts(), verification, snapshotDir: plan.snapshotDir, report };
    });
  } catch (error) {
    // Clean-up undoes a first copy; a destination kept in sync (or cut over, and live) is never wiped.
    return run.fail(error, input.options.cleanupOnCancel && !run.status.sync ? { destination: input.destination } : undefined);
  }
}
