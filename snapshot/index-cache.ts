// Snapshots are immutable once written, so their JSON indexes are read once per worker process and kept:
// restoring 5,000 tables must not parse tables.json 5,000 times.
import * as path from 'node:path';
import { files, readJson } from './layout';
import type { Bucket, Table } from '../stack';

export interface SnapshotIndex {
  buckets: Bucket[];
  tables: Table[];
  tablesById: Map<string, Table>;
}

const cache = new Map<string, Promise<SnapshotIndex>>();
const MAX_CACHED = 8;

export function loadSnapshotIndex(snapshotDir: string): Promise<SnapshotIndex> {
  let entry = cache.get(snapshotDir);
  if (!entry) {
    entry = (async () => {
      const [buckets, tables] = await Promise.all([
        readJson<Bucket[]>(path.join(snapshotDir, files.buckets)),
        readJson<Table[]>(path.join(snapshotDir, files.tables)),
      ]);
      return { buckets, tables, tablesById: new Map(tables.map((t) => [t.id, t])) };
    })();
    entry.catch(() => cache.delete(snapshotDir)); // a failed read is retried, not remembered
    cache.set(snapshotDir, entry);
    while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  }
  return entry;
}
