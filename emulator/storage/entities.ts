/**
 * A project's Storage entities: looking them up (a missing one is Keboola's 404), creating configurations, rows
 * and aliases, and the changes shared by the routes, the job runner (emulator/jobs.ts) and seeding
 * (emulator/projects.ts), such as dropping a table with its aliases or adding and dropping a column.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackHost } from '../host';
import { findBucket, findConfig, findTable } from '../lookup';
import { badRequest, notFound } from '../replies';
import { countView, rewriteRows, type ViewSpec } from '../tabledata';
import { timestamp, type AliasFilter, type BucketRecord, type ConfigurationRecord, type ProjectRecord, type RowRecord, type TableRecord, type TokenRecord, type TypedColumn } from '../state';

export const creatorOf = (token: TokenRecord): { id: number; description: string } => ({ id: Number(token.id), description: token.description });

/** The data file of a table (header-less CSV in the table's column order; emulator/tabledata.ts). */
export function tablePath(host: StackHost, p: ProjectRecord, t: TableRecord): string {
  return join(host.dataDir, 'tables', `p${p.id}`, `${t.id}.csv`);
}

export function requireComponent(host: StackHost, id: string): void {
  if (!host.stack.components.some((c) => c.id === id)) throw notFound('storage.components.notFound', `Component "${id}" not found`);
}

/** Only the default branch exists: `default` or its ID. */
export function checkBranch(p: ProjectRecord, branchId: string | undefined): void {
  if (branchId === undefined || branchId === 'default' || branchId === String(p.defaultBranchId)) return;
  throw notFound('storage.devBranches.notFound', `Branch "${branchId}" not found`);
}

export function bucket(p: ProjectRecord, id: string): BucketRecord {
  const b = findBucket(p, id);
  if (!b) throw notFound('storage.buckets.notFound', `Bucket ${id} not found`);
  return b;
}

export function table(p: ProjectRecord, id: string): TableRecord {
  const t = findTable(p, id);
  if (!t) {
    const bucketId = id.split('.').slice(0, 2).join('.');
    throw notFound('storage.tables.notFound', `The table "${id.split('.')[2] ?? id}" was not found in the bucket "${bucketId}" in the project "${p.id}"`);
  }
  return t;
}

export function config(p: ProjectRecord, componentId: string, configId: string, allowDeleted = false): ConfigurationRecord {
  const c = findConfig(p, componentId, configId);
  if (!c || (c.isDeleted && !allowDeleted)) throw notFound('storage.configuration.notFound', `Configuration "${configId}" not found`);
  return c;
}

export function row(c: ConfigurationRecord, rowId: string): RowRecord {
  const r = c.rows.find((x) => x.id === rowId);
  if (!r) throw notFound('storage.configurationRow.notFound', `Row "${rowId}" not found`);
  return r;
}

export function versionId(): string {
  return `01EMU${Date.now().toString(36).toUpperCase()}${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
}

export function newConfig(
  token: TokenRecord,
  componentId: string,
  id: string,
  v: { name: string; description: string; configuration: Record<string, unknown>; state: Record<string, unknown>; isDisabled: boolean; changeDescription: string },
): ConfigurationRecord {
  const now = timestamp();
  const creator = creatorOf(token);
  return {
    componentId,
    id,
    name: v.name,
    description: v.description,
    configuration: v.configuration,
    state: v.state,
    isDisabled: v.isDisabled,
    isDeleted: false,
    rowsSortOrder: [],
    rows: [],
    version: 1,
    created: now,
    creatorToken: creator,
    changeDescription: v.changeDescription,
    currentVersion: { created: now, creatorToken: creator, changeDescription: v.changeDescription, versionIdentifier: versionId() },
    metadata: [],
  };
}

export function newRow(
  token: TokenRecord,
  id: string,
  v: { name: string; description: string; configuration: Record<string, unknown>; state: Record<string, unknown>; isDisabled: boolean; changeDescription: string | null },
): RowRecord {
  return { id, name: v.name, description: v.description, configuration: v.configuration, state: v.state, isDisabled: v.isDisabled, version: 1, created: timestamp(), creatorToken: creatorOf(token), changeDescription: v.changeDescription, versionIdentifier: versionId() };
}

/** A new version of the configuration (every change of it or of its rows makes one). */
export function bumpConfig(c: ConfigurationRecord, token: TokenRecord, changeDescription: string): void {
  c.version++;
  c.changeDescription = changeDescription;
  c.currentVersion = { created: timestamp(), creatorToken: creatorOf(token), changeDescription, versionIdentifier: versionId() };
}

export function newAlias(p: ProjectRecord, source: TableRecord, bucketId: string, name: string, filter: AliasFilter | undefined, aliasColumns: string[] | undefined): TableRecord {
  const id = `${bucketId}.${name}`;
  if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${name}" already exists in bucket "${bucketId}"`, 'storage.tables.alreadyExists');
  const columns = aliasColumns?.length ? aliasColumns : source.columns;
  const missing = columns.filter((c) => !source.columns.includes(c));
  if (missing.length) throw badRequest(`Alias columns not found in the source table: ${missing.join(', ')}`, 'storage.tables.columnNotFound');
  if (filter && !source.columns.includes(filter.column)) throw badRequest(`Filter column "${filter.column}" not found in the source table`, 'storage.tables.columnNotFound');
  const now = timestamp();
  return {
    id,
    bucketId,
    name,
    displayName: name,
    primaryKey: [],
    columns: [...columns],
    isTyped: source.isTyped,
    alias: { sourceTable: source.id, ...(filter ? { aliasFilter: { column: filter.column, operator: filter.operator ?? 'eq', values: filter.values } } : {}), aliasColumnsAutoSync: !aliasColumns?.length },
    metadata: [],
    columnMetadata: {},
    created: now,
    lastImportDate: null,
    lastChangeDate: null,
    rowsCount: 0,
    dataSizeBytes: 0,
  };
}

