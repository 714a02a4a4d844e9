/**
 * JSON renderers of the Storage API: records of the state (emulator/state.ts) in the shapes of Keboola's answers
 * (Keboola's Storage API blueprint). Only the areas' own small shapes (triggers, workspaces, services) live with them.
 */
import type { StackHost } from './host';
import type { AnswerStage } from './file-storage/storage';
import type { BucketRecord, ConfigurationRecord, FileRecord, JobRecord, MetadataRecord, ProjectRecord, RowRecord, TableRecord, TokenRecord } from './state';
import { findBucket, findTable } from './lookup';

/** PHP's JSON encoder writes an empty associative array as `[]`. */
function emptyAsArray<T extends object>(o: T): T | [] {
  return Object.keys(o).length ? o : [];
}

export function componentJson(host: StackHost, id: string, full = true): Record<string, unknown> {
  const c = host.stack.components.find((x) => x.id === id) ?? { id, type: 'other', name: id, flags: [] as string[], description: undefined, uri: undefined };
  const icon = (size: number) => `${host.url}/_services/icons/${id}-${size}.png`;
  const brief = {
    id: c.id,
    type: c.type,
    name: c.name,
    description: c.description ?? `${c.name} (emulated)`,
    ico64: icon(64),
    ico128: icon(128),
    features: [] as string[],
    flags: c.flags ?? [],
    categories: [] as string[],
  };
  if (!full) return brief;
  return {
    ...brief,
    longDescription: '',
    version: 1,
    hasUI: false,
    hasRun: false,
    ico32: icon(32),
    documentationUrl: '',
    data: {
      definition: { type: 'aws-ecr', uri: `emulator/${c.id}`, tag: 'latest', repository: { region: host.stack.region } },
      cpu_shares: 1024,
      memory: '8192m',
      configuration_format: 'json',
      process_timeout: 10800,
    },
    configurationSchema: {},
    configurationRowSchema: {},
    emptyConfiguration: {},
    emptyConfigurationRow: {},
    uiOptions: {},
    configurationDescription: '',
    uri: c.uri ?? `${host.url}/_services/syrup/docker/${c.id}`,
    dataTypesConfiguration: {},
    processorConfiguration: {},
  };
}

function ownerJson(host: StackHost, p: ProjectRecord): Record<string, unknown> {
  const totalRows = p.tables.filter((t) => !t.alias).reduce((s, t) => s + t.rowsCount, 0);
  const totalBytes = p.tables.filter((t) => !t.alias).reduce((s, t) => s + t.dataSizeBytes, 0);
  const has = (b: string) => p.backends.includes(b);
  const limit = (name: string, value: number) => [name, { name, value }] as const;
  return {
    name: p.name,
    id: String(p.id),
    type: 'production',
    region: host.stack.region,
    created: p.created,
    expires: null,
    features: p.features,
    dataSizeBytes: totalBytes,
    rowsCount: totalRows,
    hasMysql: has('mysql'),
    hasSynapse: has('synapse'),
    hasRedshift: has('redshift'),
    hasSnowflake: has('snowflake'),
    hasExasol: has('exasol'),
    hasTeradata: has('teradata'),
    hasBigquery: has('bigquery'),
    defaultBackend: p.defaultBackend,
    hasTryModeOn: '0',
    limits: Object.fromEntries([
      limit('components.jobsParallelism', 10),
      limit('goodData.dataSizeBytes', 1000000000),
      limit('goodData.demoTokenEnabled', 1),
      limit('goodData.prodTokenEnabled', 0),
      limit('goodData.usersCount', 30),
      limit('kbc.adminsCount', 10),
      limit('kbc.monthlyProjectPowerLimit', 50),
      limit('kbc.extractorsCount', 0),
      limit('kbc.writersCount', 0),
      limit('orchestrations.count', 10),
      limit('storage.dataSizeBytes', 50000000000),
      limit('storage.jobsParallelism', 10),
    ]),
    metrics: Object.fromEntries([
      limit('kbc.adminsCount', 1),
      limit('orchestrations.count', p.configurations.filter((c) => c.componentId === 'keboola.orchestrator' && !c.isDeleted).length),
      limit('storage.dataSizeBytes', totalBytes),
      limit('storage.rowsCount', totalRows),
    ]),
    isDisabled: false,
    billedMonthlyPrice: null,
    dataRetentionTimeInDays: 7,
    assignedBackends: p.backends,
    fileStorageProvider: 'gcp',
    payAsYouGo: { purchasedCredits: 0 },
  };
}

