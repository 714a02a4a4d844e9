// Tables moved a group at a time (docs/architecture.md#table-groups): one activity exports, or restores and verifies,
// the small tables of a batch, `lanes` at a time, so a project of thousands of small tables costs Temporal one round
// trip per batch rather than three per table. A large table is a group of its own. The group's heartbeat carries the
// results of the tables it finished and the cursors of those in hand, so a retry goes on from there. A cancellation
// lets the tables in hand finish and starts no new one: a table is never left half-imported.
import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import pMap from 'p-map';
import type { StackRef } from '../workflows/input';
import { summarizeVerification, TABLE_REPAIRS, type TableVerification, type VerificationSummary } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { toFailure } from './failures';
import { heartbeat, type Resumable } from './heartbeat';
import { exportTableData, fingerprintTableFiles, type ExportCursor } from './snapshot';
import { restoreTableFromSnapshot, type ImportCursor } from './tables';
import { alignDestinationTable } from './sync';
import type { SyncTable } from './sync-plan';
import { verifyRestoredTable } from './verify';

/** The heartbeat of a group: the results of the tables done, and the cursors of those in hand, by table ID. */
interface GroupCursor<C, R> {
  done: Record<string, R>;
  inHand: Record<string, C>;
}

/**
 * Runs `work` for each table of the group, `lanes` at a time, after the tables a previous attempt finished. Once the
 * activity is cancelled (the migration was, or the worker shuts down), no table starts; those in hand finish. A
 * table that fails does not stop the others (the retry then has only what failed left), unless its failure is one
 * no retry repairs. The activity fails with that failure once the tables in hand have finished, so no table of this
 * attempt still runs when the next attempt starts.
 */
async function eachTableOfGroup<C, R>(tableIds: readonly string[], lanes: number, work: (tableId: string, step: Resumable<C>) => Promise<R>): Promise<R[]> {
  const { info, cancellationSignal } = Context.current();
  const previous = info.heartbeatDetails as GroupCursor<C, R> | undefined;
  const progress: GroupCursor<C, R> = { done: { ...previous?.done }, inHand: {} };
  const report = () => heartbeat({ done: { ...progress.done }, inHand: { ...progress.inHand } } satisfies GroupCursor<C, R>);
  // The first failure, and the first that no retry repairs (thrown in its place: retrying would only meet it again).
  const failures: { first?: unknown; final?: unknown } = {};
  await pMap(
    tableIds.filter((tableId) => !(tableId in progress.done)),
    async (tableId) => {
      if (cancellationSignal.aborted || failures.final !== undefined) return;
      const step: Resumable<C> = {
        retried: info.attempt > 1,
        cursor: previous?.inHand[tableId],
        report: (cursor) => {
          progress.inHand[tableId] = cursor;
          report();
        },
      };
      try {
        progress.done[tableId] = await work(tableId, step);
      } catch (error) {
        const mapped = toFailure(error);
        log.warn('a table of the group failed', { tableId, error: error instanceof Error ? error.message : String(error) });
        failures.first ??= error;
        if (mapped instanceof ApplicationFailure && mapped.nonRetryable === true) failures.final ??= error;
        return;
      }
      delete progress.inHand[tableId];
      report();
    },
    { concurrency: Math.max(1, lanes) },
  );
  if (failures.first !== undefined) throw failures.final ?? failures.first;
  if (cancellationSignal.aborted) {
    throw new CancelledFailure(`cancelled after ${Object.keys(progress.done).length} of the group's ${tableIds.length} tables; the tables in hand finished`);
  }
  return tableIds.map((tableId) => progress.done[tableId]);
}

/**
 * Imports a table from the snapshot and verifies it. A table that differs (rows lost by the stack, say) is imported
 * again and verified again, a bounded number of times: what a repeated import repairs is not a failure; only what it
 * cannot repair counts as a mismatch.
 */
async function restoreAndVerify(
  deps: ActivityDeps,
  at: { destination: StackRef; snapshotDir: string; tableId: string },
  step: Resumable<ImportCursor>,
  options: { reimport?: boolean; liveSource?: boolean; verify?: 'checksum' | 'rows' },
): Promise<TableVerification> {
  await restoreTableFromSnapshot(deps, options.reimport ? { ...at, reimport: true } : at, step);
  const verify = () => verifyRestoredTable(deps, { ...at, mode: options.verify, ...(options.liveSource ? { liveSource: true } : {}) });
  let verification = await verify();
  for (let repair = 1; !verification.ok && repair <= TABLE_REPAIRS; repair++) {
    log.warn('a restored table differs from its snapshot: importing it again', { tableId: at.tableId, repair, expected: verification.expected, actual: verification.actual });
    await restoreTableFromSnapshot(deps, { ...at, reimport: true }, { ...step, cursor: undefined });
    verification = await verify();
  }
  return verification;
}

