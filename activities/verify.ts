// Verification: each destination table is exported again and its fingerprint (row count + content checksum)
// compared with the one taken from the source during the snapshot. Several slices are read at once.
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import type { StackRef } from '../workflows/input';
import type { TableFingerprint, TableVerification } from '../workflows/types';
import { Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import type { ActivityDeps } from './deps';

/** Slices of one table fingerprinted at once: enough to overlap download and parsing, few enough for memory. */
export const SLICE_CONCURRENCY = 4;

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    async verifyTable(input: { destination: StackRef; tableId: string; expected: TableFingerprint }): Promise<TableVerification> {
      const client = await deps.stackClient(input.destination);
      const file = await client.exportTable(input.tableId);
      const urls = await client.fileSliceUrls(file);
      // The same row hash as the snapshot's fingerprint, whichever version recorded it.
      const fingerprinter = Fingerprinter.matching(input.expected.checksum);
      let next = 0;
      const lane = async () => {
        while (next < urls.length) {
          const part = Fingerprinter.matching(input.expected.checksum);
          await fingerprintStream(part, client.openSlice(file, urls[next++]) as Readable, { gzipped: true, skipHeader: !file.isSliced });
          fingerprinter.merge(part);
          Context.current().heartbeat();
        }
      };
      await Promise.all(Array.from({ length: Math.min(SLICE_CONCURRENCY, urls.length) }, lane));
      const actual = fingerprinter.result();
      return {
        tableId: input.tableId,
        expected: input.expected,
        actual,
        ok: actual.rows === input.expected.rows && actual.checksum === input.expected.checksum,
      };
    },
  };
}
