/**
 * Tables: list, create (from a file, or from a typed definition), detail, update, drop, import and export (all
 * asynchronous jobs, emulator/jobs.ts), columns (added and dropped by jobs), primary keys, aliases, and table and
 * column metadata.
 */
import type { StackHost, StorageContext } from '../host';
import { createJob } from '../jobs';
import { bool, str, strList } from '../params';
import { badRequest, notFound, reply } from '../replies';
import type { AliasFilter, ProjectRecord, TableRecord, TypedColumn } from '../state';
import { columnMetadataJson, jobJson, metaJson, tableJson } from '../views';
import { bucket, checkColumnAdd, checkColumnDelete, dropTable, newAlias, refreshAliasCounts, table } from './entities';
import { fileRecord } from './files';
import { registerProviderMetadata, upsertMetadata } from './metadata';

const S = '/v2/storage';
/** The longest bucket or table name the Storage API takes. */
export const MAX_NAME_LENGTH = 96;

function tableName(v: unknown): string {
  const name = str(v);
  if (!name) throw badRequest('Parameter "name" is required', 'storage.tables.validation');
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw badRequest(`Invalid table name "${name}": only alphanumeric characters, dashes and underscores are allowed`, 'storage.tables.validation');
  if (name.length > MAX_NAME_LENGTH) throw badRequest(`Invalid table name "${name}": at most ${MAX_NAME_LENGTH} characters are allowed`, 'storage.tables.validation');
  return name;
}

/** The base type Keboola derives from a backend type when a definition gives none. */
function baseTypeOf(type: string): string {
  const t = type.toUpperCase();
  if (/^(INT|INTEGER|BIGINT|SMALLINT|TINYINT|BYTEINT|INT64)$/.test(t)) return 'INTEGER';
  if (/^(NUMBER|NUMERIC|DECIMAL|BIGNUMERIC)$/.test(t)) return 'NUMERIC';
  if (/^(FLOAT|FLOAT4|FLOAT8|DOUBLE|DOUBLE PRECISION|REAL|FLOAT64)$/.test(t)) return 'FLOAT';
  if (/^(BOOLEAN|BOOL)$/.test(t)) return 'BOOLEAN';
  if (t === 'DATE') return 'DATE';
  if (/^(TIMESTAMP|DATETIME|TIMESTAMP_NTZ|TIMESTAMP_LTZ|TIMESTAMP_TZ)$/.test(t)) return 'TIMESTAMP';
  return 'STRING';
}

/** The column types each backend's `tables-definition` accepts (Keboola's typed tables; the others are refused). */
const BACKEND_TYPES: Record<string, RegExp> = {
  snowflake: /^(NUMBER|DECIMAL|NUMERIC|INT|INTEGER|BIGINT|SMALLINT|TINYINT|BYTEINT|FLOAT|FLOAT4|FLOAT8|DOUBLE|DOUBLE PRECISION|REAL|VARCHAR|CHAR|CHARACTER|STRING|TEXT|BINARY|VARBINARY|BOOLEAN|DATE|DATETIME|TIME|TIMESTAMP|TIMESTAMP_NTZ|TIMESTAMP_LTZ|TIMESTAMP_TZ|VARIANT|OBJECT|ARRAY|GEOGRAPHY|GEOMETRY)$/,
  bigquery: /^(INT64|INT|SMALLINT|INTEGER|BIGINT|TINYINT|BYTEINT|NUMERIC|DECIMAL|BIGNUMERIC|BIGDECIMAL|FLOAT64|BOOL|STRING|BYTES|DATE|DATETIME|TIME|TIMESTAMP|GEOGRAPHY|JSON|ARRAY|STRUCT|INTERVAL)$/,
};

/** The base types of the Storage API (a column's `basetype`). */
const BASE_TYPES = ['BOOLEAN', 'DATE', 'FLOAT', 'INTEGER', 'NUMERIC', 'STRING', 'TIMESTAMP'];