export function tokenJson(host: StackHost, p: ProjectRecord, t: TokenRecord, verify: boolean): Record<string, unknown> {
  const base: Record<string, unknown> = {
    id: t.id,
    created: t.created,
    refreshed: t.created,
    description: t.description,
    uri: `${host.url}/v2/storage/tokens/${t.id}`,
    isMasterToken: t.isMasterToken,
    canManageBuckets: t.canManageBuckets,
    canManageTokens: t.canManageTokens,
    canReadAllFileUploads: t.canReadAllFileUploads,
    canPurgeTrash: t.canPurgeTrash,
    canManageProtectedDefaultBranch: false,
    canCreateJobs: false,
    expires: null,
    isExpired: false,
    isDisabled: false,
    isBYODB: false,
    dailyCapacity: 0,
    token: t.token,
    bucketPermissions: t.canManageBuckets
      ? Object.fromEntries(p.buckets.map((b) => [b.id, 'manage']))
      : emptyAsArray(t.bucketPermissions),
    creatorToken: { id: Number(p.tokens[0]!.id), description: p.tokens[0]!.description },
    componentAccess: t.componentAccess,
  };
  if (t.admin) base.admin = { id: t.admin.id, name: t.admin.name, features: [], isOrganizationMember: true, role: t.admin.role, isActivated: true };
  if (verify) {
    base.organization = { id: 1 };
    base.owner = ownerJson(host, p);
  }
  return base;
}

export function metaJson(m: MetadataRecord, withProvider: boolean): Record<string, unknown> {
  return withProvider
    ? { id: m.id, key: m.key, value: m.value, provider: m.provider ?? 'user', timestamp: m.timestamp }
    : { id: m.id, key: m.key, value: m.value, timestamp: m.timestamp };
}

function bucketStats(p: ProjectRecord, b: BucketRecord): { rowsCount: number; dataSizeBytes: number } {
  const tables = p.tables.filter((t) => t.bucketId === b.id && !t.alias);
  return { rowsCount: tables.reduce((s, t) => s + t.rowsCount, 0), dataSizeBytes: tables.reduce((s, t) => s + t.dataSizeBytes, 0) };
}

export function bucketJson(host: StackHost, p: ProjectRecord, b: BucketRecord, include: Set<string>, detail = false): Record<string, unknown> {
  const uri = `${host.url}/v2/storage/buckets/${b.id}`;
  const stats = bucketStats(p, b);
  const out: Record<string, unknown> = {
    uri,
    id: b.id,
    name: b.name,
    displayName: b.displayName,
    stage: b.stage,
    description: b.description,
    tables: `${uri}/tables`,
    created: b.created,
    lastChangeDate: b.lastChangeDate,
    updated: b.updated,
    isReadOnly: !!b.linkedFrom,
    dataSizeBytes: stats.dataSizeBytes,
    rowsCount: stats.rowsCount,
    isMaintenance: false,
    backend: b.backend,
    hasExternalSchema: false,
    databaseName: null,
    path: `KBC_PRJ_${p.id}.${b.id}`,
    sharing: null,
    bucketSharingAllowed: true,
    color: b.color,
    isLinkedBucket: !!b.linkedFrom,
    backendPath: [`KBC_PRJ_${p.id}`, b.id],
    owner: { id: p.tokens[0]?.admin?.id ?? 1, name: p.tokens[0]?.admin?.name ?? 'Emulated Admin', email: 'admin@emulator.keboola.local' },
  };
  if (b.linkedFrom) {
    const src = host.project(b.linkedFrom.projectId);
    const srcBucket = src?.buckets.find((x) => x.id === b.linkedFrom!.bucketId);
    out.sourceBucket = {
      id: b.linkedFrom.bucketId,
      name: b.linkedFrom.bucketId.split('.')[1],
      description: srcBucket?.description ?? '',
      project: { id: b.linkedFrom.projectId, name: src?.name ?? `Project ${b.linkedFrom.projectId}` },
    };
  }
  if (detail || include.has('linkedBuckets')) {
    out.linkedBy = host.state.projects.flatMap((other) =>
      other.buckets
        .filter((x) => x.linkedFrom?.projectId === p.id && x.linkedFrom.bucketId === b.id)
        .map((x) => ({ id: x.id, created: x.created, project: { id: other.id, name: other.name } })),
    );
  }
  if (detail || include.has('metadata')) out.metadata = b.metadata.map((m) => metaJson(m, true));
  if (detail) out.scheduledTasks = [];
  return out;
}

