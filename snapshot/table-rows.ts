import type { StackClient } from '../stack';
import { forEachCsvRow } from './csv';

/**
 * Every row of a table, exported through the Storage API and sorted: two stacks may export rows in any order.
 * Holds the whole table in memory: for comparing projects in tests and chaos runs, not for the data path.
 */
export async function exportTableRows(client: StackClient, tableId: string): Promise<string[][]> {
  const file = await client.tables.export(tableId);
  const rows: string[][] = [];
  for (const url of await client.files.sliceUrls(file)) {
    await forEachCsvRow(client.files.openSlice(file, url), { gzipped: true, skipHeader: !file.isSliced }, (row) => rows.push(row));
  }
  return rows.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
