// A migration kept in sync (docs/sync.md): after its first copy is verified it stays open, runs sync passes on
// request (the `sync` update) and every `syncEveryHours`, cuts over when a person approves it (the `cutover`
// update), and can roll back (`rollback`). Each operation is an update whose validator refuses what cannot run
// now, one at a time; after each the workflow continues as new with what it must remember, so a migration
// that stays open for weeks keeps a short history.
import {
  allHandlersFinished,
  ApplicationFailure,
  CancelledFailure,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { MigrationInput, MigrationInputDraft } from './input';
import type { MigrationRun } from './run';
import { describeFailure } from './run';
import { mapWithConcurrency, SETTLE_LANES } from './concurrency';
import { MIGRATION_PHASE } from './search-attributes';
import { syncTableBatch } from './table-batches';
import { cutoverPayloadSchema, cutoverUpdate, measureLagUpdate, rollbackPayloadSchema, rollbackUpdate, syncPayloadSchema, syncUpdate } from './controls';
import {
  addVerification,
  carriedFrom,
  NOTHING_VERIFIED,
  type CarriedState,
  type CutoverRecord,
  type MigrationResult,
  type SwitchedSchedules,
  type SyncPassSummary,
  type SyncPhase,
  type SyncStatus,
  type VerificationSummary,
} from './types';
import { parseOr } from './input';

/** Configurations a sync pass updates per activity, as in the first copy. */
const CONFIGURATION_BATCH = 50;
/** The passes the status and the report list. */
const RECENT_PASSES = 5;
/** After a cutover the migration waits this long for a rollback, then completes. */
const ROLLBACK_WINDOW_HOURS = 24 * 14;
/** The failures carried from one run to the next (the report lists them). */
const CARRIED_FAILURES = 100;

const NOTHING_SWITCHED: SwitchedSchedules = { schedules: [], orchestrations: [], configurations: [] };

/** The state right after the first copy: pass 0 is the first copy's snapshot. */
export function firstCopyState(run: MigrationRun, snapshotDir: string, verification: VerificationSummary, everyHours?: number): CarriedState {
  return carriedFrom(run.status, snapshotDir, verification, now(), everyHours);
}

export function setPhase(phase: SyncPhase): void {
  upsertSearchAttributes([{ key: MIGRATION_PHASE, value: phase }]);
}

/** Runs the migration's in-sync life: passes, cutover, rollback; continues as new after each. */
export async function keepInSync(run: MigrationRun, input: MigrationInput, carried: CarriedState): Promise<MigrationResult> {
  const { status } = run;
  Object.assign(status, {
    progress: carried.progress,
    idMap: carried.idMap,
    failures: carried.failures,
    startedAt: carried.startedAt,
    validation: carried.validation,
    approval: carried.approval,
    report: carried.report,
    snapshotDir: carried.firstSnapshotDir,
  });
  run.setStep('completed'); // the first copy's step, for a run that Update-with-Start began
  const sync: SyncStatus = (status.sync = { ...carried.sync, running: undefined });
  const refreshReadiness = () => {
    sync.notReady = notReadyReasons(sync);
    status.updatedAt = now();
  };
  refreshReadiness();
  setPhase(sync.phase);

  let operations = 0;
  const exclusive = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    sync.running = what;
    refreshReadiness();
    try {
      return await work();
    } finally {
      sync.running = undefined;
      operations++;
      refreshReadiness();
    }
  };
  const mustBe = (phases: SyncPhase[], action: string) => {
    if (sync.running) throw new Error(`cannot ${action} now: ${sync.running} is running; wait for it (stack-migrate watch)`);
    if (!phases.includes(sync.phase)) throw new Error(`cannot ${action}: the migration is ${sync.phase}, and ${action} needs it ${phases.join(' or ')}`);
  };
  const pass = (by: string, reason?: string) => runPass(run, input, carried.firstSnapshotDir, by, reason);

  setHandler(
    syncUpdate,
    (payload) => {
      const { by, reason } = syncPayloadSchema.parse(payload);
      return exclusive(`sync pass ${sync.passes + 1}`, () => pass(by, reason));
    },
    {
      validator: (payload) => {
        parseOr(syncPayloadSchema, payload, invalid('sync'));
        mustBe(['in-sync'], 'run a sync pass');
      },
    },
  );
  setHandler(cutoverUpdate, (payload) => exclusive('the cutover', () => cutover(run, input, pass, cutoverPayloadSchema.parse(payload))), {
    validator: (payload) => {
      const valid = parseOr(cutoverPayloadSchema, payload, invalid('cutover'));
      mustBe(['in-sync'], 'cut over');
      const reasons = notReadyReasons(sync);
      if (reasons.length) throw new Error(`not ready to cut over: ${reasons.join('; ')}`);
      const starter = input.requestedBy;
      if (input.options.fourEyes && starter && valid.by.toLowerCase() === starter.toLowerCase()) {
        throw new Error(`four-eyes rule: ${valid.by} started this migration and cannot also approve its cutover; ask a colleague`);
      }
    },
  });
  setHandler(rollbackUpdate, (payload) => exclusive('the rollback', () => rollback(run, input, rollbackPayloadSchema.parse(payload))), {
    validator: (payload) => {
      parseOr(rollbackPayloadSchema, payload, invalid('rollback'));
      mustBe(['cut-over'], 'roll back');
    },
  });
  setHandler(
    measureLagUpdate,
    async () => {
      const lag = await run.quick.measureSyncLag({ source: input.source, lastSnapshotDir: sync.lastSnapshotDir });
      sync.lag = lag;
      refreshReadiness();
      return lag;
    },
    { validator: () => mustBe(['in-sync'], 'measure how far behind the destination is') },
  );

  for (;;) {
    const before = operations;
    const hours = sync.phase === 'cut-over' ? ROLLBACK_WINDOW_HOURS : sync.everyHours;
    const dueInMs = hours === undefined ? undefined : Math.max(1000, lastEventAt(sync) + hours * 3_600_000 - Date.now());
    const wake = () => operations > before || run.cancelled;
    const woken = dueInMs === undefined ? (await condition(wake), true) : await condition(wake, dueInMs);
    if (run.cancelled) {
      await condition(allHandlersFinished);
      throw new CancelledFailure('the migration kept in sync was cancelled; the destination keeps what the last pass copied');
    }
    if (!woken && sync.phase === 'cut-over') break;
    if (!woken && !sync.running) await exclusive(`sync pass ${sync.passes + 1}`, () => pass('schedule')).catch(() => undefined); // recorded in the status
    await condition(() => !sync.running && allHandlersFinished());
    // Checked loosely by the input schema (carriedStateSchema): the workflow wrote it.
    await continueAsNew<(input: MigrationInputDraft) => Promise<MigrationResult>>({ ...input, carried: carry(run, carried) as unknown as MigrationInput['carried'] });
  }
  await condition(allHandlersFinished);
  return { outcome: 'completed', status, counts: run.counts(), verification: carried.verification, snapshotDir: carried.firstSnapshotDir, report: status.report };
}

