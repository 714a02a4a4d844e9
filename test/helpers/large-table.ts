// A large untyped table in a project, for tests that need an import or an export that takes a while.
import { gzipSync } from 'node:zlib';
import type { StackClient } from '../../stack';

export const LARGE_TABLE = 'in.c-big.events';

/** Loads `in.c-big.events` with `rows` rows (quoted values, commas and quotes inside) through the Storage API. */
export async function addLargeTable(client: StackClient, rows: number): Promise<void> {
  const lines = ['"id","occurred_at","kind","amount","note"'];
  for (let i = 1; i <= rows; i++) lines.push(`"${i}","2024-01-${String((i % 28) + 1).padStart(2, '0')} 10:00:00","${['view', 'click', 'buy'][i % 3]}","${(i * 7) % 1000}.${i % 100}","row ${i}, ""quoted"""`);
  await client.buckets.create({ name: 'big', stage: 'in' });
  const file = await client.files.upload('events.csv.gz', gzipSync(Buffer.from(`${lines.join('\n')}\n`)));
  await client.tables.createFromFile('in.c-big', { name: 'events', dataFileId: file.id, primaryKey: ['id'] });
}
