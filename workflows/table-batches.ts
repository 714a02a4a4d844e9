// Child workflows that move tables in batches, so that no history grows with the size of a project. A child
// gets a batch number, reads its table IDs from the snapshot, and answers counts; per-table results stay on disk.
import { CancellationScope, CancelledFailure, defineQuery, log, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities';
import type { StackRef } from './input';
import { mapWithConcurrency } from './concurrency';
import { activityRetry } from './retry';
import { summarizeVerification, type Progress, type TableVerification, type VerificationSummary } from './types';

function tableActivities(heartbeatTimeout: Duration) {
  return proxyActivities<MigrationActivities>({ startToCloseTimeout: '6h', heartbeatTimeout, retry: activityRetry });
}

export const batchProgressQuery = defineQuery<Progress>('batchProgress');

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
    mapWithConcurrency(items, concurrency, async (item) => (cancelled ? undefined : await work(item))),
  );
  if (cancelled) throw new CancelledFailure('the batch was cancelled after its tables in flight finished');
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

/** Runs one activity per table of the batch, with progress for the `batchProgress` query. */
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

/** Exports a batch of source tables into the snapshot; answers how many. */
export async function snapshotTableBatch(input: TableBatchInput & { source: StackRef }): Promise<number> {
  const { snapshotTableData } = tableActivities(input.heartbeatTimeout);
  return (await eachTableOfBatch(input, (tableId) => snapshotTableData({ source: input.source, snapshotDir: input.snapshotDir, tableId }))).length;
}

/** Fingerprints a batch of tables of a snapshot on disk (e.g. one made by Keboola's backup); answers how many. */
export async function fingerprintTableBatch(input: TableBatchInput): Promise<number> {
  const { fingerprintSnapshotTable } = tableActivities(input.heartbeatTimeout);
  return (await eachTableOfBatch(input, (tableId) => fingerprintSnapshotTable({ snapshotDir: input.snapshotDir, tableId }))).length;
}

/** patched() marker of the repair below (histories recorded before it never repaired). */
const REPAIR_TABLES = 'repair-mismatched-tables';
/** A table whose data differs from its snapshot after the import is imported again at most this many times. */
export const TABLE_REPAIRS = 2;

/**
 * Restores a batch of tables (structure, metadata, data) and verifies each against its snapshot fingerprint. A table
 * that differs (rows lost by the stack, say) is imported again and verified again, a bounded number of times: what
 * a repeated import repairs is not a failure; only what it cannot repair counts as a mismatch.
 */
export async function restoreTableBatch(input: TableBatchInput & { destination: StackRef }): Promise<VerificationSummary> {
  const at = { destination: input.destination, snapshotDir: input.snapshotDir };
  const verifications: TableVerification[] = await eachTableOfBatch(input, (tableId) => restoreAndVerify(input, { ...at, tableId }, { reimport: false }));
  return summarizeVerification(verifications);
}

/** Imports a table from the snapshot and verifies it, importing it again (a bounded number of times) while it differs. */
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
 * given its new structure, imported again as a full load and verified. One whose metadata alone changed is only
 * relabelled. Answers the verification and the bytes exported.
 */
export async function syncTableBatch(input: TableBatchInput & { source: StackRef; destination: StackRef }): Promise<{ verification: VerificationSummary; bytes: number }> {
  const { listSyncTableBatch, snapshotTableData, alignTable, restoreTable } = tableActivities(input.heartbeatTimeout);
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
