// migrateProject: validate → wait for approval → snapshot → restore → verify. Deterministic orchestration only:
// every read and write of a stack happens in activities; this code holds the plan, progress and results.
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  log,
  executeChild,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import type { MigrationActivities } from '../activities';
import { describeIssues, migrationInputSchema, stackName, type MigrationInput, type MigrationInputDraft } from './input';
import { MIGRATION_STEP, SOURCE_PROJECT_ID, SOURCE_STACK, DESTINATION_STACK } from './search-attributes';
import { chunk, mapWithConcurrency } from './concurrency';
import { activityRetry } from './retry';
import { restoreTableBatch, snapshotTableBatch } from './table-batches';
import {
  emptyProgress,
  type EntityType,
  type MigrationResult,
  type MigrationStatus,
  type MigrationStep,
  type TableDataSnapshot,
  type TableVerification,
  type ValidationReport,
} from './types';

export const approvalPayloadSchema = z.object({
  by: z.string().trim().min(1, 'say who decides (by)'),
  comment: z.string().max(2000).optional(),
});
export type ApprovalPayload = z.input<typeof approvalPayloadSchema>;

export const approveSignal = defineSignal<[ApprovalPayload]>('approve');
export const rejectSignal = defineSignal<[ApprovalPayload]>('reject');
export const statusQuery = defineQuery<MigrationStatus>('status');

const quick = proxyActivities<MigrationActivities>({ startToCloseTimeout: '10m', retry: activityRetry });
const long = proxyActivities<MigrationActivities>({ startToCloseTimeout: '6h', heartbeatTimeout: '2m', retry: activityRetry });