/** A typed column from a request's `{name, definition?, basetype?}` (the type defaults to the base type, and back). */
function typedColumn(name: string, rawDefinition: unknown, rawBasetype: unknown, nullableByDefault: boolean): TypedColumn {
  const def = (rawDefinition ?? {}) as Record<string, unknown>;
  const basetype = str(rawBasetype) ?? '';
  const type = str(def.type) ?? basetype;
  return {
    name,
    definition: {
      type,
      nullable: def.nullable === undefined ? nullableByDefault : bool(def.nullable),
      ...(def.length !== undefined ? { length: String(def.length) } : {}),
      ...(def.default !== undefined ? { default: String(def.default) } : {}),
    },
    basetype: basetype || baseTypeOf(type),
  };
}

/** Refuses the columns whose type the bucket's backend does not have. */
function checkBackendTypes(backend: string, columns: TypedColumn[]): void {
  const accepted = BACKEND_TYPES[backend];
  const wrongType = accepted ? columns.filter((c) => !accepted.test(c.definition.type.toUpperCase())) : [];
  if (wrongType.length) {
    throw badRequest(`Invalid type for the ${backend} backend: ${wrongType.map((c) => `${c.name} ${c.definition.type}`).join(', ')}`, 'storage.tables.validation.invalidType');
  }
}

/** The longest column name the Storage API takes. */
export const MAX_COLUMN_NAME_LENGTH = 64;

/**
 * A new column's name as Keboola webalizes it: accents dropped, every run of characters other than letters, digits
 * and underscores one underscore, no underscores at either end (`_abc-def--ghi_` → `abc_def_ghi`). An empty or too
 * long result is refused.
 */
export function webalizeColumnName(v: unknown): string {
  const raw = str(v) ?? '';
  const name = raw
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!name) throw badRequest(`Invalid column name "${raw}": a name needs at least one letter, digit or underscore`, 'storage.tables.invalidColumnName');
  if (name.length > MAX_COLUMN_NAME_LENGTH) throw badRequest(`Invalid column name "${raw}": at most ${MAX_COLUMN_NAME_LENGTH} characters are allowed`, 'storage.tables.invalidColumnName');
  return name;
}

/**
 * The column a `POST tables/{id}/columns` adds. A typed table needs `definition` (with a type of the backend) or
 * `basetype`; a table that is not typed takes neither (Keboola: "This field was not expected").
 */
function columnToAdd(p: ProjectRecord, t: TableRecord, body: Record<string, unknown>): { name: string; column?: TypedColumn } {
  const name = webalizeColumnName(body.name);
  checkColumnAdd(p, t, name);
  const hasDefinition = body.definition !== undefined && body.definition !== null;
  const hasBasetype = body.basetype !== undefined && body.basetype !== null;
  if (!t.isTyped) {
    if (hasDefinition) throw badRequest('Invalid parameters - definition: This field was not expected.', 'storage.tables.validation');
    if (hasBasetype) throw badRequest('Invalid parameters - basetype: This field was not expected.', 'storage.tables.validation');
    return { name };
  }
  if (!hasDefinition && !hasBasetype) throw badRequest('Column "definition" or "basetype" must be set.', 'storage.tables.validation');
  if (hasDefinition && (typeof body.definition !== 'object' || Array.isArray(body.definition) || !str((body.definition as Record<string, unknown>).type))) {
    throw badRequest('Invalid parameters - definition: an object with "type" is required', 'storage.tables.validation');
  }
  if (hasBasetype && !BASE_TYPES.includes(String(body.basetype).toUpperCase())) {
    throw badRequest(`Invalid parameters - basetype: "${String(body.basetype)}" is not one of ${BASE_TYPES.join(', ')}`, 'storage.tables.validation');
  }
  const column = typedColumn(name, hasDefinition ? body.definition : undefined, hasBasetype ? String(body.basetype).toUpperCase() : undefined, true);
  const b = bucket(p, t.bucketId);
  checkBackendTypes(b.backend, [column]);
  if (!column.definition.nullable) {
    if (b.backend === 'bigquery') throw badRequest('BigQuery cannot add a REQUIRED column to a table: "nullable" must be true', 'storage.tables.validation');
    if (t.rowsCount > 0 && column.definition.default === undefined) {
      throw badRequest(`Column "${name}" is not nullable and has no default, but table ${t.id} has rows`, 'storage.tables.validation');
    }
  }
  return { name, column };
}