/** An alias has no data of its own: it is a filtered, projected view of its source table's data file. */
export function aliasView(host: StackHost, p: ProjectRecord, alias: TableRecord, columns?: string[], extraFilters: AliasFilter[] = [], limit: number | null = null): { path: string; spec: ViewSpec } {
  const source = table(p, alias.alias!.sourceTable);
  return {
    path: tablePath(host, p, source),
    spec: { dataColumns: source.columns, columns: columns?.length ? columns : alias.columns, filters: [...(alias.alias!.aliasFilter ? [alias.alias!.aliasFilter] : []), ...extraFilters], limit },
  };
}

/** After the source table changed: its aliases' columns (when synced) and row counts. */
export async function refreshAliasCounts(host: StackHost, p: ProjectRecord, source: TableRecord): Promise<void> {
  for (const alias of p.tables.filter((t) => t.alias?.sourceTable === source.id)) {
    if (alias.alias!.aliasColumnsAutoSync) alias.columns = [...source.columns];
    if (!alias.alias!.aliasFilter) {
      alias.rowsCount = source.rowsCount;
    } else {
      const { path, spec } = aliasView(host, p, alias);
      alias.rowsCount = await countView(path, spec);
    }
    alias.dataSizeBytes = source.dataSizeBytes;
  }
}

export function dropTable(host: StackHost, p: ProjectRecord, tableId: string, force: boolean): void {
  const t = table(p, tableId);
  const aliases = p.tables.filter((x) => x.alias?.sourceTable === t.id);
  if (aliases.length && !force) throw badRequest(`The table ${t.id} has aliases: ${aliases.map((a) => a.id).join(', ')}. Use force to drop them too.`, 'storage.tables.cannotDeleteTableWithAliases');
  for (const x of [...aliases, t]) {
    p.tables = p.tables.filter((y) => y !== x);
    if (!x.alias) void rm(tablePath(host, p, x), { force: true });
  }
  bucket(p, t.bucketId).lastChangeDate = timestamp();
  host.changed();
}

export function dropBucket(host: StackHost, p: ProjectRecord, bucketId: string, force: boolean): void {
  const b = bucket(p, bucketId);
  const tables = p.tables.filter((t) => t.bucketId === b.id);
  if (tables.length && !force) throw badRequest(`Bucket ${b.id} is not empty. Use force to drop it with its tables.`, 'buckets.deleteNotEmpty');
  const external = p.tables.filter((a) => a.alias && a.bucketId !== b.id && tables.some((t) => t.id === a.alias!.sourceTable));
  if (external.length) throw badRequest(`Tables of bucket ${b.id} have aliases in other buckets: ${external.map((a) => a.id).join(', ')}`, 'storage.buckets.tablesHaveAliases');
  for (const t of tables.filter((x) => x.alias)) dropTable(host, p, t.id, true);
  for (const t of tables.filter((x) => !x.alias)) if (p.tables.includes(t)) dropTable(host, p, t.id, true);
  p.buckets = p.buckets.filter((x) => x !== b);
  host.changed();
}

/** The table's structure or data changed: its `lastChangeDate` and its bucket's move. */
export function touchTable(p: ProjectRecord, t: TableRecord, now = timestamp()): void {
  t.lastChangeDate = now;
  const b = findBucket(p, t.bucketId);
  if (b) b.lastChangeDate = now;
}

