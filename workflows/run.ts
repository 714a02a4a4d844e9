// What every migration-like workflow shares: its status and the handlers that operators and support tooling
// use (decide, approve/reject, pause/resume, status), entity boundaries where pause and cancellation take effect,
// and the bookkeeping of what each restore step did (workflows/restore-steps.ts).
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  CancellationScope,
  ContinueAsNew,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities';
import { describeIssues, type MigrationInput, type StackRef } from './input';
import { MIGRATION_STEP } from './search-attributes';
import { activityRetry } from './retry';
import type { TableBatchInput } from './table-batches';
import {
  approveSignal,
  cutoverUpdate,
  decideUpdate,
  measureLagUpdate,
  rollbackUpdate,
  syncUpdate,
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
  ENTITIES,
  NOTHING_VERIFIED,
  type EntityType,
  type IdMapEntry,
  type RestoreOutcome,
  type MigrationStatus,
  type MigrationStep,
  type ReportLocation,
  type SyncStatus,
  type ValidationReport,
  type VerificationSummary,
} from './types';

/** The most tables one child workflow moves: keeps every history far below Temporal's limits. */
export const TABLE_BATCH = 100;
/** patched() marker of the batch size that follows the project's size. */
const ADAPTIVE_TABLE_BATCHES = 'adaptive-table-batches';

type RunOptions = Pick<MigrationInput, 'options' | 'requestedBy'>;

export class MigrationRun {
  readonly info = workflowInfo();
  readonly status: MigrationStatus;
  readonly heartbeatTimeout: Duration;
  /**
   * Every activity heartbeats while it runs (the worker's keep-alive, activities/heartbeat.ts), so a worker that
   * dies is noticed within the heartbeat timeout, whichever activity it ran. `quick` ones (a few reads or writes,
   * validation, the report) also end within 10 minutes; `long` ones (growing with the project) within 6 hours.
   */
  readonly quick: ReturnType<typeof proxyActivities<MigrationActivities>>;
  readonly long: ReturnType<typeof proxyActivities<MigrationActivities>>;
  /** Child workflows get the cancellation request too; they stop at their own next table boundary. */
  readonly childScope = new CancellationScope();
  /** Every table's verification so far, as counts and mismatches. */
  tableVerification: VerificationSummary = NOTHING_VERIFIED;
  private cancelRequested = false;
  /** Set when a step running beside others has failed: the others stop at their next boundary (sideBySide). */
  private besideFailed = false;

  constructor(private readonly run: RunOptions) {
    this.heartbeatTimeout = `${run.options.heartbeatTimeoutSeconds}s`;
    this.quick = proxyActivities<MigrationActivities>({ startToCloseTimeout: '10m', heartbeatTimeout: this.heartbeatTimeout, retry: activityRetry });
    this.long = proxyActivities<MigrationActivities>({ startToCloseTimeout: '6h', heartbeatTimeout: this.heartbeatTimeout, retry: activityRetry });
    this.status = {
      workflowId: this.info.workflowId,
      step: 'validating',
      progress: emptyProgress(),
      failures: [],
      idMap: [],
      startedAt: now(),
      updatedAt: now(),
    };
    // Cancellation is observed, not obeyed at once: the work in flight finishes and the run stops at the next
    // entity boundary, so no entity is left half-written.
    CancellationScope.current().cancelRequested.catch(() => {
      this.cancelRequested = true;
    });
    this.installHandlers();
  }

