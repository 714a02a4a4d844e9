// What changed in a source project between two states of it: the last pass' snapshot and now (a new snapshot, or
// the live listings for `status`). Pure: it reads nothing, so the rules are in one place and unit-tested.
// docs/sync.md says what a pass copies and what it leaves for a person.
import type { SyncChanges } from '../workflows/types';
import type { ConfigurationRef } from '../snapshot/reader';
import type { SnapshotTable } from '../snapshot/schemas';
import { sameJson } from './json';

/** A project as a pass compares it: what the index files (or the live listings) say. */
export interface ProjectState {
  bucketIds: string[];
  /** Tables (aliases included) of the restorable buckets. */
  tables: SnapshotTable[];
  /** Configurations with the version the listing gave (undefined: unknown, so compared by body). */
  configurations: Array<ConfigurationRef & { version?: number }>;
  /** Legacy orchestrations, triggers and notification subscriptions, as JSON by ID, when known. */
  others?: Array<{ kind: OtherKind; id: string; json: unknown }>;
}

export type TableChange = 'added' | 'data' | 'structure' | 'metadata';

/** A table a pass brings up to date, with what changed in it. */
export interface SyncTable {
  id: string;
  change: TableChange;
}
export type OtherKind = 'orchestration' | 'trigger' | 'subscription';

/** Per kind of the entities that get new IDs or no ID in the destination: whether any is new or changed, and which go. */
export interface OthersPlan {
  /** New or changed ones: the restore step runs again (it finds the first copy's by their markers, or by content). */
  copy: boolean;
  /** Gone from the source, or changed where the copy cannot be edited (triggers, subscriptions): removed first. */
  remove: Array<{ id: string; json: unknown }>;
}

/** The plan a pass carries out, written to the pass' snapshot (files.syncPlan). */
export interface SyncPlanFile {
  previousSnapshotDir: string;
  changes: SyncChanges;
  /** Data tables to bring up to date, sorted by ID: each is exported and imported again, except `metadata` ones. */
  tables: SyncTable[];
  removedTables: string[];
  /** Aliases to drop: gone from the source, or defined differently (created again after the tables). */
  removedAliases: string[];
  removedBuckets: string[];
  addedBuckets: string[];
  configurations: { added: ConfigurationRef[]; changed: ConfigurationRef[]; removed: ConfigurationRef[] };
  others: Record<OtherKind, OthersPlan>;
  /** The source project, for the markers of what the first copy created (activities/created-once.ts). */
  source?: { url: string; projectId: number };
}

const refKey = (ref: ConfigurationRef) => `${ref.componentId}/${ref.configId}`;

/** What makes a table's data new: any of these moving means it was loaded, replaced or truncated. */
function dataKey(t: SnapshotTable): unknown {
  return [t.created ?? null, t.lastImportDate ?? null, t.lastChangeDate ?? null, t.rowsCount ?? null, t.dataSizeBytes ?? null];
}

function structureKey(t: SnapshotTable): unknown {
  return [t.columns, [...(t.primaryKey ?? [])].sort(), t.definition?.columns ?? null];
}

function labelKey(t: SnapshotTable): unknown {
  return [t.displayName ?? null, t.metadata ?? [], t.columnMetadata ?? {}];
}

function aliasKey(t: SnapshotTable): unknown {
  return [t.sourceTable?.id ?? null, t.aliasFilter ?? null, t.aliasColumnsAutoSync ?? true, t.aliasColumnsAutoSync === false ? t.columns : null];
}

/**
 * Compares two states of a source. `bodiesDiffer` answers whether a configuration whose version is unknown on
 * either side changed (by reading both bodies); with versions on both sides the versions decide.
 */
