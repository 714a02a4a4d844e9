// migrateProject: validate → wait for approval → snapshot → restore → verify. Deterministic orchestration only:
// every read and write of a stack happens in activities; this code holds the plan, progress and results.
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import { z } from 'zod';
import type { MigrationActivities } from '../activities';
import { describeIssues, migrationInputSchema, stackName, type MigrationInput, type MigrationInputDraft } from './input';
import { MIGRATION_STEP, SOURCE_PROJECT_ID, SOURCE_STACK, DESTINATION_STACK } from './search-attributes';
import { chunk, mapWithConcurrency } from './concurrency';
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

const NON_RETRYABLE = ['InvalidToken', 'PermissionDenied', 'NotFound', 'BadRequest', 'Conflict', 'UnexpectedResponse', 'JobFailed', 'MalformedSnapshot'];

// Retries wait out stack outages of hours: the interval grows to 5 minutes and attempts are unlimited
// (DESIGN §4); errors that a retry cannot fix fail at once.
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: NON_RETRYABLE };

const quick = proxyActivities<MigrationActivities>({ startToCloseTimeout: '10m', retry });
const long = proxyActivities<MigrationActivities>({ startToCloseTimeout: '6h', heartbeatTimeout: '2m', retry });

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

    const snapshots: TableDataSnapshot[] = await mapWithConcurrency(dataTables, input.options.tableConcurrency, async (table) => {
      const snapshot = await long.snapshotTableData({ source: input.source, snapshotDir: plan.snapshotDir, tableId: table.id });
      advance('tableData');
      return snapshot;
    });
    await quick.finalizeSnapshot({ source: input.source, snapshotDir: plan.snapshotDir });

    setStep('restoring');
    const buckets = await quick.restoreBuckets({ destination: input.destination, snapshotDir: plan.snapshotDir });
    advance('buckets', buckets.created.length + buckets.existing.length);
    for (const skipped of buckets.skipped) status.failures.push({ entity: `bucket ${skipped.id}`, message: `skipped: ${skipped.reason}` });

    const restorable = new Set([...buckets.created, ...buckets.existing]);
    await mapWithConcurrency(dataTables, input.options.tableConcurrency, async (table) => {
      if (!restorable.has(table.id.split('.').slice(0, 2).join('.'))) return;
      await long.restoreTable({ destination: input.destination, snapshotDir: plan.snapshotDir, tableId: table.id });
      advance('tables');
      advance('tableData');
    });
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
    const verification: TableVerification[] = await mapWithConcurrency(
      snapshots.filter((s) => restorable.has(s.tableId.split('.').slice(0, 2).join('.'))),
      input.options.tableConcurrency,
      (snapshot) =>
        long.verifyTable({ destination: input.destination, tableId: snapshot.tableId, expected: { rows: snapshot.rows, checksum: snapshot.checksum } }),
    );
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