function definitionJson(t: TableRecord, columns?: string[]): Record<string, unknown> | undefined {
  if (!t.typedColumns) return undefined;
  const cols = columns ? t.typedColumns.filter((c) => columns.includes(c.name)) : t.typedColumns;
  return {
    primaryKeysNames: t.primaryKey,
    columns: cols.map((c) => ({
      name: c.name,
      definition: { type: c.definition.type, nullable: c.definition.nullable, ...(c.definition.length !== undefined ? { length: /^\d+$/.test(c.definition.length) ? Number(c.definition.length) : c.definition.length } : {}), ...(c.definition.default !== undefined ? { default: c.definition.default } : {}) },
      basetype: c.basetype,
      canBeFiltered: true,
    })),
  };
}

export function columnMetadataJson(t: TableRecord): Record<string, unknown> | [] {
  const out: Record<string, unknown[]> = {};
  // Like Keboola, a typed table reports each column's type as `storage` metadata (what backups restore types from).
  for (const column of t.typedColumns ?? []) out[column.name] = datatypeMetadata(t, column);
  for (const [col, items] of Object.entries(t.columnMetadata)) if (items.length) out[col] = [...(out[col] ?? []), ...items.map((m) => metaJson(m, true))];
  return emptyAsArray(out);
}

function datatypeMetadata(t: TableRecord, column: NonNullable<TableRecord['typedColumns']>[number]): Record<string, unknown>[] {
  const entries: Array<[string, string]> = [
    ['KBC.datatype.type', column.definition.type],
    // as the Storage API writes it: "1" nullable, "" NOT NULL (a PHP false)
    ['KBC.datatype.nullable', column.definition.nullable === false ? '' : '1'],
    ['KBC.datatype.basetype', column.basetype ?? 'STRING'],
    ...(column.definition.length !== undefined ? [['KBC.datatype.length', String(column.definition.length)] as [string, string]] : []),
    ...(column.definition.default !== undefined ? [['KBC.datatype.default', String(column.definition.default)] as [string, string]] : []),
  ];
  return entries.map(([key, value], i) => ({ id: `${t.id}.${column.name}.${i}`, key, value, provider: 'storage', timestamp: t.created }));
}

