// Verification: each destination table is exported again and its fingerprint (row count + content checksum)
// compared with the one taken from the source during the snapshot.
import type { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import type { StackRef } from '../workflows/input';
import type { TableFingerprint, TableVerification } from '../workflows/types';
import { Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import type { ActivityDeps } from './deps';

export function createVerifyActivities(deps: ActivityDeps) {
  return {
    async verifyTable(input: { destination: StackRef; tableId: string; expected: TableFingerprint }): Promise<TableVerification> {
      const client = await deps.stackClient(input.destination);
      const file = await client.exportTable(input.tableId);
      const fingerprinter = new Fingerprinter();
      for (const url of await client.fileSliceUrls(file)) {
        await fingerprintStream(fingerprinter, client.openSlice(file, url) as Readable, { gzipped: true, skipHeader: !file.isSliced });
        Context.current().heartbeat();
      }
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
