import type { StackClient } from '../../stack';
import { pool } from './processes';
import { COLUMNS, tableIds, type Size } from './sizes';

/** Export → stream each slice straight into a sliced upload → import, `tableConcurrency` tables at once. No Temporal. */
export async function rawCopy(source: StackClient, destination: StackClient, size: Size): Promise<number> {
  const started = Date.now();
  await pool(tableIds(size), size.tableConcurrency, async (tableId) => {
    const file = await source.tables.export(tableId);
    const urls = await source.files.sliceUrls(file);
    const uploaded = await destination.files.uploadSliced(`${tableId}.csv.gz`, urls.map((url) => () => source.files.openSlice(file, url)));
    await destination.tables.import(tableId, { dataFileId: uploaded.id, incremental: false, ...(file.isSliced ? { withoutHeaders: true, columns: COLUMNS } : {}) });
  });
  return (Date.now() - started) / 1000;
}
