// The restore order, in one place: what a snapshot becomes in the destination, step by step (docs/domain.md,
// "Restore order"). Every step is one entity type, calls its activity (or its child workflows, for tables) and
// answers one RestoreOutcome, which MigrationRun.record turns into progress, status and report counts.
// To add an entity type: a snapshot schema, an activity module, one line here (docs/adding-an-entity-type.md).
//
// The order of activity calls is what the committed histories recorded (test/histories): a change that schedules
// activities differently needs patched() (docs/architecture.md, "Temporal here").
import { ApplicationFailure, executeChild, log, patched } from '@temporalio/workflow';
import { mapWithConcurrency, SETTLE_LANES } from './concurrency';
import type { StackRef } from './input';
import type { MigrationRun } from './run';
import { restoreTableBatch, type TableBatchInput } from './table-batches';
import { addVerification, type EntityType, type RestoreOutcome, type VerificationSummary } from './types';

/** patched() markers of steps that histories recorded before them do not have. */
const NOTIFICATIONS_STEP = 'restore-notifications';
const PERMANENT_FILES_STEP = 'restore-permanent-files';
const VERIFY_CREATED_STEP = 'verify-created-entities';
const REPAIR_CONFIGURATIONS_STEP = 'repair-configurations';
const CONFIGURATIONS_BESIDE_TABLES = 'configurations-beside-tables';

/** How many times configurations verification found incomplete are restored again before the step fails. */
const CONFIGURATION_REPAIRS = 2;

/** Configurations restored by one activity: big enough to keep history short, small enough to retry cheaply. */
const CONFIGURATION_BATCH = 50;

/** What the steps restore from, and into. */
export interface RestoreTarget {
  destination: StackRef;
  snapshotDir: string;
  dataTableCount: number;
  /** A migration reads the source too: the writers move between the stacks' own Snowflake and GoodData. */
  live?: {
    source: StackRef;
    manageTokenRef?: string;
    /** Exports a batch of tables into the snapshot, overlapping the restore of the batch before. */
    takeTables: (batch: TableBatchInput) => Promise<number>;
    /** Completes the snapshot once every table is in it; from then on it never changes. */
    finishSnapshot: () => Promise<void>;
  };
}

interface RestoreStep {
  entity: EntityType;
  /** Answers the step's outcome, or undefined when the step does not apply to this restore. */
  run(run: MigrationRun, target: RestoreTarget): Promise<RestoreOutcome | undefined>;
  /** Needs no table: restored while the tables move, not after them (histories recorded before that: after). */
  besideTables?: true;
}

const at = ({ destination, snapshotDir }: RestoreTarget) => ({ destination, snapshotDir });

export const RESTORE_STEPS: readonly RestoreStep[] = [
  { entity: 'branchMetadata', run: (run, target) => run.quick.restoreBranchMetadata(at(target)) },
  { entity: 'buckets', run: (run, target) => run.long.restoreBuckets(at(target)) },
  // Structure, metadata and data, each table verified against its snapshot fingerprint as it lands.
  { entity: 'tables', run: moveTables },
  // After their source tables.
  { entity: 'aliases', run: (run, target) => run.long.restoreAliases(at(target)) },
  // Component configurations with rows, state and metadata, IDs kept: transformations (legacy and new) and Flows
  // (`keboola.orchestrator`, disabled) are configurations too. Verified before anything refers to them. The Storage
  // API checks no table a configuration names, so they are restored while the tables move.
  { entity: 'configurations', run: restoreConfigurations, besideTables: true },
  // Legacy orchestrations get new IDs; Flows, schedules and triggers then point at the new ones.
  { entity: 'orchestrations', run: restoreOrchestrations },
  { entity: 'triggers', run: (run, target) => run.long.restoreTriggers({ ...at(target), idMap: run.idMapOf('orchestration') }) },
  // Subscriptions to job events, through the Notification service (legacy orchestrations' new IDs known by now).
  { entity: 'notifications', run: (run, target) => (patched(NOTIFICATIONS_STEP) ? run.long.restoreNotifications({ ...at(target), idMap: run.idMapOf('orchestration') }) : none()) },
  { entity: 'permanentFiles', run: (run, target) => (patched(PERMANENT_FILES_STEP) ? run.long.restorePermanentFiles(at(target)) : none()) },
  // Keboola-provisioned writers move to the destination stack's own Snowflake and GoodData.
  { entity: 'snowflakeWriters', run: (run, { live, ...target }) => (live ? run.long.provisionSnowflakeWriters({ ...at(target), source: live.source }) : none()) },
  { entity: 'gooddataProjects', run: (run, { live, ...target }) => (live ? run.long.moveGoodDataProjects({ ...at(target), source: live.source }) : none()) },
  { entity: 'secrets', run: migrateSecrets },
];