/** `include=columns,metadata`; the table lists include metadata when `include` is absent. */
function listInclude(ctx: StorageContext): Set<string> {
  const include = new Set(strList(ctx.url.searchParams.get('include')));
  if (!ctx.url.searchParams.has('include')) include.add('metadata');
  return include;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v && typeof v === 'object' ? Object.values(v) : []);

export function registerTables(host: StackHost): void {
  const api = host.storageApi;
  api.get(`${S}/tables`, (ctx) => {
    const include = listInclude(ctx);
    const withBucket = include.has('buckets') || include.has('bucketsWithoutSourceTables');
    return reply(200, ctx.project.tables.map((t) => tableJson(host, ctx.project, t, include, { bucket: withBucket })));
  });
  api.get(`${S}/buckets/{bucketId}/tables`, (ctx, { bucketId }) => {
    const b = bucket(ctx.project, bucketId!);
    const include = listInclude(ctx);
    return reply(200, ctx.project.tables.filter((t) => t.bucketId === b.id).map((t) => tableJson(host, ctx.project, t, include)));
  });
  api.post(`${S}/buckets/{bucketId}/tables-async`, async (ctx, { bucketId }) => {
    const p = ctx.project;
    const b = bucket(p, bucketId!);
    if (b.linkedFrom) throw badRequest(`Bucket ${b.id} is read-only`, 'storage.buckets.readOnly');
    const body = await ctx.body();
    const name = tableName(body.name);
    if (p.tables.some((t) => t.id === `${b.id}.${name}`)) throw badRequest(`Table "${name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
    const fileId = Number(body.dataFileId);
    if (!Number.isFinite(fileId) || body.dataFileId === undefined) throw badRequest('Parameter "dataFileId" is required (workspace, snapshot and time-travel sources are not emulated)', 'storage.tables.validation');
    fileRecord(host, p, fileId);
    const primaryKey = strList(body.primaryKey);
    const params = { primaryKey: primaryKey.join(','), delimiter: str(body.delimiter) ?? ',', enclosure: str(body.enclosure) ?? '"', escapedBy: str(body.escapedBy) ?? '' };
    const job = createJob(host, p, ctx.token, { kind: 'tableCreate', bucketId: b.id, name, fileId, primaryKey }, 'tableCreate', { name, params, source: { fileId: String(fileId), type: 'file' } }, null, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.post(`${S}/buckets/{bucketId}/tables-definition`, async (ctx, { bucketId }) => {
    const p = ctx.project;
    const b = bucket(p, bucketId!);
    const body = await ctx.body();
    const name = tableName(body.name);
    if (p.tables.some((t) => t.id === `${b.id}.${name}`)) throw badRequest(`Table "${name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
    const rawCols = asList(body.columns);
    if (!rawCols.length) throw badRequest('Parameter "columns" is required', 'storage.tables.validation');
    const primaryKey = strList(body.primaryKeysNames);
    const columns: TypedColumn[] = rawCols.map((c) => {
      const col = c as Record<string, unknown>;
      const colName = str(col.name);
      if (!colName) throw badRequest('Every column needs a name', 'storage.tables.validation');
      return typedColumn(colName, col.definition, col.basetype, !primaryKey.includes(colName));
    });
    const names = columns.map((c) => c.name);
    if (new Set(names).size !== names.length) throw badRequest('Duplicate column names', 'storage.tables.validation');
    checkBackendTypes(b.backend, columns);
    const badPk = primaryKey.filter((c) => !names.includes(c));
    if (badPk.length) throw badRequest(`Primary key columns not found: ${badPk.join(', ')}`, 'storage.tables.invalidPrimaryKeyColumns');
    // Snowflake (and so the Storage API) keeps a primary key only on NOT NULL columns; Keboola's restore looks for this message.
    const nullablePk = columns.filter((c) => primaryKey.includes(c.name) && c.definition.nullable).map((c) => c.name);
    if (nullablePk.length) {
      throw badRequest(`Primary keys columns must be set nullable false: ${nullablePk.join(', ')}`, 'storage.tables.validation.primaryKeyNullable');
    }
    const params = { name, primaryKeysNames: primaryKey, columns: columns.map((c) => ({ name: c.name, definition: c.definition, basetype: c.basetype })), queue: 'main' };
    const job = createJob(host, p, ctx.token, { kind: 'tableDefinitionCreate', bucketId: b.id, name, primaryKey, columns }, 'tableDefinitionCreate', params, null, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.get(`${S}/tables/{tableId}`, (ctx, { tableId }) => {
    const include = new Set(strList(ctx.url.searchParams.get('include')));
    return reply(200, tableJson(host, ctx.project, table(ctx.project, tableId!), include, { bucket: true, detail: true }));
  });
  api.put(`${S}/tables/{tableId}`, async (ctx, { tableId }) => {
    const t = table(ctx.project, tableId!);
    const body = await ctx.body();
    const displayName = str(body.displayName);
    if (!displayName) throw badRequest('Parameter "displayName" is required', 'storage.tables.validation');
    if (ctx.project.tables.some((x) => x !== t && x.bucketId === t.bucketId && x.displayName === displayName))
      throw badRequest(`Table with display name "${displayName}" already exists in bucket "${t.bucketId}"`, 'storage.tables.alreadyExists');
    if (bool(ctx.url.searchParams.get('async'))) {
      const job = createJob(host, ctx.project, ctx.token, { kind: 'tableUpdate', tableId: t.id, displayName }, 'tableUpdate', { values: { displayName } }, t.id, ctx.runId);
      return reply(202, jobJson(host, job));
    }
    t.displayName = displayName;
    host.changed();
    return reply(200, tableJson(host, ctx.project, t, new Set(), { bucket: true, detail: true }));
  });
  api.delete(`${S}/tables/{tableId}`, (ctx, { tableId }) => {
    const t = table(ctx.project, tableId!);
    const force = bool(ctx.url.searchParams.get('force'));
    if (bool(ctx.url.searchParams.get('async'))) {
      const job = createJob(host, ctx.project, ctx.token, { kind: 'tableDrop', tableId: t.id, force }, 'tableDrop', { force: String(force) }, t.id, ctx.runId);
      return reply(202, jobJson(host, job));
    }
    dropTable(host, ctx.project, t.id, force);
    return reply(204);
  });
  api.post(`${S}/tables/{tableId}/import-async`, async (ctx, { tableId }) => {
    const p = ctx.project;
    const t = table(p, tableId!);
    if (t.alias) throw badRequest('Cannot import data into an alias table', 'storage.tables.aliasImportNotAllowed');
    const body = await ctx.body();
    if (body.dataFileId === undefined) throw badRequest('Parameter "dataFileId" is required (workspace sources are not emulated)', 'storage.tables.validation');
    const fileId = Number(body.dataFileId);
    fileRecord(host, p, fileId);
    const incremental = bool(body.incremental);
    const withoutHeaders = bool(body.withoutHeaders);
    const columns = strList(body.columns);
    const params = { params: { incremental, source: [], withoutHeaders, columns, delimiter: str(body.delimiter) ?? ',', enclosure: str(body.enclosure) ?? '"' }, source: { fileId, type: 'file' }, queue: 'main_fast' };
    const job = createJob(host, p, ctx.token, { kind: 'tableImport', tableId: t.id, fileId, incremental, withoutHeaders, columns }, 'tableImport', params, t.id, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.post(`${S}/tables/{tableId}/export-async`, async (ctx, { tableId }) => {
    const p = ctx.project;
    const t = table(p, tableId!);
    const body = await ctx.body();
    const columns = strList(body.columns);
    const available = t.columns;
    const missing = columns.filter((c) => !available.includes(c));
    if (missing.length) throw badRequest(`Columns not found in table ${t.id}: ${missing.join(', ')}`, 'storage.tables.columnNotFound');
    const limit = body.limit === undefined || body.limit === null || body.limit === '' ? null : Number(body.limit);
    const whereFilters: AliasFilter[] = [];
    for (const f of asList(body.whereFilters) as Record<string, unknown>[]) {
      const op = str(f.operator) ?? 'eq';
      if (op !== 'eq' && op !== 'ne') throw badRequest(`Operator "${op}" is not supported by the emulator (eq, ne only)`, 'storage.tables.validation');
      whereFilters.push({ column: String(f.column), operator: op, values: strList(f.values) });
    }
    if (body.whereColumn) whereFilters.push({ column: String(body.whereColumn), operator: str(body.whereOperator) === 'ne' ? 'ne' : 'eq', values: strList(body.whereValues) });
    for (const f of whereFilters) if (!available.includes(f.column)) throw badRequest(`Filter column "${f.column}" not found`, 'storage.tables.columnNotFound');
    const params = { export: { tableName: null, columns, limit, changedSince: null, changedUntil: null, gzipOutput: true, format: 'rfc', whereFilters, fileType: 'csv', timezone: null }, queue: 'main_fast' };
    const job = createJob(host, p, ctx.token, { kind: 'tableExport', tableId: t.id, columns, limit, whereFilters }, 'tableExport', params, t.id, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.post(`${S}/tables/{tableId}/columns`, async (ctx, { tableId }) => {
    const p = ctx.project;
    const t = table(p, tableId!);
    const body = await ctx.body();
    const { name, column } = columnToAdd(p, t, body);
    const params = { name, ...(column ? { definition: column.definition, basetype: column.basetype } : {}) };
    const job = createJob(host, p, ctx.token, { kind: 'tableColumnAdd', tableId: t.id, name, ...(column ? { column } : {}) }, 'tableColumnAdd', params, t.id, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.delete(`${S}/tables/{tableId}/columns/{columnName}`, (ctx, { tableId, columnName }) => {
    const p = ctx.project;
    const t = table(p, tableId!);
    const force = bool(ctx.url.searchParams.get('force'));
    checkColumnDelete(p, t, columnName!, force);
    const job = createJob(host, p, ctx.token, { kind: 'tableColumnDelete', tableId: t.id, name: columnName!, force }, 'tableColumnDelete', { name: columnName!, force }, t.id, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.post(`${S}/tables/{tableId}/primary-key`, async (ctx, { tableId }) => {
    const t = table(ctx.project, tableId!);
    const body = await ctx.body();
    const columns = strList(body.columns);
    if (!columns.length) throw badRequest('Parameter "columns" is required', 'storage.tables.validation');
    const job = createJob(host, ctx.project, ctx.token, { kind: 'tablePrimaryKeyAdd', tableId: t.id, columns }, 'tablePrimaryKeyAdd', { columns, skipDuplicatesCheck: bool(body.skipDuplicatesCheck) }, t.id, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.delete(`${S}/tables/{tableId}/primary-key`, (ctx, { tableId }) => {
    const t = table(ctx.project, tableId!);
    const job = createJob(host, ctx.project, ctx.token, { kind: 'tablePrimaryKeyDelete', tableId: t.id }, 'tablePrimaryKeyDelete', {}, t.id, ctx.runId);
    return reply(202, jobJson(host, job));
  });
  api.post(`${S}/buckets/{bucketId}/table-aliases`, async (ctx, { bucketId }) => {
    const p = ctx.project;
    const b = bucket(p, bucketId!);
    const body = await ctx.body();
    const sourceId = str(body.sourceTable);
    if (!sourceId) throw badRequest('Parameter "sourceTable" is required', 'storage.tables.validation');
    const source = table(p, sourceId);
    if (source.alias) throw badRequest('Aliases cannot be chained', 'storage.tables.aliasChainNotAllowed');
    const name = body.name === undefined ? source.name : tableName(body.name);
    const af = body.aliasFilter as Record<string, unknown> | undefined;
    const filter: AliasFilter | undefined = af && af.column ? { column: String(af.column), operator: str(af.operator) === 'ne' ? 'ne' : 'eq', values: strList(af.values) } : undefined;
    const alias = newAlias(p, source, b.id, name, filter, strList(body.aliasColumns));
    p.tables.push(alias);
    await refreshAliasCounts(host, p, source);
    host.changed();
    return reply(201, tableJson(host, p, alias, new Set(['columns']), { bucket: true }));
  });
  registerTableMetadata(host);
}

/** Table metadata (the current form with `columnsMetadata`, and the deprecated metadata-only one) and column metadata. */
function registerTableMetadata(host: StackHost): void {
  const api = host.storageApi;
  api.get(`${S}/tables/{tableId}/metadata`, (ctx, { tableId }) => reply(200, table(ctx.project, tableId!).metadata.map((m) => metaJson(m, true))));
  api.post(`${S}/tables/{tableId}/metadata`, async (ctx, { tableId }) => {
    const t = table(ctx.project, tableId!);
    const body = await ctx.body();
    const provider = str(body.provider);
    if (!provider) throw badRequest('Parameter "provider" is required', 'storage.metadata.invalidProvider');
    const hasColumns = body.columnsMetadata !== undefined;
    if (body.metadata === undefined && !hasColumns) throw badRequest('At least one of "metadata" or "columnsMetadata" is required', 'storage.metadata.invalid');
    if (body.metadata !== undefined) upsertMetadata(host, t.metadata, body.metadata, provider);
    if (!hasColumns) return reply(201, t.metadata.map((m) => metaJson(m, true)));
    const cm = body.columnsMetadata;
    if (!cm || typeof cm !== 'object') throw badRequest('"columnsMetadata" must be an object', 'storage.metadata.invalid');
    // keyed by column name, or (a list per index) with `columnName` in each item
    for (const [k, items] of Object.entries(cm as Record<string, unknown>)) {
      const byColumn = new Map<string, unknown[]>();
      for (const item of (Array.isArray(items) ? items : Object.values(items as object)) as Record<string, unknown>[]) {
        const col = str(item.columnName) ?? (/^\d+$/.test(k) ? undefined : k);
        if (!col) throw badRequest(`Metadata under index ${k} needs "columnName"`, 'storage.metadata.invalid');
        if (!t.columns.includes(col)) throw badRequest(`Column "${col}" not found in table ${t.id}`, 'storage.tables.columnNotFound');
        byColumn.set(col, [...(byColumn.get(col) ?? []), item]);
      }
      for (const [col, list] of byColumn) upsertMetadata(host, (t.columnMetadata[col] ??= []), list, provider);
    }
    return reply(201, { metadata: t.metadata.map((m) => metaJson(m, true)), columnsMetadata: columnMetadataJson(t) });
  });
  api.delete(`${S}/tables/{tableId}/metadata/{metadataId}`, (ctx, { tableId, metadataId }) => {
    const t = table(ctx.project, tableId!);
    if (!t.metadata.some((m) => m.id === metadataId)) throw notFound('storage.metadata.notFound', `Metadata ${metadataId} not found`);
    t.metadata = t.metadata.filter((m) => m.id !== metadataId);
    host.changed();
    return reply(204);
  });
  /** `in.c-crm.customers.email` → the table and the column */
  const column = (ctx: StorageContext, columnId: string) => {
    const i = columnId.lastIndexOf('.');
    const t = table(ctx.project, columnId.slice(0, i));
    const col = columnId.slice(i + 1);
    if (!t.columns.includes(col)) throw notFound('storage.tables.columnNotFound', `Column "${col}" not found in table ${t.id}`);
    return { t, col };
  };
  registerProviderMetadata(
    host,
    `${S}/columns/{columnId}/metadata`,
    (ctx, { columnId }) => {
      const { t, col } = column(ctx, columnId!);
      return (t.columnMetadata[col] ??= []);
    },
    (ctx, { columnId }, items) => {
      const { t, col } = column(ctx, columnId!);
      t.columnMetadata[col] = items;
    },
  );
}