export async function migrateProject(rawInput: MigrationInputDraft): Promise<MigrationResult> {
  const parsed = migrationInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid migration input: ${describeIssues(parsed.error)}`, 'InvalidInput');
  }
  const input: MigrationInput = parsed.data;
  const info = workflowInfo();
  const now = () => new Date().toISOString(); // deterministic in workflows: the time of the current task
  const status: MigrationStatus = {
    workflowId: info.workflowId,
    step: 'validating',
    progress: emptyProgress(),
    failures: [],
    startedAt: now(),
    updatedAt: now(),
  };

  setHandler(statusQuery, () => status);
  const decide = (decision: 'approved' | 'rejected') => (payload: ApprovalPayload) => {
    const valid = approvalPayloadSchema.safeParse(payload);
    if (!valid.success) {
      log.warn(`ignored ${decision === 'approved' ? 'approve' : 'reject'} signal with an invalid payload: ${describeIssues(valid.error)}`);
      return;
    }
    if (status.approval) return; // the first decision stands
    status.approval = { decision, by: valid.data.by, comment: valid.data.comment, at: now() };
  };
  setHandler(approveSignal, decide('approved'));
  setHandler(rejectSignal, decide('rejected'));

  const setStep = (step: MigrationStep) => {
    status.step = step;
    status.updatedAt = now();
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: step }]);
  };
  const advance = (type: EntityType, by = 1) => {
    status.progress[type].done += by;
    status.updatedAt = now();
  };

  upsertSearchAttributes([
    { key: SOURCE_STACK, value: stackName(input.source) },
    { key: DESTINATION_STACK, value: stackName(input.destination) },
    { key: SOURCE_PROJECT_ID, value: String(input.source.projectId) },
  ]);

  try {
    setStep('validating');
    const validation = await quick.validateMigration({ source: input.source, destination: input.destination });
    status.validation = validation;
    const blockers = validation.findings.filter((f) => f.severity === 'blocker');
    if (blockers.length > 0) {
      setStep('blocked');
      throw ApplicationFailure.create({
        type: 'ValidationBlocked',
        nonRetryable: true,
        message: describeBlockers(validation),
        details: [validation],
      });
    }

    if (input.requireApproval && !status.approval) {
      setStep('awaiting-approval');
      const decided = await condition(() => status.approval !== undefined, `${input.options.approvalTimeoutHours}h`);
      if (!decided) {
        throw ApplicationFailure.nonRetryable(
          `nobody approved or rejected the migration within ${input.options.approvalTimeoutHours} hours: start it again when it can be approved`,
          'ApprovalTimeout',
        );
      }
    }
    if (status.approval?.decision === 'rejected') {
      setStep('rejected');
      return { outcome: 'rejected', status, counts: countsOf(status), verification: [] };
    }

    setStep('snapshotting');
    const plan = await quick.snapshotProjectMetadata({ source: input.source, snapshotId: `${info.workflowId}-${info.firstExecutionRunId}` });
    status.snapshotDir = plan.snapshotDir;
    const dataTables = plan.tables.filter((t) => !t.isAlias);
    status.progress.buckets.total = plan.bucketCount;
    status.progress.tables.total = dataTables.length;
    status.progress.tableData.total = dataTables.length * 2; // exported, then imported
    status.progress.aliases.total = plan.tables.length - dataTables.length;
    status.progress.configurations.total = plan.configurationCount;

    const snapshots: TableDataSnapshot[] = [];
    for (const [n, batch] of chunk(dataTables, TABLE_BATCH).entries()) {
      const batchSnapshots = await executeChild(snapshotTableBatch, {
        workflowId: `${info.workflowId}-snapshot-tables-${n}`,
        args: [{ source: input.source, snapshotDir: plan.snapshotDir, tableIds: batch.map((t) => t.id), concurrency: input.options.tableConcurrency }],
        parentClosePolicy: 'REQUEST_CANCEL',
      });
      snapshots.push(...batchSnapshots);
      advance('tableData', batch.length);
    }
    await quick.finalizeSnapshot({ source: input.source, snapshotDir: plan.snapshotDir });

    setStep('restoring');
    const buckets = await quick.restoreBuckets({ destination: input.destination, snapshotDir: plan.snapshotDir });
    advance('buckets', buckets.created.length + buckets.existing.length);
    for (const skipped of buckets.skipped) status.failures.push({ entity: `bucket ${skipped.id}`, message: `skipped: ${skipped.reason}` });

    const restorable = new Set([...buckets.created, ...buckets.existing]);
    const toRestore = snapshots.filter((s) => restorable.has(bucketOf(s.tableId)));
    const verification: TableVerification[] = [];
    for (const [n, batch] of chunk(toRestore, TABLE_BATCH).entries()) {
      const batchVerification = await executeChild(restoreTableBatch, {
        workflowId: `${info.workflowId}-restore-tables-${n}`,
        args: [
          {
            destination: input.destination,
            snapshotDir: plan.snapshotDir,
            tables: batch.map((s) => ({ tableId: s.tableId, expected: { rows: s.rows, checksum: s.checksum } })),
            concurrency: input.options.tableConcurrency,
          },
        ],
        parentClosePolicy: 'REQUEST_CANCEL',
      });
      verification.push(...batchVerification);
      advance('tables', batch.length);
      advance('tableData', batch.length);
    }
    const aliases = await quick.restoreAliases({ destination: input.destination, snapshotDir: plan.snapshotDir });
    advance('aliases', aliases.created.length + aliases.existing.length);
    for (const skipped of aliases.skipped) status.failures.push({ entity: `alias ${skipped.id}`, message: `skipped: ${skipped.reason}` });

    const configurations = await quick.listSnapshotConfigurations({ snapshotDir: plan.snapshotDir });
    const batches = chunk(configurations, CONFIGURATION_BATCH);
    await mapWithConcurrency(batches, input.options.configurationConcurrency, async (batch, batchNumber) => {
      const summary = await long.restoreConfigurations({ destination: input.destination, snapshotDir: plan.snapshotDir, batchNumber, batch });
      advance('configurations', summary.restored);
      status.progress.configurations.failed += summary.skipped.length;
      for (const skipped of summary.skipped) status.failures.push({ entity: `configuration ${skipped.id}`, message: `skipped: ${skipped.reason}` });
    });

    setStep('verifying');
    setStep('reporting');
    const report = await quick.writeReport({
      workflowId: info.workflowId,
      source: input.source,
      destination: input.destination,
      snapshotDir: plan.snapshotDir,
      validation,
      approval: status.approval,
      counts: countsOf(status),
      skipped: status.failures,
      verification,
      idMap: [],
    });
    status.report = report;
    const mismatches = verification.filter((v) => !v.ok);
    if (mismatches.length > 0) {
      throw ApplicationFailure.create({
        type: 'VerificationFailed',
        nonRetryable: true,
        message: `verification found ${mismatches.length} table(s) whose data differs from the source: ${mismatches
          .map((m) => `${m.tableId} (expected ${m.expected.rows} rows ${m.expected.checksum.slice(0, 12)}, found ${m.actual.rows} rows ${m.actual.checksum.slice(0, 12)})`)
          .join('; ')}`,
        details: [mismatches],
      });
    }

    setStep('completed');
    return { outcome: 'completed', status, counts: countsOf(status), verification, snapshotDir: plan.snapshotDir, report };
  } catch (error) {
    if (status.step !== 'blocked') setStep('failed');
    status.failures.push({ entity: 'migration', message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

/** Tables moved by one child workflow: keeps every history far below Temporal's limits. */
const TABLE_BATCH = 100;

function bucketOf(tableId: string): string {
  return tableId.split('.').slice(0, 2).join('.');
}

/** Configurations restored by one activity: big enough to keep history short, small enough to retry cheaply. */
const CONFIGURATION_BATCH = 50;

function countsOf(status: MigrationStatus): Record<EntityType, number> {
  return Object.fromEntries(Object.entries(status.progress).map(([type, p]) => [type, p.done])) as Record<EntityType, number>;
}

function describeBlockers(validation: ValidationReport): string {
  const blockers = validation.findings.filter((f) => f.severity === 'blocker');
  return [
    `validation found ${blockers.length} blocker(s); nothing was written to the destination:`,
    ...blockers.map((f) => `- [${f.code}] ${f.entity ? `${f.entity}: ` : ''}${f.message}. What to do: ${f.action}.`),
  ].join('\n');
}
