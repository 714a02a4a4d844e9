// Snapshots are immutable once written, so their JSON indexes are read once per worker process and kept:
// restoring 5,000 tables must not parse tables.json 5,000 times. The index also decides, in one place, which
// buckets, tables and configurations a snapshot restores.
import * as path from 'node:path';
import { files, readJson, readJsonIfExists } from './layout';
import type { Bucket, Table } from '../stack';

export interface SnapshotIndex {
  buckets: Bucket[];
  tables: Table[];
  tablesById: Map<string, Table>;
  /** IDs of the tables with data in restorable buckets, sorted: the order in which they move, in batches. */
  dataTableIds: string[];
  aliasCount: number;
  /** Configurations to restore, in order; the legacy `orchestrator` ones are recreated through the Orchestrator API. */
  configurations: Array<{ componentId: string; configId: string }>;
}

/** Why a bucket is not restored (linked buckets belong to another project; system buckets to the stack), if it is not. */
export function bucketSkipReason(bucket: Pick<Bucket, 'name' | 'stage' | 'sourceBucket' | 'isLinkedBucket'>): string | undefined {
  if (bucket.sourceBucket || bucket.isLinkedBucket) return 'linked bucket: link the shared bucket again in the destination project';
  if (!bucket.name.startsWith('c-') || bucket.stage === 'sys') return 'system bucket: created by the stack itself';
  return undefined;
}

const LEGACY_ORCHESTRATOR = 'orchestrator';
const cache = new Map<string, Promise<SnapshotIndex>>();
const MAX_CACHED = 8;

export function loadSnapshotIndex(snapshotDir: string): Promise<SnapshotIndex> {
  let entry = cache.get(snapshotDir);
  if (!entry) {
    entry = (async () => {
      const [buckets, tables, components] = await Promise.all([
        readJson<Bucket[]>(path.join(snapshotDir, files.buckets)),
        readJson<Table[]>(path.join(snapshotDir, files.tables)),
        readJsonIfExists<Array<{ id: string; configurations?: Array<{ id: string | number }> }>>(path.join(snapshotDir, files.configurations)),
      ]);
      const restorableBuckets = new Set(buckets.filter((b) => !bucketSkipReason(b)).map((b) => b.id));
      const restorable = tables.filter((t) => restorableBuckets.has(t.bucket?.id ?? t.id.split('.').slice(0, 2).join('.')));
      return {
        buckets,
        tables,
        tablesById: new Map(tables.map((t) => [t.id, t])),
        dataTableIds: restorable.filter((t) => !t.isAlias).map((t) => t.id).sort(),
        aliasCount: restorable.filter((t) => t.isAlias).length,
        configurations: (components ?? [])
          .filter((component) => component.id !== LEGACY_ORCHESTRATOR)
          .flatMap((component) => (component.configurations ?? []).map((c) => ({ componentId: component.id, configId: String(c.id) }))),
      };
    })();
    entry.catch(() => cache.delete(snapshotDir)); // a failed read is retried, not remembered
    cache.set(snapshotDir, entry);
    while (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value as string);
  }
  return entry;
}