/** What refuses any change of a table's columns: an alias (its columns are its source's), a linked (read-only) bucket. */
function checkColumnsChangeable(p: ProjectRecord, t: TableRecord): void {
  if (t.alias) throw badRequest(`Table ${t.id} is an alias: its columns are those of ${t.alias.sourceTable}, change them there`, 'storage.tables.aliasNotAllowed');
  const b = bucket(p, t.bucketId);
  if (b.linkedFrom) throw badRequest(`Bucket ${b.id} is read-only`, 'storage.buckets.readOnly');
}

/** Why `name` (already webalized) cannot be added to the table; checked by the request and again by its job. */
export function checkColumnAdd(p: ProjectRecord, t: TableRecord, name: string): void {
  checkColumnsChangeable(p, t);
  const existing = t.columns.find((c) => c.toLowerCase() === name.toLowerCase());
  if (existing) throw badRequest(`Column "${existing}" already exists in table ${t.id}`, 'storage.tables.columnAlreadyExists');
}

/**
 * Why the column cannot be dropped; checked by the request and again by its job. Refused: a column of the primary
 * key, the last column, a column an alias filters on, and a column an alias shows unless `force` (which drops it
 * from the aliases too, and needs every such alias to sync its columns with the source).
 */
export function checkColumnDelete(p: ProjectRecord, t: TableRecord, name: string, force: boolean): void {
  checkColumnsChangeable(p, t);
  if (!t.columns.includes(name)) throw notFound('storage.tables.columnNotFound', `Column "${name}" not found in table ${t.id}`);
  if (t.primaryKey.includes(name)) throw badRequest(`Column "${name}" is part of the primary key of table ${t.id}: remove it from the primary key first`, 'storage.tables.cannotDeletePrimaryKeyColumn');
  if (t.columns.length === 1) throw badRequest(`Column "${name}" is the last column of table ${t.id}: a table needs at least one column`, 'storage.tables.cannotDeleteLastColumn');
  const aliases = p.tables.filter((a) => a.alias?.sourceTable === t.id);
  const filtering = aliases.filter((a) => a.alias!.aliasFilter?.column === name);
  if (filtering.length) throw badRequest(`Column "${name}" is the filter column of the aliases ${filtering.map((a) => a.id).join(', ')}`, 'storage.tables.columnUsedInAliasFilter');
  const showing = aliases.filter((a) => a.columns.includes(name));
  if (showing.length && !force) throw badRequest(`Column "${name}" is used by the aliases ${showing.map((a) => a.id).join(', ')}. Use force to delete it from them too.`, 'storage.tables.columnUsedInAlias');
  const fixed = showing.filter((a) => !a.alias!.aliasColumnsAutoSync);
  if (fixed.length) throw badRequest(`Column "${name}" cannot be deleted from the aliases ${fixed.map((a) => a.id).join(', ')}: their columns do not sync with the source`, 'storage.tables.columnUsedInAlias');
}

/** Adds a column at the end (existing rows get the column's default, else an empty value); the aliases that sync their columns get it too. */
export async function addColumn(host: StackHost, p: ProjectRecord, t: TableRecord, name: string, column: TypedColumn | undefined): Promise<void> {
  checkColumnAdd(p, t, name);
  const value = column?.definition.default ?? '';
  const { dataSizeBytes } = await rewriteRows(tablePath(host, p, t), (row) => [...row, value]);
  t.columns = [...t.columns, name];
  if (t.typedColumns && column) t.typedColumns = [...t.typedColumns, column];
  t.dataSizeBytes = dataSizeBytes;
  touchTable(p, t);
  await refreshAliasCounts(host, p, t);
  host.changed();
}

/** Drops a column with its data and metadata, from the table and (`force`) from its aliases. */
export async function deleteColumn(host: StackHost, p: ProjectRecord, t: TableRecord, name: string, force: boolean): Promise<void> {
  checkColumnDelete(p, t, name, force);
  const index = t.columns.indexOf(name);
  const { dataSizeBytes } = await rewriteRows(tablePath(host, p, t), (row) => row.filter((_, i) => i !== index));
  t.columns = t.columns.filter((c) => c !== name);
  if (t.typedColumns) t.typedColumns = t.typedColumns.filter((c) => c.name !== name);
  delete t.columnMetadata[name];
  for (const a of p.tables.filter((x) => x.alias?.sourceTable === t.id)) delete a.columnMetadata[name];
  t.dataSizeBytes = dataSizeBytes;
  touchTable(p, t);
  await refreshAliasCounts(host, p, t);
  host.changed();
}