/**
 * When the migration last did something that restarts the clock of its passes every N hours (and, cut over, of its
 * rollback window): a pass, a failed pass (not tried again at once), a cutover, a rollback.
 */
function lastEventAt(sync: SyncStatus): number {
  const times = [sync.lastPassAt, sync.lastPassFailure?.at, sync.cutover?.finishedAt, sync.cutover?.rollback?.at];
  return Math.max(...times.filter((t): t is string => t !== undefined).map((t) => Date.parse(t)));
}

function carry(run: MigrationRun, carried: CarriedState): CarriedState {
  const { status } = run;
  return {
    ...carried,
    sync: { ...status.sync!, running: undefined, lag: undefined },
    idMap: status.idMap,
    failures: status.failures.slice(-CARRIED_FAILURES),
    report: status.report,
  };
}

const invalid = (what: string) => (problems: string) => new Error(`invalid ${what} request: ${problems}`);

/** Why the migration cannot be cut over now (empty: it can). */
function notReadyReasons(sync: SyncStatus): string[] {
  const reasons: string[] = [];
  if (sync.phase !== 'in-sync') reasons.push(`the migration is ${sync.phase}`);
  if (sync.running) reasons.push(`${sync.running} is running`);
  if (sync.lastPassFailure) reasons.push(`sync pass ${sync.lastPassFailure.pass} failed (${sync.lastPassFailure.message}): run a pass that succeeds first`);
  const mismatches = sync.lastPass?.verification.mismatches ?? [];
  if (mismatches.length) reasons.push(`the last pass found ${mismatches.length} table(s) that differ from the source: ${mismatches.map((m) => m.tableId).join(', ')}`);
  return reasons;
}

