// migrateProject: validate → wait for approval → snapshot → restore → verify → report. Deterministic
// orchestration only: every read and write of a stack happens in activities; this code holds the plan, the
// progress and the results. Pause and cancellation take effect at entity boundaries.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities';
import { describeIssues, migrationInputSchema, stackName, type MigrationInput, type MigrationInputDraft } from './input';
import { MIGRATION_STEP, SOURCE_PROJECT_ID, SOURCE_STACK, DESTINATION_STACK } from './search-attributes';
import { chunk, mapWithConcurrency } from './concurrency';
import { activityRetry } from './retry';
import { restoreTableBatch, snapshotTableBatch } from './table-batches';
import {
  approveSignal,
  decideUpdate,
  decisionPayloadSchema,
  pausePayloadSchema,
  pauseSignal,
  rejectSignal,
  resumeSignal,
  statusQuery,
  type DecisionPayload,
} from './controls';
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

export { approveSignal, rejectSignal, decideUpdate, pauseSignal, resumeSignal, statusQuery };

const quick = proxyActivities<MigrationActivities>({ startToCloseTimeout: '10m', retry: activityRetry });

/** Tables moved by one child workflow: keeps every history far below Temporal's limits. */
const TABLE_BATCH = 100;
/** Configurations restored by one activity: big enough to keep history short, small enough to retry cheaply. */
const CONFIGURATION_BATCH = 50;