  private installHandlers() {
    const status = this.status;
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
      const starter = this.run.requestedBy;
      if (this.run.options.fourEyes && starter && valid.data.by.toLowerCase() === starter.toLowerCase()) {
        return `four-eyes rule: ${valid.data.by} started this migration and cannot also decide it; ask a colleague`;
      }
      return undefined;
    };
    const signalHandler = (decision: 'approved' | 'rejected') => (payload: DecisionPayload) => {
      const why = refusal(payload);
      if (why) {
        const message = `ignored ${decision === 'approved' ? 'approve' : 'reject'} signal: ${why}`;
        log.warn(message);
        status.failures.push({ entity: 'signal', message });
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
  }

  /**
   * Until its first copy is verified a migration has nothing to keep in sync: the sync updates are refused with the
   * reason (workflows/sync.ts replaces these handlers). A run that continues one in sync, or starts it so with
   * Update-with-Start, gets the real ones at once instead.
   */
  refuseSyncUntilCopied(keepInSync: boolean) {
    const status = this.status;
    const notYet = (action: string): never => {
      throw new Error(`cannot ${action}: the migration is ${status.step}; ${keepInSync ? 'sync passes begin once its first copy is verified' : 'it was started without --keep-in-sync: run `stack-migrate sync` once it has completed'}`);
    };
    setHandler(syncUpdate, (_payload) => notYet('run a sync pass'), { validator: (_payload) => notYet('run a sync pass') });
    setHandler(cutoverUpdate, (_payload) => notYet('cut over'), { validator: (_payload) => notYet('cut over') });
    setHandler(rollbackUpdate, (_payload) => notYet('roll back'), { validator: (_payload) => notYet('roll back') });
    setHandler(measureLagUpdate, () => notYet('measure how far behind the destination is'), { validator: () => notYet('measure how far behind the destination is') });
  }

  get options(): MigrationInput['options'] {
    return this.run.options;
  }

  setStep(step: MigrationStep) {
    this.status.step = step;
    this.status.updatedAt = now();
    upsertSearchAttributes([{ key: MIGRATION_STEP, value: step }]);
  }

  advance(type: EntityType, by = 1) {
    this.status.progress[type].done += by;
    this.status.updatedAt = now();
  }

  /** Whether a cancellation was requested (it takes effect at the next entity boundary). */
  get cancelled(): boolean {
    return this.cancelRequested;
  }

  /** An entity boundary: waits while paused, and stops here when a cancellation was requested or a step beside failed. */
  async boundary() {
    await condition(() => !this.status.paused || this.cancelRequested || this.besideFailed);
    if (this.cancelRequested) throw new CancelledFailure('the migration was cancelled');
    this.stopIfBesideFailed();
  }

  /** Within a step, between two writes that no boundary separates: stops there when a step beside it has failed. */
  stopIfBesideFailed() {
    if (this.besideFailed) throw ApplicationFailure.nonRetryable('stopped: a step running beside this one failed', 'StoppedBesideFailure');
  }

  /**
   * Runs steps at the same time. When one fails, the others start nothing new (each stops at its next boundary),
   * and the first failure is answered once every step has ended: nothing is still writing to the destination while
   * the failure is handled (a clean-up after a cancellation, say).
   */
  async sideBySide(steps: Array<() => Promise<void>>): Promise<void> {
    let first: { error: unknown } | undefined;
    await Promise.all(
      steps.map(async (step) => {
        try {
          await step();
        } catch (error) {
          first ??= { error }; // a step stopped by it fails after it, with StoppedBesideFailure
          this.besideFailed = true;
        }
      }),
    );
    this.besideFailed = false;
    if (first) throw first.error;
  }

  /** Records the validation; fails with a readable list when anything blocks. */
  checkValidation(validation: ValidationReport) {
    this.status.validation = validation;
    const blockers = validation.findings.filter((f) => f.severity === 'blocker');
    if (blockers.length === 0) return;
    this.setStep('blocked');
    throw ApplicationFailure.create({
      type: 'ValidationBlocked',
      nonRetryable: true,
      message: [
        `validation found ${blockers.length} blocker(s); nothing was written to the destination:`,
        ...blockers.map((f) => `- [${f.code}] ${f.entity ? `${f.entity}: ` : ''}${f.message}. What to do: ${f.action}.`),
      ].join('\n'),
      details: [validation],
    });
  }

  /** Waits for an approval or rejection (or cancellation); true when approved. */
  async awaitApproval(required: boolean): Promise<boolean> {
    if (required && !this.status.approval) {
      this.setStep('awaiting-approval');
      const hours = this.run.options.approvalTimeoutHours;
      const decided = await condition(() => this.status.approval !== undefined || this.cancelRequested, `${hours}h`);
      if (!decided) {
        throw ApplicationFailure.nonRetryable(`nobody approved or rejected the migration within ${hours} hours: start it again when it can be approved`, 'ApprovalTimeout');
      }
    }
    await this.boundary();
    if (this.status.approval?.decision === 'rejected') {
      this.setStep('rejected');
      return false;
    }
    return true;
  }

  /**
   * The input of each batch of tables, for child workflows. Batches hold about a tenth of the tables (at least
   * the table concurrency, at most TABLE_BATCH), so that even a project of a few large tables has batches whose
   * restore can overlap the next one's snapshot. Histories recorded before this used TABLE_BATCH always.
   */
  tableBatches(snapshotDir: string, dataTableCount: number): TableBatchInput[] {
    const concurrency = this.run.options.tableConcurrency;
    const batchSize = patched(ADAPTIVE_TABLE_BATCHES) ? Math.min(TABLE_BATCH, Math.max(concurrency, Math.ceil(dataTableCount / 10))) : TABLE_BATCH;
    return Array.from({ length: Math.ceil(dataTableCount / batchSize) }, (_, batchNumber) => ({
      snapshotDir,
      batchNumber,
      batchSize,
      concurrency,
      heartbeatTimeout: this.heartbeatTimeout,
      verify: this.run.options.verify,
    }));
  }

  /** Brings every batch of tables into the snapshot (exported, or fingerprinted from disk) before anything else. */
  async takeTables(snapshotDir: string, dataTableCount: number, take: (batch: TableBatchInput) => Promise<number>): Promise<void> {
    for (const batch of this.tableBatches(snapshotDir, dataTableCount)) {
      await this.boundary();
      this.advance('tableData', await this.childScope.run(() => take(batch)));
    }
  }

  /**
   * Records what a step did: progress, the reasons of its skips, and the IDs it changed. The one piece of
   * bookkeeping behind `status`, `watch` and the report. Results recorded by earlier versions of the activities
   * (test/histories) may lack fields or count instead of listing; they are read as far as they go.
   */
  record(entity: EntityType, outcome: RestoreOutcome) {
    const progress = this.status.progress[entity];
    const listed = (ids: unknown) => (Array.isArray(ids) ? ids.length : 0);
    progress.done += listed(outcome.created) + listed(outcome.existing);
    progress.skipped = (progress.skipped ?? 0) + (outcome.skipped?.length ?? 0);
    if (entity !== 'configurations' && entity !== 'tables') progress.total = Math.max(progress.total, progress.done + progress.skipped);
    for (const skip of outcome.skipped ?? []) this.status.failures.push({ entity: `${ENTITIES[entity].one} ${skip.id}`, message: skip.reason.startsWith('not ') ? skip.reason : `skipped: ${skip.reason}` });
    for (const entry of outcome.idMap ?? []) this.status.idMap.push(entry);
    this.status.updatedAt = now();
  }

  /** The old → new IDs recorded so far for one type of entity (e.g. legacy orchestrations, for their triggers). */
  idMapOf(type: string): IdMapEntry[] {
    return this.status.idMap.filter((entry) => entry.type === type);
  }

  async writeReport(args: {
    source: Pick<StackRef, 'url' | 'projectId'>;
    destination: StackRef;
    snapshotDir: string;
    verification: VerificationSummary;
    sync?: SyncStatus;
  }): Promise<ReportLocation> {
    if (!args.sync) this.setStep('reporting');
    const report = await this.quick.writeReport({
      workflowId: this.info.workflowId,
      source: args.source,
      destination: args.destination,
      snapshotDir: args.snapshotDir,
      validation: this.status.validation!,
      approval: this.status.approval,
      counts: this.counts(),
      skipped: this.status.failures,
      idMap: this.status.idMap,
      ...(args.sync ? { sync: args.sync } : {}),
    });
    this.status.report = report;
    const mismatches = args.verification.mismatches;
    if (mismatches.length > 0) {
      throw ApplicationFailure.create({
        type: 'VerificationFailed',
        nonRetryable: true,
        message: `verification found ${mismatches.length} table(s) whose data differs from the source: ${mismatches
          .map((m) => `${m.tableId} (expected ${m.expected.rows} rows ${m.expected.checksum.slice(0, 12)}, found ${m.actual.rows} rows ${m.actual.checksum.slice(0, 12)}${m.reason ? `: ${m.reason}` : ''})`)
          .join('; ')}. The report lists them: ${report.markdown}`,
        details: [mismatches],
      });
    }
    return report;
  }

  counts(): Record<EntityType, number> {
    return Object.fromEntries(Object.entries(this.status.progress).map(([type, p]) => [type, p.done])) as Record<EntityType, number>;
  }

  /**
   * Ends the run after an error: a cancellation (optionally cleaning up what was created) ends as cancelled;
   * anything else is recorded in the status and rethrown.
   */
  async fail(error: unknown, cleanup?: { destination: StackRef }): Promise<never> {
    if (error instanceof ContinueAsNew) throw error; // a migration kept in sync going on in its next run
    if (this.cancelRequested || isCancellation(error)) {
      this.setStep('cancelled');
      const snapshotDir = this.status.snapshotDir;
      if (cleanup && snapshotDir) {
        this.status.cleanup = await CancellationScope.nonCancellable(() => this.long.cleanupDestination({ destination: cleanup.destination, snapshotDir }));
      }
      const cleaned = this.status.cleanup;
      throw new CancelledFailure(
        `the migration was cancelled at an entity boundary${cleaned ? `; clean-up ${cleaned.destinationEmpty ? 'left the destination empty' : `left ${cleaned.remaining.length} item(s)`}` : ''}`,
      );
    }
    if (this.status.step !== 'blocked') this.setStep('failed');
    this.status.failures.push({ entity: 'migration', message: describeFailure(error) });
    throw error;
  }
}

/**
 * The root cause of a failure, with where it happened: `restoreAliases: POST buckets/in.c-x/table-aliases: 404 ...`
 * rather than Temporal's "Activity task failed" or "Child Workflow execution failed".
 */
export function describeFailure(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return `${error.activityType}: ${describeFailure(error.cause)}`;
  if (error instanceof ChildWorkflowFailure && error.cause) return `${error.execution?.workflowId ?? error.workflowType}: ${describeFailure(error.cause)}`;
  if (error instanceof ApplicationFailure && error.type) return `${error.message} [${error.type}]`;
  return error instanceof Error ? error.message : String(error);
}

/** Deterministic in workflows: the time of the current workflow task. */
function now(): string {
  return new Date().toISOString();
}