/** One pass, recorded in the status whether it succeeds or fails; a failed one moves nothing on. */
async function runPass(run: MigrationRun, input: MigrationInput, firstSnapshotDir: string, by: string, reason?: string): Promise<SyncPassSummary> {
  const sync = run.status.sync!;
  const number = sync.passes + 1;
  try {
    const summary = { ...(await syncPass(run, input, firstSnapshotDir, number, by)), ...(reason ? { reason } : {}) };
    Object.assign(sync, {
      passes: number,
      lastSnapshotDir: summary.snapshotDir,
      lastPassAt: summary.finishedAt,
      lastPass: summary,
      recentPasses: [...sync.recentPasses, summary].slice(-RECENT_PASSES),
      lag: undefined,
      lastPassFailure: undefined,
    });
    return summary;
  } catch (error) {
    if (isCancellation(error)) throw error;
    const message = describeFailure(error);
    sync.lastPassFailure = { pass: number, at: now(), message };
    run.status.failures.push({ entity: `sync pass ${number}`, message });
    throw ApplicationFailure.create({
      type: 'SyncPassFailed',
      nonRetryable: true,
      message: `sync pass ${number} failed: ${message}. The next pass compares the source with pass ${sync.passes} again and copies what this one did not`,
    });
  }
}

/**
 * A new snapshot of the source's metadata, compared with the last pass'; then, in the restore order: what the source
 * no longer has removed, new buckets, changed tables (in child workflows, each verified), aliases, legacy
 * orchestrations, configurations (verified), triggers and notification subscriptions.
 */
