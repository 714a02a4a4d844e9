// Child workflows that move tables in batches, so that no history grows with the size of a project. A child
// gets a batch number, reads its tables from the snapshot split by size and moves them (the small ones together in
// one activity: activities/table-groups.ts), and answers counts; per-table results stay in the snapshot. Histories
// recorded before the groups ran one activity per table; they replay on the per-table branches below.
import { ActivityCancellationType, CancellationScope, CancelledFailure, defineQuery, isCancellation, log, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities';
import type { StackRef } from './input';
import { mapWithConcurrency, SETTLE_LANES } from './concurrency';
import { activityRetry } from './retry';
import { addVerification, NOTHING_VERIFIED, summarizeVerification, TABLE_REPAIRS, type Progress, type TableVerification, type VerificationSummary } from './types';

function tableActivities(heartbeatTimeout: Duration) {
  return proxyActivities<MigrationActivities>({ startToCloseTimeout: '6h', heartbeatTimeout, retry: activityRetry });
}

/**
 * The activities of a batch's small tables. They see a cancellation, finish the tables in hand and start no new
 * one (activities/table-groups.ts); the batch waits for that before it ends.
 */
function groupActivities(heartbeatTimeout: Duration) {
  return proxyActivities<MigrationActivities>({
    startToCloseTimeout: '6h',
    heartbeatTimeout,
    retry: activityRetry,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

export const batchProgressQuery = defineQuery<Progress>('batchProgress');

const BATCH_CANCELLED = 'the batch was cancelled after its tables in flight finished';

/**
 * Runs `work` for each item, `concurrency` at a time. A cancellation request lets the items in flight finish
 * and starts no new one: a table is never left half-imported.
 */
async function eachUntilCancelled<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  let cancelled = false;
  CancellationScope.current().cancelRequested.catch(() => {
    cancelled = true;
  });
  const results = await CancellationScope.nonCancellable(() =>
    mapWithConcurrency(items, concurrency, async (item) => (cancelled ? undefined : await work(item)), { settle: patched(SETTLE_LANES) }),
  );
  if (cancelled) throw new CancelledFailure(BATCH_CANCELLED);
  return results as R[];
}

export interface TableBatchInput {
  snapshotDir: string;
  batchNumber: number;
  batchSize: number;
  concurrency: number;
  heartbeatTimeout: Duration;
  /** How restored tables are verified (absent in batches started before the option existed: `checksum`). */
  verify?: 'checksum' | 'rows';
}

/** patched() marker of table groups (histories recorded before it ran one activity per table). */
const TABLE_GROUPS = 'table-groups';

/**
 * Moves a batch split by size (activities/table-groups.ts): its small tables first, in one activity that moves
 * `concurrency` of them at a time; then its large ones, an activity each, `concurrency` at a time. Answers each
 * activity's result, with progress in tables for the `batchProgress` query. `move` calls a `groupActivities` one.
 */
async function moveBySize<T, R>(input: TableBatchInput, { grouped, alone }: { grouped: T[]; alone: T[] }, move: (tables: T[], lanes: number) => Promise<R>): Promise<R[]> {
  const progress: Progress = { total: grouped.length + alone.length, done: 0, failed: 0 };
  setHandler(batchProgressQuery, () => progress);
  const moved = async (tables: T[], lanes: number) => {
    const result = await move(tables, lanes);
    progress.done += tables.length;
    return result;
  };
  const small = grouped.length
    ? [
        await moved(grouped, input.concurrency).catch((error: unknown) => {
          throw isCancellation(error) ? new CancelledFailure(BATCH_CANCELLED) : error;
        }),
      ]
    : [];
  return [...small, ...(await eachUntilCancelled(alone, input.concurrency, (table) => moved([table], 1)))];
}

/** moveBySize for a batch of the snapshot's tables. */
async function eachGroupOfBatch<R>(input: TableBatchInput, move: (tableIds: string[], lanes: number) => Promise<R>): Promise<R[]> {
  const { splitTableBatch } = tableActivities(input.heartbeatTimeout);
  return moveBySize(input, await splitTableBatch({ snapshotDir: input.snapshotDir, batchNumber: input.batchNumber, batchSize: input.batchSize }), move);
}

/** Runs one activity per table of the batch (histories recorded before table groups). */
async function eachTableOfBatch<R>(input: TableBatchInput, work: (tableId: string) => Promise<R>): Promise<R[]> {
  const { listTableBatch } = tableActivities(input.heartbeatTimeout);
  return eachOfBatch(input, await listTableBatch({ snapshotDir: input.snapshotDir, batchNumber: input.batchNumber, batchSize: input.batchSize }), work);
}

async function eachOfBatch<T, R>(input: TableBatchInput, items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const progress: Progress = { total: items.length, done: 0, failed: 0 };
  setHandler(batchProgressQuery, () => progress);
  return eachUntilCancelled(items, input.concurrency, async (item) => {
    const result = await work(item);
    progress.done++;
    return result;
  });
}

/** How many tables the groups' per-table results hold. */
const tablesIn = (groups: ReadonlyArray<readonly unknown[]>) => groups.reduce((sum, group) => sum + group.length, 0);

/** Exports a batch of source tables into the snapshot; answers how many. */
export async function snapshotTableBatch(input: TableBatchInput & { source: StackRef }): Promise<number> {
  const { snapshotTableData } = tableActivities(input.heartbeatTimeout);
  const { snapshotTableGroup } = groupActivities(input.heartbeatTimeout);
  if (patched(TABLE_GROUPS)) return tablesIn(await eachGroupOfBatch(input, (tableIds, lanes) => snapshotTableGroup({ source: input.source, snapshotDir: input.snapshotDir, tableIds, lanes })));
  return (await eachTableOfBatch(input, (tableId) => snapshotTableData({ source: input.source, snapshotDir: input.snapshotDir, tableId }))).length;
}

/** Fingerprints a batch of tables of a snapshot on disk (e.g. one made by Keboola's backup); answers how many. */
export async function fingerprintTableBatch(input: TableBatchInput): Promise<number> {
  const { fingerprintSnapshotTable } = tableActivities(input.heartbeatTimeout);
  const { fingerprintTableGroup } = groupActivities(input.heartbeatTimeout);
  if (patched(TABLE_GROUPS)) return tablesIn(await eachGroupOfBatch(input, (tableIds, lanes) => fingerprintTableGroup({ snapshotDir: input.snapshotDir, tableIds, lanes })));
  return (await eachTableOfBatch(input, (tableId) => fingerprintSnapshotTable({ snapshotDir: input.snapshotDir, tableId }))).length;
}

/** patched() marker of the repair below (histories recorded before it never repaired). */
const REPAIR_TABLES = 'repair-mismatched-tables';

/**
 * Restores a batch of tables (structure, metadata, data) and verifies each against its snapshot fingerprint,
 * repairing what a repeated import repairs (activities/table-groups.ts, restoreTableGroup).
 */
export async function restoreTableBatch(input: TableBatchInput & { destination: StackRef }): Promise<VerificationSummary> {
  const at = { destination: input.destination, snapshotDir: input.snapshotDir };
  if (patched(TABLE_GROUPS)) {
    const { restoreTableGroup } = groupActivities(input.heartbeatTimeout);
    const groups = await eachGroupOfBatch(input, (tableIds, lanes) => restoreTableGroup({ ...at, tableIds, lanes, verify: input.verify }));
    return groups.reduce(addVerification, NOTHING_VERIFIED);
  }
  const verifications: TableVerification[] = await eachTableOfBatch(input, (tableId) => restoreAndVerify(input, { ...at, tableId }, { reimport: false }));
  return summarizeVerification(verifications);
}

/**
 * Imports a table from the snapshot and verifies it. A table that differs (rows lost by the stack, say) is imported
 * again and verified again, a bounded number of times: what a repeated import repairs is not a failure; only what it
 * cannot repair counts as a mismatch. Batches recorded before table groups.
 */
async function restoreAndVerify(
  input: TableBatchInput,
  at: { destination: StackRef; snapshotDir: string; tableId: string },
  { reimport, liveSource }: { reimport: boolean; liveSource?: boolean },
): Promise<TableVerification> {
  const { restoreTable, verifyTable } = tableActivities(input.heartbeatTimeout);
  await restoreTable(reimport ? { ...at, reimport } : at);
  const verify = () => verifyTable({ ...at, mode: input.verify, ...(liveSource ? { liveSource } : {}) });
  let verification = await verify();
  for (let repair = 1; !verification.ok && repair <= TABLE_REPAIRS && patched(REPAIR_TABLES); repair++) {
    log.warn('a restored table differs from its snapshot: importing it again', { tableId: at.tableId, repair, expected: verification.expected, actual: verification.actual });
    await restoreTable({ ...at, reimport: true });
    verification = await verify();
  }
  return verification;
}

/**
 * A sync pass' batch of tables that changed in the source (docs/sync.md): each is exported into the pass' snapshot,
 * given its new structure, imported again as a full load and verified (activities/table-groups.ts,
 * syncTableGroup). One whose metadata alone changed is only relabelled. Answers the verification and the bytes
 * exported. Batches recorded before table groups ran an activity per step of each table (the branch below).
 */
export async function syncTableBatch(input: TableBatchInput & { source: StackRef; destination: StackRef }): Promise<{ verification: VerificationSummary; bytes: number }> {
  const { listSyncTableBatch, splitSyncTableBatch, snapshotTableData, alignTable, restoreTable } = tableActivities(input.heartbeatTimeout);
  if (patched(TABLE_GROUPS)) {
    const { syncTableGroup } = groupActivities(input.heartbeatTimeout);
    const split = await splitSyncTableBatch({ snapshotDir: input.snapshotDir, batchNumber: input.batchNumber, batchSize: input.batchSize });
    const at = { source: input.source, destination: input.destination, snapshotDir: input.snapshotDir, verify: input.verify };
    const groups = await moveBySize(input, split, (tables, lanes) => syncTableGroup({ ...at, tables, lanes }));
    return {
      verification: groups.map((g) => g.verification).reduce(addVerification, NOTHING_VERIFIED),
      bytes: groups.reduce((sum, g) => sum + g.bytes, 0),
    };
  }
  const tables = await listSyncTableBatch({ snapshotDir: input.snapshotDir, batchNumber: input.batchNumber, batchSize: input.batchSize });
  const results = await eachOfBatch(input, tables, async ({ id: tableId, change }) => {
    const at = { destination: input.destination, snapshotDir: input.snapshotDir, tableId };
    if (change === 'metadata') {
      await restoreTable(at);
      return undefined;
    }
    const { bytes } = await snapshotTableData({ source: input.source, snapshotDir: input.snapshotDir, tableId });
    if (change !== 'added') await alignTable(at);
    return { verification: await restoreAndVerify(input, at, { reimport: change !== 'added', liveSource: true }), bytes };
  });
  const copied = results.filter((r): r is NonNullable<typeof r> => r !== undefined);
  return { verification: summarizeVerification(copied.map((r) => r.verification)), bytes: copied.reduce((sum, r) => sum + r.bytes, 0) };
}
