// Verification: each destination table is exported again and its fingerprint (row count + content checksum)
// compared with the one taken from the source during the snapshot. Several slices are read at once.
import { Context } from '@temporalio/activity';
import pMap from 'p-map';
import type { StackRef } from '../workflows/input';
import type { TableDataSnapshot, TableVerification } from '../workflows/types';
import { Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import { files, MalformedSnapshotError } from '../snapshot/layout';
import type { ActivityDeps } from './deps';

/** Slices of one table fingerprinted at once: enough to overlap download and parsing, few enough for memory. */
export const SLICE_CONCURRENCY = 4;

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    /** Compares the destination table with its snapshot fingerprint; the result is also recorded for the report. */
    async verifyTable(input: { destination: StackRef; snapshotDir: string; tableId: string }): Promise<TableVerification> {
      const snapshot = deps.snapshot(input.snapshotDir);
      const recorded = await snapshot.record<TableDataSnapshot>(files.tableRecord(input.tableId));
      if (!recorded) throw new MalformedSnapshotError(`${snapshot.store.describe(files.tableRecord(input.tableId))} is missing: the table's data was never taken into the snapshot`);
      const { rows, checksum } = recorded;
      const expected = { rows, checksum };
      const client = await deps.stackClient(input.destination);
      const file = await client.tables.export(input.tableId);
      const urls = await client.files.sliceUrls(file);
      const fingerprinter = new Fingerprinter();
      await pMap(
        urls,
        async (url) => {
          const part = new Fingerprinter();
          await fingerprintStream(part, client.files.openSlice(file, url), { gzipped: true, skipHeader: !file.isSliced });
          fingerprinter.merge(part);
          Context.current().heartbeat();
        },
        { concurrency: SLICE_CONCURRENCY },
      );
      const actual = fingerprinter.result();
      // An empty snapshot of a table the source listed with rows verifies nothing: the row count of tables.json decides too.
      const listed = (await snapshot.index()).table(input.tableId).rowsCount;
      const reason =
        typeof listed === 'number' && listed !== actual.rows
          ? `the source listed ${listed} rows (tables.json), the destination has ${actual.rows}${expected.rows !== listed ? ` and the snapshot's data files hold ${expected.rows}` : ''}`
          : undefined;
      const verification: TableVerification = {
        tableId: input.tableId,
        expected,
        actual,
        ok: !reason && actual.rows === expected.rows && actual.checksum === expected.checksum,
        ...(reason ? { reason } : {}),
      };
      await snapshot.write(files.verificationRecord(input.tableId), verification);
      return verification;
    },
  };
}