async function syncPass(run: MigrationRun, input: MigrationInput, firstSnapshotDir: string, pass: number, by: string): Promise<SyncPassSummary> {
  const { source, destination } = input;
  const startedAt = now();
  // Unique per attempt: a pass tried again after a failure must not find the first attempt's records.
  const passId = `${run.info.workflowId}-pass-${pass}-${run.info.runId}`;
  const { snapshotDir } = await run.long.snapshotProjectMetadata({ source, snapshotId: passId, permanentFiles: false });
  await run.long.snapshotOrchestrations({ source, snapshotDir });
  const previousSnapshotDir = run.status.sync!.lastSnapshotDir;
  const { changes, tablesToCopy, copy, removes, removedOrchestrations } = await run.long.planSyncPass({ previousSnapshotDir, snapshotDir });
  const at = { destination, snapshotDir };

  if (removes) await run.long.removeFromDestination({ ...at, idMap: run.idMapOf('orchestration') });
  const gone = new Set(removedOrchestrations ?? []);
  run.status.idMap = run.status.idMap.filter((entry) => !(entry.type === 'orchestration' && gone.has(entry.oldId)));
  if (changes.bucketsAdded > 0) await run.long.restoreBuckets(at);
  let verification: VerificationSummary = NOTHING_VERIFIED;
  let bytes = 0;
  for (const batch of run.tableBatches(snapshotDir, tablesToCopy)) {
    await run.boundary();
    const moved = await run.childScope.run(() => executeChild(syncTableBatch, { workflowId: `${passId}-tables-${batch.batchNumber}`, args: [{ ...batch, source, destination }] }));
    verification = addVerification(verification, moved.verification);
    bytes += moved.bytes;
  }
  // A table dropped to change its column types took its aliases with it: they are created again too.
  if (changes.aliasesAdded + changes.tablesAltered > 0) await run.long.restoreAliases(at);

  const needsAPerson: string[] = [];
  const configurations = await run.quick.countSyncConfigurations({ snapshotDir });
  // Legacy orchestrations first (new ones get new IDs, which Flows, triggers and subscriptions then point at).
  if (copy.orchestrations) {
    const { idMap } = await run.long.restoreOrchestrations(at);
    const known = new Set(run.status.idMap.filter((e) => e.type === 'orchestration').map((e) => e.oldId));
    run.status.idMap.push(...idMap.filter((e) => !known.has(e.oldId)));
  }
  if (configurations > 0 || copy.orchestrations) {
    const skipComponents = run.options.skipComponents;
    const batches = Array.from({ length: Math.ceil(configurations / CONFIGURATION_BATCH) }, (_, n) => n);
    await mapWithConcurrency(
      batches,
      run.options.configurationConcurrency,
      async (batchNumber) => {
        await run.boundary();
        const done = await run.long.syncConfigurations({ ...at, batchNumber, batchSize: CONFIGURATION_BATCH, skipComponents });
        needsAPerson.push(...done.skipped.map((s) => `configuration ${s}`), ...done.secrets.map((s) => `enter the encrypted value of ${s}`));
      },
      { settle: patched(SETTLE_LANES) },
    );
    const newIds = run.idMapOf('orchestration');
    if (newIds.length) await run.long.rewriteOrchestrationReferences({ destination, idMap: newIds });
    const check = await run.long.verifyConfigurations({ ...at, skipComponents, changedOnly: true, ownEditsSnapshotDir: firstSnapshotDir });
    if (check.mismatches.length) {
      throw ApplicationFailure.create({
        type: 'VerificationFailed',
        nonRetryable: true,
        message: `${check.mismatches.length} configuration(s) differ from the source after the pass: ${check.mismatches.slice(0, 10).map((m) => `${m.configuration} (${m.difference})`).join('; ')}`,
      });
    }
  }
  const idMap = run.idMapOf('orchestration');
  const unrestored = (what: string, outcome: { skipped: Array<{ id: string; reason: string }> }) => needsAPerson.push(...outcome.skipped.map((s) => `${what} ${s.id}: ${s.reason}`));
  if (copy.triggers) unrestored('trigger', await run.long.restoreTriggers({ ...at, idMap }));
  if (copy.notifications) unrestored('notification subscription', await run.long.restoreNotifications({ ...at, idMap }));
  if (verification.mismatches.length) {
    throw ApplicationFailure.create({
      type: 'VerificationFailed',
      nonRetryable: true,
      message: `${verification.mismatches.length} table(s) differ from the source after the pass: ${verification.mismatches.map((m) => `${m.tableId} (expected ${m.expected.rows} rows, found ${m.actual.rows})`).join('; ')}`,
    });
  }
  const finishedAt = now();
  return {
    pass,
    snapshotDir,
    by,
    startedAt,
    finishedAt,
    seconds: (Date.parse(finishedAt) - Date.parse(startedAt)) / 1000,
    changes: { ...changes, needsAPerson },
    bytes,
    verification: { ...verification, mode: run.options.verify },
  };
}

/**
 * The planned cutover: the source's schedules off (when asked; recorded), a final pass, the destination's on,
 * read back, and the report with the downtime. A cutover that fails switches off what it may have switched on in the
 * destination, and back on a source it switched off; the migration is then in sync again.
 */
