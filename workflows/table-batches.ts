// Child workflows that move tables in batches, so the parent's history stays short however many tables a
// project has (5,000 tables × 3 activities would pass Temporal's history limits in one workflow).
import { CancellationScope, CancelledFailure, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { MigrationActivities } from '../activities';
import type { StackRef } from './input';
import { mapWithConcurrency } from './concurrency';
import { activityRetry } from './retry';
import type { Progress, TableDataSnapshot, TableFingerprint, TableVerification } from './types';

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

export interface SnapshotTableBatchInput {
  source: StackRef;
  snapshotDir: string;
  tableIds: string[];
  concurrency: number;
  heartbeatTimeout: Duration;
}

export async function snapshotTableBatch(input: SnapshotTableBatchInput): Promise<TableDataSnapshot[]> {
  const { snapshotTableData } = tableActivities(input.heartbeatTimeout);
  const progress: Progress = { total: input.tableIds.length, done: 0, failed: 0 };
  setHandler(batchProgressQuery, () => progress);
  return eachUntilCancelled(input.tableIds, input.concurrency, async (tableId) => {
    const snapshot = await snapshotTableData({ source: input.source, snapshotDir: input.snapshotDir, tableId });
    progress.done++;
    return snapshot;
  });
}

export interface FingerprintTableBatchInput {
  snapshotDir: string;
  tableIds: string[];
  concurrency: number;
  heartbeatTimeout: Duration;
}

/** Reads tables' data files from a snapshot on disk (e.g. one made by Keboola's backup) and fingerprints them. */
export async function fingerprintTableBatch(input: FingerprintTableBatchInput): Promise<TableDataSnapshot[]> {
  const { fingerprintSnapshotTable } = tableActivities(input.heartbeatTimeout);
  const progress: Progress = { total: input.tableIds.length, done: 0, failed: 0 };
  setHandler(batchProgressQuery, () => progress);
  return eachUntilCancelled(input.tableIds, input.concurrency, async (tableId) => {
    const snapshot = await fingerprintSnapshotTable({ snapshotDir: input.snapshotDir, tableId });
    progress.done++;
    return snapshot;
  });
}

export interface RestoreTableBatchInput {
  destination: StackRef;
  snapshotDir: string;
  tables: Array<{ tableId: string; expected: TableFingerprint }>;
  concurrency: number;
  heartbeatTimeout: Duration;
}

/** Restores each table (structure, metadata, data), then verifies it against its snapshot fingerprint. */
export async function restoreTableBatch(input: RestoreTableBatchInput): Promise<TableVerification[]> {
  const { restoreTable, verifyTable } = tableActivities(input.heartbeatTimeout);
  const progress: Progress = { total: input.tables.length, done: 0, failed: 0 };
  setHandler(batchProgressQuery, () => progress);
  return eachUntilCancelled(input.tables, input.concurrency, async ({ tableId, expected }) => {
    await restoreTable({ destination: input.destination, snapshotDir: input.snapshotDir, tableId });
    const verification = await verifyTable({ destination: input.destination, tableId, expected });
    progress.done++;
    if (!verification.ok) progress.failed++;
    return verification;
  });
}