/** Runs every step in order, each after an entity boundary; answers the tables' verification. */
export async function restoreSnapshot(run: MigrationRun, target: RestoreTarget): Promise<VerificationSummary> {
  const runStep = async (step: RestoreStep) => {
    const outcome = await step.run(run, target);
    if (outcome) run.record(step.entity, outcome);
  };
  const done = new Set<RestoreStep>();
  for (const step of RESTORE_STEPS) {
    if (done.has(step)) continue;
    await run.boundary();
    if (step.entity === 'tables' && patched(CONFIGURATIONS_BESIDE_TABLES)) {
      const beside = RESTORE_STEPS.filter((other) => other.besideTables);
      await run.sideBySide([step, ...beside].map((each) => () => runStep(each)));
      beside.forEach((each) => done.add(each));
    } else {
      await runStep(step);
    }
  }
  // Entities with new IDs counted, and copies that late creates made after their step removed.
  if (patched(VERIFY_CREATED_STEP)) {
    await run.boundary();
    await run.long.verifyCreatedEntities({ ...at(target), ...(target.live ? { source: target.live.source } : {}) });
  }
  return { ...run.tableVerification, mode: run.options.verify };
}

const none = async (): Promise<undefined> => undefined;

/**
 * Restores and verifies the tables batch by batch in child workflows. In a migration, batch n is first taken
 * into the snapshot and restored while batch n+1 is being taken, so both stacks work at once; when every table
 * is in, the snapshot is completed.
 */
async function moveTables(run: MigrationRun, target: RestoreTarget): Promise<RestoreOutcome> {
  const { destination, snapshotDir, live } = target;
  let restoring: Promise<void> | undefined;
  let restoreError: unknown;
  const settle = async () => {
    await restoring;
    if (restoreError) throw restoreError;
  };
  try {
    for (const batch of run.tableBatches(snapshotDir, target.dataTableCount)) {
      await run.boundary();
      if (live) run.advance('tableData', await run.childScope.run(() => live.takeTables(batch)));
      await settle(); // one restore at a time, overlapping the next batch's snapshot
      run.stopIfBesideFailed(); // the batch was taken while the configurations failed: it is not restored
      restoring = run.childScope
        .run(() =>
          executeChild(restoreTableBatch, {
            workflowId: `${run.info.workflowId}-restore-tables-${batch.batchNumber}`,
            args: [{ ...batch, destination }],
          }),
        )
        .then(
          (summary) => {
            run.tableVerification = addVerification(run.tableVerification, summary);
            run.advance('tables', summary.tables);
            run.advance('tableData', summary.tables);
          },
          (error: unknown) => {
            restoreError = error;
          },
        );
    }
  } finally {
    await restoring; // never leave a child running behind a failure or cancellation
  }
  await settle();
  await live?.finishSnapshot();
  // Counted batch by batch above: tables are too many to list in a payload.
  return { created: [], existing: [], skipped: [] };
}

async function restoreConfigurations(run: MigrationRun, target: RestoreTarget): Promise<RestoreOutcome> {
  const count = await run.quick.countSnapshotConfigurations({ snapshotDir: target.snapshotDir });
  run.status.progress.configurations.total = count;
  const batches = Array.from({ length: Math.ceil(count / CONFIGURATION_BATCH) }, (_, n) => n);
  await mapWithConcurrency(
    batches,
    run.options.configurationConcurrency,
    async (batchNumber) => {
      await run.boundary();
      run.record('configurations', await run.long.restoreConfigurations({ ...at(target), batchNumber, batchSize: CONFIGURATION_BATCH, skipComponents: run.options.skipComponents }));
    },
    { settle: patched(SETTLE_LANES) },
  );
  const verify = () => run.long.verifyConfigurations({ ...at(target), skipComponents: run.options.skipComponents });
  let check = await verify();
  // What is missing (a configuration, a row: lost by the stack, say) is restored again, a bounded number of times.
  for (let repair = 1; repair <= CONFIGURATION_REPAIRS && check.mismatches.some((m) => m.repairable) && patched(REPAIR_CONFIGURATIONS_STEP); repair++) {
    const configurations = check.mismatches.filter((m) => m.repairable).map((m) => m.configuration);
    log.warn('restored configurations are missing parts: restoring them again', { repair, configurations });
    await run.long.repairConfigurations({ ...at(target), configurations, skipComponents: run.options.skipComponents });
    check = await verify();
  }
  if (check.mismatches.length > 0) {
    throw ApplicationFailure.create({
      type: 'VerificationFailed',
      nonRetryable: true,
      message: `verification found ${check.mismatches.length} configuration(s) that differ from the source beyond the documented changes: ${check.mismatches
        .slice(0, 10)
        .map((m) => `${m.configuration} (${m.difference})`)
        .join('; ')}`,
      details: [check.mismatches],
    });
  }
  return { created: [], existing: [], skipped: [] }; // every batch was recorded as it finished
}

async function restoreOrchestrations(run: MigrationRun, target: RestoreTarget): Promise<RestoreOutcome> {
  const outcome = await run.long.restoreOrchestrations(at(target));
  if (outcome.idMap.length > 0) await run.long.rewriteOrchestrationReferences({ destination: target.destination, idMap: outcome.idMap });
  return outcome;
}

/**
 * Re-encrypts the secrets for the destination when the operator gave a Manage token. Its result keeps the words
 * of the Encryption API (migrated / failed); a failure is a skip whose reason the checklist shows.
 */
async function migrateSecrets(run: MigrationRun, { live, ...target }: RestoreTarget): Promise<RestoreOutcome | undefined> {
  if (!live?.manageTokenRef) return undefined;
  const secrets = await run.long.migrateSecrets({ ...at(target), source: live.source, manageTokenRef: live.manageTokenRef });
  return { created: secrets.migrated, existing: [], skipped: secrets.failed.map((f) => ({ id: f.configuration, reason: `not re-encrypted: ${f.error}` })) };
}