export function tableJson(host: StackHost, p: ProjectRecord, t: TableRecord, include: Set<string>, opts: { bucket?: boolean; detail?: boolean } = {}): Record<string, unknown> {
  const uri = `${host.url}/v2/storage/tables/${t.id}`;
  const source = t.alias ? findTable(p, t.alias.sourceTable) : undefined;
  const out: Record<string, unknown> = {
    uri,
    id: t.id,
    name: t.name,
    displayName: t.displayName,
    transactional: false,
    primaryKey: source ? source.primaryKey.filter((c) => t.columns.includes(c)) : t.primaryKey,
    created: t.created,
    lastImportDate: source ? source.lastImportDate : t.lastImportDate,
    lastChangeDate: source ? source.lastChangeDate : t.lastChangeDate,
    rowsCount: t.rowsCount,
    dataSizeBytes: source ? source.dataSizeBytes : t.dataSizeBytes,
    isAlias: !!t.alias,
    isAliasable: !t.alias,
    isTyped: source ? source.isTyped : t.isTyped,
    timestampType: 'MANAGED',
    tableType: 'table',
    path: `KBC_PRJ_${p.id}.${t.bucketId}.${t.name}`,
  };
  const definition = source ? definitionJson(source, t.columns) : definitionJson(t);
  if (definition) out.definition = definition;
  if (t.alias && source) {
    const sourceTable: Record<string, unknown> = {
      id: source.id,
      uri: `${host.url}/v2/storage/tables/${source.id}`,
      isAlias: false,
      project: { id: p.id, name: p.name },
    };
    if (opts.detail || include.has('sourceMetadata')) sourceTable.metadata = source.metadata.map((m) => metaJson(m, true));
    if (opts.detail || include.has('sourceColumnMetadata') || include.has('columnMetadata')) sourceTable.columnMetadata = columnMetadataJson(source);
    const srcDef = definitionJson(source);
    if (srcDef) sourceTable.definition = srcDef;
    out.sourceTable = sourceTable;
    out.aliasColumnsAutoSync = t.alias.aliasColumnsAutoSync;
    if (t.alias.aliasFilter) out.aliasFilter = t.alias.aliasFilter;
  }
  if (opts.detail || include.has('columns')) out.columns = t.columns;
  if (opts.detail || include.has('metadata')) out.metadata = t.metadata.map((m) => metaJson(m, true));
  if (opts.detail || include.has('columnMetadata')) out.columnMetadata = columnMetadataJson(t);
  if (opts.bucket) {
    const b = findBucket(p, t.bucketId)!;
    out.bucket = bucketJson(host, p, b, new Set(opts.detail ? ['metadata'] : []));
  }
  return out;
}

/** A file as the Files API answers it, with its provider's fields for `stage` (emulator/file-storage). */
export async function fileJson(host: StackHost, f: FileRecord, stage: AnswerStage = 'list'): Promise<Record<string, unknown>> {
  return {
    id: f.id,
    created: f.created,
    isPublic: false,
    isSliced: f.isSliced,
    isEncrypted: true,
    name: f.name,
    fileType: /\.csv(\.gz)?$/i.test(f.name) ? 'csv' : 'file',
    provider: host.fileStorage.provider,
    region: host.stack.region,
    sizeBytes: f.sizeBytes,
    tags: f.tags,
    maxAgeDays: f.isPermanent ? null : 15,
    runId: f.runId,
    runIds: f.runId ? [f.runId] : [],
    creatorToken: f.creatorToken,
    ...(await host.fileStorage.answer(f, stage)),
  };
}

export function jobJson(host: StackHost, j: JobRecord): Record<string, unknown> {
  const { op: _op, projectId: _p, error, ...rest } = j;
  void _op;
  void _p;
  return { ...rest, url: `${host.url}/v2/storage/jobs/${j.id}`, ...(error ? { error } : {}) };
}

export function configJson(c: ConfigurationRecord, parts: { configuration?: boolean; rows?: boolean; state?: boolean } = { configuration: true, rows: true, state: true }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: c.id,
    name: c.name,
    description: c.description,
    created: c.created,
    creatorToken: c.creatorToken,
    version: c.version,
    changeDescription: c.changeDescription,
    isDisabled: c.isDisabled,
    isDeleted: c.isDeleted,
  };
  if (parts.configuration) out.configuration = c.configuration;
  out.rowsSortOrder = c.rowsSortOrder;
  if (parts.rows) out.rows = c.rows.map((r) => rowJson(r));
  if (parts.state) out.state = c.state;
  out.currentVersion = c.currentVersion;
  return out;
}

export function rowJson(r: RowRecord): Record<string, unknown> {
  return { ...r };
}