export async function planChanges(
  previous: ProjectState,
  current: ProjectState,
  bodiesDiffer: (ref: ConfigurationRef) => Promise<boolean>,
): Promise<Omit<SyncPlanFile, 'previousSnapshotDir' | 'source'>> {
  const before = new Set(previous.bucketIds);
  const now = new Set(current.bucketIds);
  const addedBuckets = current.bucketIds.filter((id) => !before.has(id));
  const removedBuckets = previous.bucketIds.filter((id) => !now.has(id));

  const oldTables = new Map(previous.tables.map((t) => [t.id, t]));
  const newTables = new Map(current.tables.map((t) => [t.id, t]));
  const tables: SyncPlanFile['tables'] = [];
  const removedTables: string[] = [];
  const removedAliases: string[] = [];
  let aliasesAdded = 0;
  for (const table of [...current.tables].sort((a, b) => a.id.localeCompare(b.id))) {
    const old = oldTables.get(table.id);
    if (table.isAlias) {
      if (old?.isAlias && sameJson(aliasKey(old), aliasKey(table))) continue;
      if (old) removedAliases.push(table.id); // defined differently: dropped, then created as the source has it
      aliasesAdded++;
      continue;
    }
    if (!old || old.isAlias) {
      if (old) removedAliases.push(table.id);
      tables.push({ id: table.id, change: 'added' });
    } else if (!sameJson(structureKey(old), structureKey(table))) tables.push({ id: table.id, change: 'structure' });
    else if (!sameJson(dataKey(old), dataKey(table))) tables.push({ id: table.id, change: 'data' });
    else if (!sameJson(labelKey(old), labelKey(table))) tables.push({ id: table.id, change: 'metadata' });
  }
  for (const old of previous.tables) {
    if (newTables.has(old.id)) continue;
    if (old.isAlias) removedAliases.push(old.id);
    else removedTables.push(old.id);
  }

  const oldConfigurations = new Map(previous.configurations.map((c) => [refKey(c), c]));
  const newKeys = new Set(current.configurations.map(refKey));
  const configurations: SyncPlanFile['configurations'] = { added: [], changed: [], removed: [] };
  for (const configuration of current.configurations) {
    const ref = { componentId: configuration.componentId, configId: configuration.configId };
    const old = oldConfigurations.get(refKey(configuration));
    if (!old) configurations.added.push(ref);
    else if (old.version !== undefined && configuration.version !== undefined ? old.version !== configuration.version : await bodiesDiffer(ref)) configurations.changed.push(ref);
  }
  for (const old of previous.configurations) {
    if (!newKeys.has(refKey(old))) configurations.removed.push({ componentId: old.componentId, configId: old.configId });
  }

  // A legacy orchestration's copy is edited in place; a trigger or a subscription that changed is replaced.
  const others: Record<OtherKind, OthersPlan> = { orchestration: { copy: false, remove: [] }, trigger: { copy: false, remove: [] }, subscription: { copy: false, remove: [] } };
  const otherCounts: Record<OtherKind, number> = { orchestration: 0, trigger: 0, subscription: 0 };
  const key = (o: { kind: string; id: string }) => `${o.kind} ${o.id}`;
  const oldOthers = new Map((previous.others ?? []).map((o) => [key(o), o]));
  const newOthers = new Set((current.others ?? []).map(key));
  for (const other of current.others ?? []) {
    const old = oldOthers.get(key(other));
    if (old && sameJson(old.json, other.json)) continue;
    others[other.kind].copy = true;
    if (old && other.kind !== 'orchestration') others[other.kind].remove.push({ id: old.id, json: old.json });
    otherCounts[other.kind]++;
  }
  for (const old of previous.others ?? []) {
    if (newOthers.has(key(old))) continue;
    others[old.kind].remove.push({ id: old.id, json: old.json });
    otherCounts[old.kind]++;
  }

  const count = (change: TableChange) => tables.filter((t) => t.change === change).length;
  return {
    changes: {
      bucketsAdded: addedBuckets.length,
      bucketsRemoved: removedBuckets.length,
      tablesAdded: count('added'),
      tablesChanged: count('data'),
      tablesAltered: count('structure'),
      tablesRemoved: removedTables.length,
      tablesRelabelled: count('metadata'),
      aliasesAdded,
      aliasesRemoved: removedAliases.length, // a redefined alias counts as removed and added
      configurationsAdded: configurations.added.length,
      configurationsChanged: configurations.changed.length,
      configurationsRemoved: configurations.removed.length,
      orchestrationsChanged: otherCounts.orchestration,
      triggersChanged: otherCounts.trigger,
      notificationsChanged: otherCounts.subscription,
      needsAPerson: [],
    },
    tables,
    removedTables,
    removedAliases,
    removedBuckets,
    addedBuckets,
    configurations,
    others,
  };
}