export async function migrateProject(rawInput: MigrationInputDraft): Promise<MigrationResult> {
  const parsed = migrationInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid migration input: ${describeIssues(parsed.error)}`, 'InvalidInput');
  }
  const input: MigrationInput = parsed.data;
  const info = workflowInfo();
  const heartbeatTimeout: Duration = `${input.options.heartbeatTimeoutSeconds}s`;
  const long = proxyActivities<MigrationActivities>({ startToCloseTimeout: '6h', heartbeatTimeout, retry: activityRetry });
  const now = () => new Date().toISOString(); // deterministic in workflows: the time of the current task
  const status: MigrationStatus = {
    workflowId: info.workflowId,
    step: 'validating',
    progress: emptyProgress(),
    failures: [],
    startedAt: now(),
    updatedAt: now(),
  };

  // Cancellation is observed, not obeyed at once: the work in flight finishes and the migration stops at the
  // next entity boundary, so no entity is left half-written.
  let cancelRequested = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelRequested = true;
  });
  // Child workflows get the cancellation request too; they stop at their own next table boundary.
  const childScope = new CancellationScope();

  setHandler(statusQuery, () => status);
  const record = (decision: 'approved' | 'rejected', payload: DecisionPayload) => {
    const valid = decisionPayloadSchema.parse(payload);
    status.approval = { decision, by: valid.by, comment: valid.comment, at: now() };
    status.updatedAt = now();
    return status.approval;
  };
  const refusal = (payload: DecisionPayload): string | undefined => {
    const valid = decisionPayloadSchema.safeParse(payload);
    if (!valid.success) return `invalid decision: ${describeIssues(valid.error)}`;
    if (status.approval) return `already ${status.approval.decision} by ${status.approval.by}`;
    if (!['validating', 'awaiting-approval'].includes(status.step)) return `the migration is ${status.step}, not waiting for a decision`;
    if (input.options.fourEyes && input.requestedBy && valid.data.by.toLowerCase() === input.requestedBy.toLowerCase()) {
      return `four-eyes rule: ${valid.data.by} started this migration and cannot also decide it; ask a colleague`;
    }
    return undefined;
  };
  const signalHandler = (decision: 'approved' | 'rejected') => (payload: DecisionPayload) => {
    const why = refusal(payload);
    if (why) {
      log.warn(`ignored ${decision === 'approved' ? 'approve' : 'reject'} signal: ${why}`);
      status.failures.push({ entity: 'signal', message: `ignored ${decision === 'approved' ? 'approve' : 'reject'} signal: ${why}` });
      return;
    }
    record(decision, payload);
  };
  setHandler(approveSignal, signalHandler('approved'));
  setHandler(rejectSignal, signalHandler('rejected'));
  setHandler(decideUpdate, (payload) => record(payload.decision === 'approve' ? 'approved' : 'rejected', payload), {
    validator: (payload) => {
      if (payload?.decision !== 'approve' && payload?.decision !== 'reject') throw new Error('decision must be "approve" or "reject"');
      const why = refusal(payload);
      if (why) throw new Error(why);
    },
  });
  setHandler(pauseSignal, (payload) => {
    const valid = pausePayloadSchema.safeParse(payload);
    if (!valid.success) return void status.failures.push({ entity: 'signal', message: `ignored pause signal: ${describeIssues(valid.error)}` });
    status.paused = { by: valid.data.by, reason: valid.data.reason, at: now() };
  });
  setHandler(resumeSignal, () => {
    status.paused = undefined;
  });

  const setStep = (step: MigrationStep) => {
    status.step = step;
    status.updatedAt = now();
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: step }]);
  };
  const advance = (type: EntityType, by = 1) => {
    status.progress[type].done += by;
    status.updatedAt = now();
  };
  /** An entity boundary: waits while paused, and stops here when a cancellation was requested. */
  const boundary = async () => {
    await condition(() => !status.paused || cancelRequested);
    if (cancelRequested) throw new CancelledFailure('the migration was cancelled');
  };

  upsertSearchAttributes([
    { key: SOURCE_STACK, value: stackName(input.source) },
    { key: DESTINATION_STACK, value: stackName(input.destination) },
    { key: SOURCE_PROJECT_ID, value: String(input.source.projectId) },
  ]);

  try {
    return await CancellationScope.nonCancellable(async (): Promise<MigrationResult> => {
      setStep('validating');
      const validation = await quick.validateMigration({ source: input.source, destination: input.destination, resume: input.resume });
      status.validation = validation;
      if (validation.findings.some((f) => f.severity === 'blocker')) {
        setStep('blocked');
        throw ApplicationFailure.create({ type: 'ValidationBlocked', nonRetryable: true, message: describeBlockers(validation), details: [validation] });
      }

      if (input.requireApproval && !status.approval) {
        setStep('awaiting-approval');
        const decided = await condition(() => status.approval !== undefined || cancelRequested, `${input.options.approvalTimeoutHours}h`);
        if (!decided) {
          throw ApplicationFailure.nonRetryable(
            `nobody approved or rejected the migration within ${input.options.approvalTimeoutHours} hours: start it again when it can be approved`,
            'ApprovalTimeout',
          );
        }
      }
      await boundary();
      if (status.approval?.decision === 'rejected') {
        setStep('rejected');
        return { outcome: 'rejected', status, counts: countsOf(status), verification: [] };
      }

      setStep('snapshotting');
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
        await boundary();
        const batchSnapshots = await childScope.run(() =>
          executeChild(snapshotTableBatch, {
            workflowId: `${info.workflowId}-snapshot-tables-${n}`,
            args: [{ source: input.source, snapshotDir: plan.snapshotDir, tableIds: batch.map((t) => t.id), concurrency: input.options.tableConcurrency, heartbeatTimeout }],
          }),
        );
        snapshots.push(...batchSnapshots);
        advance('tableData', batch.length);
      }
      await quick.finalizeSnapshot({ source: input.source, snapshotDir: plan.snapshotDir });

      await boundary();
      setStep('restoring');
      const buckets = await quick.restoreBuckets({ destination: input.destination, snapshotDir: plan.snapshotDir });
      advance('buckets', buckets.created.length + buckets.existing.length);
      status.progress.buckets.total -= buckets.skipped.length;
      for (const skipped of buckets.skipped) status.failures.push({ entity: `bucket ${skipped.id}`, message: `skipped: ${skipped.reason}` });

      const restorable = new Set([...buckets.created, ...buckets.existing]);
      const toRestore = snapshots.filter((s) => restorable.has(bucketOf(s.tableId)));
      const verification: TableVerification[] = [];
      for (const [n, batch] of chunk(toRestore, TABLE_BATCH).entries()) {
        await boundary();
        const batchVerification = await childScope.run(() =>
          executeChild(restoreTableBatch, {
            workflowId: `${info.workflowId}-restore-tables-${n}`,
            args: [
              {
                destination: input.destination,
                snapshotDir: plan.snapshotDir,
                tables: batch.map((s) => ({ tableId: s.tableId, expected: { rows: s.rows, checksum: s.checksum } })),
                concurrency: input.options.tableConcurrency,
                heartbeatTimeout,
              },
            ],
          }),
        );
        verification.push(...batchVerification);
        advance('tables', batch.length);
        advance('tableData', batch.length);
      }

      await boundary();
      const aliases = await quick.restoreAliases({ destination: input.destination, snapshotDir: plan.snapshotDir });
      advance('aliases', aliases.created.length + aliases.existing.length);
      for (const skipped of aliases.skipped) status.failures.push({ entity: `alias ${skipped.id}`, message: `skipped: ${skipped.reason}` });

      const configurations = await quick.listSnapshotConfigurations({ snapshotDir: plan.snapshotDir });
      await mapWithConcurrency(chunk(configurations, CONFIGURATION_BATCH), input.options.configurationConcurrency, async (batch, batchNumber) => {
        await boundary();
        const summary = await long.restoreConfigurations({ destination: input.destination, snapshotDir: plan.snapshotDir, batchNumber, batch });
        advance('configurations', summary.restored);
        status.progress.configurations.failed += summary.skipped.length;
        for (const skipped of summary.skipped) status.failures.push({ entity: `configuration ${skipped.id}`, message: `skipped: ${skipped.reason}` });
      });

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
            .join('; ')}. The report lists them: ${report.markdown}`,
          details: [mismatches],
        });
      }

      setStep('completed');
      return { outcome: 'completed', status, counts: countsOf(status), verification, snapshotDir: plan.snapshotDir, report };
    });
  } catch (error) {
    if (cancelRequested || isCancellation(error)) {
      setStep('cancelled');
      if (input.options.cleanupOnCancel && status.snapshotDir) {
        status.cleanup = await CancellationScope.nonCancellable(() =>
          quick.cleanupDestination({ destination: input.destination, snapshotDir: status.snapshotDir! }),
        );
      }
      throw new CancelledFailure(
        `the migration was cancelled at step boundary${status.cleanup ? `; clean-up ${status.cleanup.destinationEmpty ? 'left the destination empty' : `left ${status.cleanup.remaining.length} item(s)`}` : ''}`,
      );
    }
    if (status.step !== 'blocked') setStep('failed');
    status.failures.push({ entity: 'migration', message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

function bucketOf(tableId: string): string {
  return tableId.split('.').slice(0, 2).join('.');
}

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
