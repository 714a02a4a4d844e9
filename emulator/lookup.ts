/**
 * Finding one record of the state without scanning its array. The state stays plain arrays (state.json's shape,
 * changed in place by the routes), and a project of 20,000 configurations made every create, row and metadata
 * request scan them: at 5,000 tables and 20,000 configurations those scans were a third of the emulator's CPU,
 * taken from the migration it serves on the same cores.
 */
import type { BucketRecord, ConfigurationRecord, ProjectRecord, TableRecord } from './state';

/**
 * A key → position map per array, built on the array's first lookup. The state's arrays change in two ways:
 * records pushed at the end (indexed from where the map stopped), and the array replaced by a filtered copy or a
 * state load (a new array: a new map). A change in place some other way is caught before it can mislead: the
 * map is rebuilt when the last record it indexed is no longer where it was (a record removed before it) or a
 * position found no longer holds its key (records moved).
 */
export class RecordIndex<T extends object> {
  private readonly maps = new WeakMap<readonly T[], { positions: Map<string, number>; indexed: number }>();

  constructor(private readonly keyOf: (record: T) => string) {}

  find(records: readonly T[], key: string): T | undefined {
    let map = this.maps.get(records);
    if (!map || map.indexed > records.length || (map.indexed > 0 && map.positions.get(this.keyOf(records[map.indexed - 1]!)) !== map.indexed - 1)) {
      map = { positions: new Map(), indexed: 0 };
      this.maps.set(records, map);
    }
    // Keys are unique in the state (IDs); were they not, the first indexed would win.
    for (; map.indexed < records.length; map.indexed++) {
      const k = this.keyOf(records[map.indexed]!);
      if (!map.positions.has(k)) map.positions.set(k, map.indexed);
    }
    const position = map.positions.get(key);
    if (position === undefined) return undefined;
    const record = records[position];
    if (record !== undefined && this.keyOf(record) === key) return record;
    this.maps.delete(records); // moved in place: index it again
    return this.find(records, key);
  }
}

/**
 * A record of an array kept in ascending `id` order (jobs and files: numbered as created, pushed at the end,
 * removed by filter or from the front), by binary search.
 */
export function findById<T extends { id: number }>(records: readonly T[], id: number): T | undefined {
  let low = 0;
  let high = records.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const record = records[middle]!;
    if (record.id === id) return record;
    if (record.id < id) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

const bucketsById = new RecordIndex<BucketRecord>((b) => b.id);
const tablesById = new RecordIndex<TableRecord>((t) => t.id);
const configurationKey = (componentId: string, configId: string) => `${componentId}/${configId}`;
const configurationsById = new RecordIndex<ConfigurationRecord>((c) => configurationKey(c.componentId, c.id));

export const findBucket = (p: ProjectRecord, id: string): BucketRecord | undefined => bucketsById.find(p.buckets, id);
export const findTable = (p: ProjectRecord, id: string): TableRecord | undefined => tablesById.find(p.tables, id);
/** A configuration of the project, in the trash or not (a component's configuration IDs are unique, the trash's included). */
export const findConfig = (p: ProjectRecord, componentId: string, configId: string): ConfigurationRecord | undefined =>
  configurationsById.find(p.configurations, configurationKey(componentId, configId));