async function cutover(run: MigrationRun, input: MigrationInput, pass: (by: string) => Promise<SyncPassSummary>, payload: ReturnType<typeof cutoverPayloadSchema.parse>): Promise<CutoverRecord> {
  const sync = run.status.sync!;
  const record: CutoverRecord = { by: payload.by, comment: payload.comment, switchOffSource: payload.switchOffSource, requestedAt: now() };
  sync.cutover = record;
  sync.phase = 'cutting-over';
  setPhase('cutting-over');
  let switchingOn: SwitchedSchedules | undefined;
  try {
    const running = await run.quick.activeSchedulesOf({ stack: input.source, snapshotDir: sync.lastSnapshotDir });
    if (payload.switchOffSource) {
      record.sourceSwitchedOffAt = now();
      // The source's configurations keep their flags: only what runs them (schedules, orchestrations) goes off.
      record.sourceSwitchedOff = await run.quick.switchSchedules({ stack: input.source, switched: { ...running, configurations: [] }, on: false });
    }
    const finalStartedAt = now();
    const final = await pass('cutover');
    record.finalPass = final.pass;
    const enabled = (await run.quick.activeSchedulesOf({ stack: input.source, snapshotDir: final.snapshotDir })).configurations;
    const newIds = new Map(run.idMapOf('orchestration').map((entry) => [entry.oldId, entry.newId]));
    const unmapped = running.orchestrations.filter((id) => !newIds.has(id));
    for (const id of unmapped) run.status.failures.push({ entity: `orchestration ${id}`, message: 'active in the source but not migrated: switch on its replacement in the destination by hand' });
    switchingOn = { schedules: running.schedules, orchestrations: running.orchestrations.flatMap((id) => (newIds.has(id) ? [newIds.get(id)!] : [])), configurations: enabled };
    record.destinationSwitchedOn = await run.quick.switchSchedules({ stack: input.destination, switched: switchingOn, on: true });
    record.destinationSwitchedOnAt = now();
    record.downtimeSeconds = (Date.parse(record.destinationSwitchedOnAt) - Date.parse(record.sourceSwitchedOffAt ?? finalStartedAt)) / 1000;
    record.finishedAt = now();
    sync.phase = 'cut-over';
    setPhase('cut-over');
  } catch (error) {
    record.failed = describeFailure(error);
    if (switchingOn && !record.destinationSwitchedOn) {
      // What a switch-on that failed half-way may have enabled goes off again: one side runs, never both.
      await run.quick.switchSchedules({ stack: input.destination, switched: switchingOn, on: false }).then(
        () => void (record.failed += '; what it had switched on in the destination was switched off'),
        (undo: unknown) => void (record.failed += `; switching the destination off again failed too (${describeFailure(undo)}): check its schedules`),
      );
    }
    if (record.sourceSwitchedOff && !record.destinationSwitchedOn) {
      const off = record.sourceSwitchedOff;
      await run.quick.switchSchedules({ stack: input.source, switched: off, on: true }).then(
        () => void (record.failed += '; the source was switched back on'),
        (undo: unknown) =>
          void (record.failed += `; switching the source back on failed too (${describeFailure(undo)}): switch on by hand ${off.schedules.length} schedule(s) (${off.schedules.join(', ')}) and legacy orchestration(s) ${off.orchestrations.join(', ') || 'none'}`),
      );
    }
    sync.phase = 'in-sync';
    setPhase('in-sync');
    throw ApplicationFailure.create({ type: 'CutoverFailed', nonRetryable: true, message: `the cutover failed: ${record.failed}. The migration is in sync again: fix the cause and cut over again` });
  }
  await writeSyncReport(run, input);
  return record;
}

/** Undoes a cutover from its record: the destination's schedules off, then the source's back on. */
async function rollback(run: MigrationRun, input: MigrationInput, { by, comment }: { by: string; comment?: string }): Promise<CutoverRecord> {
  const sync = run.status.sync!;
  const record = sync.cutover!;
  const destinationSwitchedOff = await run.quick.switchSchedules({ stack: input.destination, switched: record.destinationSwitchedOn ?? NOTHING_SWITCHED, on: false });
  const sourceSwitchedOn = record.sourceSwitchedOff ? await run.quick.switchSchedules({ stack: input.source, switched: record.sourceSwitchedOff, on: true }) : NOTHING_SWITCHED;
  record.rollback = { by, ...(comment ? { comment } : {}), at: now(), destinationSwitchedOff, sourceSwitchedOn };
  sync.phase = 'in-sync';
  setPhase('in-sync');
  await writeSyncReport(run, input);
  return record;
}

async function writeSyncReport(run: MigrationRun, input: MigrationInput): Promise<void> {
  const { status } = run;
  await run.writeReport({ source: input.source, destination: input.destination, snapshotDir: status.snapshotDir!, verification: NOTHING_VERIFIED, sync: status.sync });
}

/** Deterministic in workflows: the time of the current workflow task. */
function now(): string {
  return new Date().toISOString();
}