/** The cursor of a sync pass' table: where its export and its import stand. */
interface SyncCursor {
  export?: ExportCursor;
  import?: ImportCursor;
}

/** The export's and the import's parts of a sync table's cursor, each read and reported as a cursor of its own. */
function partsOf(step: Resumable<SyncCursor>): { [K in keyof SyncCursor]-?: Resumable<NonNullable<SyncCursor[K]>> } {
  let whole: SyncCursor = { ...step.cursor };
  const part = <K extends keyof SyncCursor>(key: K): Resumable<NonNullable<SyncCursor[K]>> => ({
    retried: step.retried,
    cursor: whole[key] ?? undefined,
    report: (cursor) => {
      whole = { ...whole, [key]: cursor };
      step.report(whole);
    },
  });
  return { export: part('export'), import: part('import') };
}

export function createTableGroupActivities(deps: ActivityDeps) {
  return {
    /** The tables of one batch, split by size (see SnapshotIndex.splitTableBatch), for a child workflow. */
    async splitTableBatch(input: { snapshotDir: string; batchNumber: number; batchSize: number }): Promise<{ grouped: string[]; alone: string[] }> {
      return (await deps.snapshot(input.snapshotDir).index()).splitTableBatch(input.batchNumber, input.batchSize);
    },

    /** Exports a group of source tables into the snapshot; answers the bytes each took. */
    async snapshotTableGroup(input: { source: StackRef; snapshotDir: string; tableIds: string[]; lanes: number }): Promise<number[]> {
      return eachTableOfGroup<ExportCursor, number>(input.tableIds, input.lanes, async (tableId, step) => (await exportTableData(deps, { source: input.source, snapshotDir: input.snapshotDir, tableId }, step)).bytes);
    },

    /** Fingerprints a group of tables of a snapshot on disk (e.g. one made by Keboola's backup); answers their rows. */
    async fingerprintTableGroup(input: { snapshotDir: string; tableIds: string[]; lanes: number }): Promise<number[]> {
      return eachTableOfGroup<never, number>(input.tableIds, input.lanes, async (tableId) => (await fingerprintTableFiles(deps, { snapshotDir: input.snapshotDir, tableId })).rows);
    },

    /**
     * Restores a group of tables (structure, metadata, data) and verifies each against its snapshot fingerprint,
     * importing again what differs (restoreAndVerify).
     */
    async restoreTableGroup(input: { destination: StackRef; snapshotDir: string; tableIds: string[]; lanes: number; verify?: 'checksum' | 'rows' }): Promise<VerificationSummary> {
      const verifications = await eachTableOfGroup<ImportCursor, TableVerification>(input.tableIds, input.lanes, (tableId, step) =>
        restoreAndVerify(deps, { destination: input.destination, snapshotDir: input.snapshotDir, tableId }, step, { verify: input.verify }),
      );
      return summarizeVerification(verifications);
    },

    /**
     * A sync pass' group of tables that changed in the source (docs/sync.md): each is exported into the pass'
     * snapshot, given its new structure, imported again as a full load and verified; one whose metadata alone
     * changed is only relabelled. Answers the verification of those copied and the bytes exported.
     */
    async syncTableGroup(input: {
      source: StackRef;
      destination: StackRef;
      snapshotDir: string;
      tables: SyncTable[];
      lanes: number;
      verify?: 'checksum' | 'rows';
    }): Promise<{ verification: VerificationSummary; bytes: number }> {
      const changes = new Map(input.tables.map((t) => [t.id, t.change]));
      const results = await eachTableOfGroup<SyncCursor, { verification?: TableVerification; bytes: number }>([...changes.keys()], input.lanes, async (tableId, step) => {
        const at = { destination: input.destination, snapshotDir: input.snapshotDir, tableId };
        const change = changes.get(tableId);
        const parts = partsOf(step);
        if (change === 'metadata') {
          await restoreTableFromSnapshot(deps, at, parts.import);
          return { bytes: 0 };
        }
        const { bytes } = await exportTableData(deps, { source: input.source, snapshotDir: input.snapshotDir, tableId }, parts.export);
        if (change !== 'added') await alignDestinationTable(deps, at);
        const verification = await restoreAndVerify(deps, at, parts.import, { reimport: change !== 'added', liveSource: true, verify: input.verify });
        return { verification, bytes };
      });
      const copied = results.flatMap((r) => (r.verification ? [r.verification] : []));
      return { verification: summarizeVerification(copied), bytes: results.reduce((sum, r) => sum + r.bytes, 0) };
    },
  };
}
