// Verification: each destination table is exported again and its fingerprint (row count + content checksum)
// compared with the one taken from the source during the snapshot, several slices at once; or, with `--verify rows`,
// only the row count the destination reports is compared (no data read), and the result says so.
import pMap from 'p-map';
import type { StackRef } from '../workflows/input';
import type { TableDataSnapshot, TableVerification } from '../workflows/types';
import { Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import { files, MalformedSnapshotError } from '../snapshot/layout';
import type { StackClient } from '../stack';
import type { SnapshotReader } from '../snapshot/reader';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';

/** Slices of one table fingerprinted at once: enough to overlap download and parsing, few enough for memory. */
export const SLICE_CONCURRENCY = 4;

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    /** Compares the destination table with its snapshot fingerprint; the result is also recorded for the report. */
    async verifyTable(input: TableVerifyInput): Promise<TableVerification> {
      return verifyRestoredTable(deps, input);
    },
  };
}

export interface TableVerifyInput {
  destination: StackRef;
  snapshotDir: string;
  tableId: string;
  mode?: 'checksum' | 'rows';
  /**
   * A sync pass, whose source goes on loading data between the pass' listing and its export; the listing's row
   * count then only catches an empty export of a table it listed with rows.
   */
  liveSource?: boolean;
}

/** Compares one destination table with its snapshot fingerprint and records the result for the report. */
export async function verifyRestoredTable(deps: ActivityDeps, input: TableVerifyInput): Promise<TableVerification> {
  const snapshot = deps.snapshot(input.snapshotDir);
  const recorded = await snapshot.record<TableDataSnapshot>(files.tableRecord(input.tableId));
  if (!recorded) throw new MalformedSnapshotError(`${snapshot.store.describe(files.tableRecord(input.tableId))} is missing: the table's data was never taken into the snapshot`);
  const { rows, checksum } = recorded;
  const expected = { rows, checksum };
  const client = await deps.stackClient(input.destination);
  if (input.mode === 'rows') return verifyRowCount(snapshot, client, input.tableId, recorded, input.liveSource);
  const file = await client.tables.export(input.tableId);
  const urls = await client.files.sliceUrls(file);
  const fingerprinter = new Fingerprinter();
  await pMap(
    urls,
    async (url) => {
      const part = new Fingerprinter();
      await fingerprintStream(part, client.files.openSlice(file, url), { gzipped: true, skipHeader: !file.isSliced });
      fingerprinter.merge(part);
      heartbeat();
    },
    { concurrency: SLICE_CONCURRENCY },
  );
  const actual = fingerprinter.result();
  const reason = await listedRowsReason(snapshot, input.tableId, actual.rows, expected.rows, input.liveSource);
  const verification: TableVerification = {
    tableId: input.tableId,
    expected,
    actual,
    ok: !reason && actual.rows === expected.rows && actual.checksum === expected.checksum,
    ...(reason ? { reason } : {}),
  };
  await snapshot.write(files.verificationRecord(input.tableId), verification);
  return verification;
}

/** What the checksum cannot show: `tables.json` lists a row count that the destination does not hold. */
async function listedRowsReason(snapshot: SnapshotReader, tableId: string, actualRows: number, snapshotRows: number, liveSource = false): Promise<string | undefined> {
  // An empty snapshot of a table the source listed with rows verifies nothing: the row count of tables.json decides too.
  const listed = (await snapshot.index()).table(tableId).rowsCount;
  if (typeof listed !== 'number' || listed === actualRows) return undefined;
  if (liveSource && (snapshotRows > 0 || listed === 0)) return undefined; // loaded or replaced since the listing
  return `the source listed ${listed} rows (tables.json), the destination has ${actualRows}${snapshotRows !== listed ? ` and the snapshot's data files hold ${snapshotRows}` : ''}`;
}

/** `--verify rows`: the destination's own row count against the snapshot's, as Keboola's post-check compares them. */
async function verifyRowCount(snapshot: SnapshotReader, client: StackClient, tableId: string, recorded: TableDataSnapshot, liveSource?: boolean): Promise<TableVerification> {
  const table = await client.tables.get(tableId);
  const rows = table?.rowsCount ?? 0;
  const reason = table ? await listedRowsReason(snapshot, tableId, rows, recorded.rows, liveSource) : 'the table is not in the destination';
  const verification: TableVerification = {
    tableId,
    expected: { rows: recorded.rows, checksum: recorded.checksum },
    actual: { rows, checksum: 'not compared (--verify rows)' },
    ok: !reason && rows === recorded.rows,
    mode: 'rows',
    ...(reason ? { reason } : {}),
  };
  await snapshot.write(files.verificationRecord(tableId), verification);
  return verification;
}
