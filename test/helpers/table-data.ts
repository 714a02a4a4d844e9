import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { StackClient } from '../../stack';
import { CsvRowParser } from '../../snapshot/csv';

/** Every row of a table, exported through the Storage API and sorted, for comparing two stacks. */
export async function readTableRows(client: StackClient, tableId: string): Promise<string[][]> {
  const file = await client.exportTable(tableId);
  const rows: string[][] = [];
  for (const url of await client.fileSliceUrls(file)) {
    let skipHeader = !file.isSliced;
    const parser = new CsvRowParser((row) => {
      if (skipHeader) skipHeader = false;
      else rows.push(row);
    });
    const decoder = new StringDecoder('utf8');
    await pipeline(
      client.openSlice(file, url) as Readable,
      createGunzip(),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          parser.write(decoder.write(chunk));
          cb();
        },
        final(cb) {
          parser.write(decoder.end());
          parser.end();
          cb();
        },
      }),
    );
  }
  return rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
