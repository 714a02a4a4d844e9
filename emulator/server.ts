/**
 * A local Keboola stack: Storage API endpoints (per /work/shared/reference/storage-api.apib), a GCS-like object
 * store for file transfer (docs/CONTRACTS.md), async jobs, durable state on disk and fault injection.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FaultRegistry, faultSpecSchema, type FaultSpec } from './faults';
import { ApiError, badRequest, bool, errorBody, jsonObjectParam, notFound, parseBody, Router, sendJson, str, strList } from './http';
import { loadSeed, parseProjectSeed, type ParsedProjectSeed, type SeedFile, type StackSeed } from './seed';
import {
  newState,
  StateStore,
  type AliasFilter,
  type BucketRecord,
  type ConfigurationRecord,
  type FileRecord,
  type JobOp,
  type JobRecord,
  type MetadataRecord,
  type ProjectRecord,
  type RowRecord,
  type StackState,
  type TableRecord,
  type TokenRecord,
  type TypedColumn,
} from './state';
import { countView, exportSlices, importFiles, jobError, sanitizeColumnName, writeRows, type ViewSpec } from './tabledata';
import { seedLegacyServices } from './orchestrator';
import { registerLegacyServices } from './triggers';
import { registerWriterServices } from './writer-services';

export interface StartStackOptions {
  /** 0 or undefined = a random free port */
  port?: number;
  host?: string;
  dataDir: string;
  seed?: SeedFile | string;
  /** simulated job duration (default 150 ms) */
  jobDelayMs?: number;
  /** rows per exported slice (default 100000) */
  exportSliceRows?: number;
  /** faults active from the start (same as POST /_emulator/faults) */
  faults?: FaultSpec[];
}

export interface EmulatedProjectInfo {
  id: number;
  name: string;
  tokens: string[];
}

export interface EmulatedStack {
  url: string;
  close(): Promise<void>;
  /** the projects of this stack and their tokens (for CLIs and tests) */
  projects(): EmulatedProjectInfo[];
}

// ---------------------------------------------------------------------------------------------------------------

const GCS_PROJECT = 'kbc-emulator';

/** Keboola's timestamp format: 2017-02-13T12:01:05+0100 */
export function ts(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: () => Promise<Record<string, unknown>>;
  project: ProjectRecord;
  token: TokenRecord;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const reply = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({ status, body, headers });

function emptyAsArray<T extends object>(o: T): T | [] {
  return Object.keys(o).length ? o : [];
}

class Stack {
  readonly store: StateStore;
  readonly faults = new FaultRegistry();
  readonly requestCounts: Record<string, number> = {};
  url = '';
  private readonly router = new Router<Ctx>();
  private readonly publicRouter = new Router<Omit<Ctx, 'project' | 'token'>>();
  private readonly adminRouter = new Router<Omit<Ctx, 'project' | 'token'>>();
  private readonly serviceIds: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closing = false;

  constructor(
    readonly dataDir: string,
    state: StackState,
    readonly jobDelayMs: number,
    readonly sliceRows: number,
  ) {
    this.store = new StateStore(dataDir, state);
    this.registerRoutes();
    registerLegacyServices(this, this.router, this.publicRouter); // Orchestrator API, triggers, tokens (emulator/triggers.ts)
    registerWriterServices(this, { storage: this.router, public: this.publicRouter, admin: this.adminRouter, services: this.serviceIds }); // workspaces, Encryption API, GoodData (emulator/writer-services.ts)
  }

  get state(): StackState {
    return this.store.state;
  }
  get stack(): StackSeed {
    return this.state.stack;
  }
  changed(): void {
    this.store.markDirty();
  }

  // ----------------------------------------------------------------------------------------------- ids & helpers
  nextMetadataId(): string {
    return String(this.state.nextId.metadata++);
  }

  project(id: number): ProjectRecord | undefined {
    return this.state.projects.find((p) => p.id === id);
  }

  creator(token: TokenRecord): { id: number; description: string } {
    return { id: Number(token.id), description: token.description };
  }

  tablePath(p: ProjectRecord, t: TableRecord): string {
    return join(this.dataDir, 'tables', `p${p.id}`, `${t.id}.csv`);
  }

  get gcsBucket(): string {
    return `kbc-emulator-${this.stack.region}-files`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  }

  objectPath(bucket: string, key: string): string {
    const parts = key.split('/');
    if (!bucket || bucket.includes('..') || bucket.includes('/') || parts.some((s) => s === '..' || s === '.' || s === ''))
      throw badRequest(`Invalid object key "${key}"`);
    return join(this.dataDir, 'objects', bucket, ...parts);
  }

  hmac(text: string): string {
    return createHmac('sha256', this.state.secret).update(text).digest('hex');
  }

  accessToken(projectId: number): string {
    return `ya29.emulator.${projectId}.${this.hmac(`project:${projectId}`).slice(0, 40)}`;
  }

  signedUrl(bucket: string, key: string): string {
    const date = ts().replace(/[-:]/g, '').replace('+0000', 'Z');
    const sig = this.hmac(`${bucket}/${key}@${date}`);
    const encKey = key.split('/').map(encodeURIComponent).join('/');
    return `${this.url}/_gcs/${bucket}/${encKey}?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Date=${date}&X-Goog-Expires=3600&X-Goog-SignedHeaders=host&X-Goog-Signature=${sig}`;
  }

  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }

  // ----------------------------------------------------------------------------------------------- seeding
  async createProject(seed: ParsedProjectSeed): Promise<ProjectRecord> {
    if (this.project(seed.id)) throw new ApiError(409, 'emulator.projectExists', `Project ${seed.id} already exists`);
    const allTokens = new Set(this.state.projects.flatMap((p) => p.tokens.map((t) => t.token)));
    for (const t of seed.tokens) if (allTokens.has(t.token)) throw new ApiError(409, 'emulator.tokenExists', `Token "${t.token}" already exists`);
    const now = ts();
    const p: ProjectRecord = {
      id: seed.id,
      name: seed.name,
      created: now,
      defaultBackend: seed.defaultBackend,
      backends: seed.backends,
      features: seed.features ?? [],
      defaultBranchId: 100000 + seed.id,
      branchCreated: now,
      tokens: [],
      branchMetadata: [],
      buckets: [],
      tables: [],
      configurations: [],
    };
    for (const t of seed.tokens) {
      const master = t.isMasterToken ?? false;
      p.tokens.push({
        id: String(this.state.nextId.token++),
        token: t.token,
        description: t.description,
        created: now,
        isMasterToken: master,
        canManageBuckets: t.canManageBuckets ?? master,
        canManageTokens: t.canManageTokens ?? master,
        canReadAllFileUploads: t.canReadAllFileUploads ?? master,
        canPurgeTrash: t.canPurgeTrash ?? master,
        bucketPermissions: t.bucketPermissions ?? {},
        componentAccess: t.componentAccess ?? [],
        admin: t.admin ? { role: 'admin', ...t.admin } : master ? { id: 1000 + seed.id, name: 'Emulated Admin', role: 'admin' } : undefined,
      });
    }
    const meta = (items: { key: string; value: string; provider?: string }[] | undefined): MetadataRecord[] =>
      (items ?? []).map((m) => ({ id: this.nextMetadataId(), key: m.key, value: m.value, ...(m.provider !== undefined ? { provider: m.provider } : {}), timestamp: now }));
    p.branchMetadata = meta(seed.branchMetadata);
    for (const b of seed.buckets ?? []) {
      const [stage, name] = [b.id.split('.')[0]!, b.id.split('.')[1]!];
      if (p.buckets.some((x) => x.id === b.id)) throw badRequest(`duplicate bucket ${b.id} in seed`);
      p.buckets.push({
        id: b.id,
        stage,
        name,
        displayName: b.displayName ?? name.replace(/^c-/, ''),
        description: b.description ?? '',
        backend: b.backend ?? p.defaultBackend,
        color: b.color ?? null,
        created: now,
        lastChangeDate: null,
        updated: now,
        metadata: meta(b.metadata),
        ...(b.linkedFrom ? { linkedFrom: b.linkedFrom } : {}),
      });
    }
    const bucketOf = (tableId: string) => {
      const bucketId = tableId.split('.').slice(0, 2).join('.');
      if (!p.buckets.some((b) => b.id === bucketId)) throw badRequest(`seed table ${tableId}: bucket ${bucketId} does not exist`);
      return bucketId;
    };
    for (const t of seed.tables ?? []) {
      const typedColumns = t.typed?.columns.map((c) => ({ name: c.name, definition: { ...c.definition, nullable: c.definition.nullable ?? !(t.primaryKey ?? []).includes(c.name) }, basetype: c.basetype }));
      const table: TableRecord = {
        id: t.id,
        bucketId: bucketOf(t.id),
        name: t.id.split('.')[2]!,
        displayName: t.displayName ?? t.id.split('.')[2]!,
        primaryKey: t.primaryKey ?? [],
        columns: typedColumns ? typedColumns.map((c) => c.name) : t.columns,
        isTyped: !!typedColumns,
        ...(typedColumns ? { typedColumns } : {}),
        metadata: meta(t.metadata),
        columnMetadata: Object.fromEntries(Object.entries(t.columnMetadata ?? {}).map(([c, items]) => [c, meta(items)])),
        created: now,
        lastImportDate: null,
        lastChangeDate: null,
        rowsCount: 0,
        dataSizeBytes: 0,
      };
      for (const r of t.rows ?? []) if (r.length !== table.columns.length) throw badRequest(`seed table ${t.id}: a row has ${r.length} values, expected ${table.columns.length}`);
      const { bytes } = await writeRows(this.tablePath(p, table), t.rows ?? []);
      table.rowsCount = t.rows?.length ?? 0;
      table.dataSizeBytes = bytes;
      table.lastImportDate = table.lastChangeDate = now;
      p.buckets.find((b) => b.id === table.bucketId)!.lastChangeDate = now;
      p.tables.push(table);
    }
    for (const a of seed.aliases ?? []) {
      const source = p.tables.find((t) => t.id === a.sourceTable && !t.alias);
      if (!source) throw badRequest(`seed alias ${a.id}: source table ${a.sourceTable} does not exist`);
      const alias = this.newAlias(p, source, bucketOf(a.id), a.id.split('.')[2]!, a.aliasFilter, a.aliasColumns);
      if (a.displayName) alias.displayName = a.displayName;
      p.tables.push(alias);
      await this.refreshAliasCounts(p, source);
    }
    for (const c of seed.configurations ?? []) {
      this.requireComponent(c.componentId);
      if (p.configurations.some((x) => x.componentId === c.componentId && x.id === c.id)) throw badRequest(`duplicate configuration ${c.componentId}/${c.id} in seed`);
      const token = p.tokens[0]!;
      const config = this.newConfig(token, c.componentId, c.id, {
        name: c.name,
        description: c.description ?? '',
        configuration: c.configuration ?? {},
        state: c.state ?? {},
        isDisabled: c.isDisabled ?? false,
        changeDescription: 'Configuration created',
      });
      for (const r of c.rows ?? []) config.rows.push(this.newRow(token, r.id, { name: r.name, description: r.description ?? '', configuration: r.configuration ?? {}, state: r.state ?? {}, isDisabled: r.isDisabled ?? false, changeDescription: `Row ${r.id} added` }));
      config.rowsSortOrder = c.rowsSortOrder ?? [];
      config.metadata = meta(c.metadata);
      p.configurations.push(config);
    }
    seedLegacyServices(this, p, seed); // orchestrations and triggers (emulator/orchestrator.ts)
    this.state.projects.push(p);
    this.changed();
    return p;
  }

  // ----------------------------------------------------------------------------------------------- presenters
  stackHost(): string {
    return this.url;
  }

  componentJson(id: string, full = true): Record<string, unknown> {
    const c = this.stack.components.find((x) => x.id === id) ?? { id, type: 'other', name: id, flags: [] as string[], description: undefined, uri: undefined };
    const icon = (size: number) => `${this.url}/_services/icons/${id}-${size}.png`;
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
        definition: { type: 'aws-ecr', uri: `emulator/${c.id}`, tag: 'latest', repository: { region: this.stack.region } },
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
      uri: c.uri ?? `${this.url}/_services/syrup/docker/${c.id}`,
      dataTypesConfiguration: {},
      processorConfiguration: {},
    };
  }

  requireComponent(id: string): void {
    if (!this.stack.components.some((c) => c.id === id)) throw notFound('storage.components.notFound', `Component "${id}" not found`);
  }

  ownerJson(p: ProjectRecord): Record<string, unknown> {
    const totalRows = p.tables.filter((t) => !t.alias).reduce((s, t) => s + t.rowsCount, 0);
    const totalBytes = p.tables.filter((t) => !t.alias).reduce((s, t) => s + t.dataSizeBytes, 0);
    const has = (b: string) => p.backends.includes(b);
    const limit = (name: string, value: number) => [name, { name, value }] as const;
    return {
      name: p.name,
      id: String(p.id),
      type: 'production',
      region: this.stack.region,
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

  tokenJson(p: ProjectRecord, t: TokenRecord, verify: boolean): Record<string, unknown> {
    const base: Record<string, unknown> = {
      id: t.id,
      created: t.created,
      refreshed: t.created,
      description: t.description,
      uri: `${this.url}/v2/storage/tokens/${t.id}`,
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
      base.owner = this.ownerJson(p);
    }
    return base;
  }

  metaJson(m: MetadataRecord, withProvider: boolean): Record<string, unknown> {
    return withProvider
      ? { id: m.id, key: m.key, value: m.value, provider: m.provider ?? 'user', timestamp: m.timestamp }
      : { id: m.id, key: m.key, value: m.value, timestamp: m.timestamp };
  }

  bucketStats(p: ProjectRecord, b: BucketRecord): { rowsCount: number; dataSizeBytes: number } {
    const tables = p.tables.filter((t) => t.bucketId === b.id && !t.alias);
    return { rowsCount: tables.reduce((s, t) => s + t.rowsCount, 0), dataSizeBytes: tables.reduce((s, t) => s + t.dataSizeBytes, 0) };
  }

  bucketJson(p: ProjectRecord, b: BucketRecord, include: Set<string>, detail = false): Record<string, unknown> {
    const uri = `${this.url}/v2/storage/buckets/${b.id}`;
    const stats = this.bucketStats(p, b);
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
      const src = this.project(b.linkedFrom.projectId);
      const srcBucket = src?.buckets.find((x) => x.id === b.linkedFrom!.bucketId);
      out.sourceBucket = {
        id: b.linkedFrom.bucketId,
        name: b.linkedFrom.bucketId.split('.')[1],
        description: srcBucket?.description ?? '',
        project: { id: b.linkedFrom.projectId, name: src?.name ?? `Project ${b.linkedFrom.projectId}` },
      };
    }
    if (detail || include.has('linkedBuckets')) {
      out.linkedBy = this.state.projects.flatMap((other) =>
        other.buckets
          .filter((x) => x.linkedFrom?.projectId === p.id && x.linkedFrom.bucketId === b.id)
          .map((x) => ({ id: x.id, created: x.created, project: { id: other.id, name: other.name } })),
      );
    }
    if (detail || include.has('metadata')) out.metadata = b.metadata.map((m) => this.metaJson(m, true));
    if (detail) out.scheduledTasks = [];
    return out;
  }

  definitionJson(t: TableRecord, columns?: string[]): Record<string, unknown> | undefined {
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

  columnMetadataJson(t: TableRecord): Record<string, unknown> | [] {
    const out: Record<string, unknown[]> = {};
    // Like Keboola, a typed table reports each column's type as `storage` metadata (what backups restore types from).
    for (const column of t.typedColumns ?? []) out[column.name] = this.datatypeMetadata(t, column);
    for (const [col, items] of Object.entries(t.columnMetadata)) if (items.length) out[col] = [...(out[col] ?? []), ...items.map((m) => this.metaJson(m, true))];
    return emptyAsArray(out);
  }

  private datatypeMetadata(t: TableRecord, column: NonNullable<TableRecord['typedColumns']>[number]): Record<string, unknown>[] {
    const entries: Array<[string, string]> = [
      ['KBC.datatype.type', column.definition.type],
      ['KBC.datatype.nullable', column.definition.nullable === false ? '0' : '1'],
      ['KBC.datatype.basetype', column.basetype ?? 'STRING'],
      ...(column.definition.length !== undefined ? [['KBC.datatype.length', String(column.definition.length)] as [string, string]] : []),
      ...(column.definition.default !== undefined ? [['KBC.datatype.default', String(column.definition.default)] as [string, string]] : []),
    ];
    return entries.map(([key, value], i) => ({ id: `${t.id}.${column.name}.${i}`, key, value, provider: 'storage', timestamp: t.created }));
  }

  tableJson(p: ProjectRecord, t: TableRecord, include: Set<string>, opts: { bucket?: boolean; detail?: boolean } = {}): Record<string, unknown> {
    const uri = `${this.url}/v2/storage/tables/${t.id}`;
    const source = t.alias ? p.tables.find((x) => x.id === t.alias!.sourceTable) : undefined;
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
    const definition = source ? this.definitionJson(source, t.columns) : this.definitionJson(t);
    if (definition) out.definition = definition;
    if (t.alias && source) {
      const sourceTable: Record<string, unknown> = {
        id: source.id,
        uri: `${this.url}/v2/storage/tables/${source.id}`,
        isAlias: false,
        project: { id: p.id, name: p.name },
      };
      if (opts.detail || include.has('sourceMetadata')) sourceTable.metadata = source.metadata.map((m) => this.metaJson(m, true));
      if (opts.detail || include.has('sourceColumnMetadata') || include.has('columnMetadata')) sourceTable.columnMetadata = this.columnMetadataJson(source);
      const srcDef = this.definitionJson(source);
      if (srcDef) sourceTable.definition = srcDef;
      out.sourceTable = sourceTable;
      out.aliasColumnsAutoSync = t.alias.aliasColumnsAutoSync;
      if (t.alias.aliasFilter) out.aliasFilter = t.alias.aliasFilter;
    }
    if (opts.detail || include.has('columns')) out.columns = t.columns;
    if (opts.detail || include.has('metadata')) out.metadata = t.metadata.map((m) => this.metaJson(m, true));
    if (opts.detail || include.has('columnMetadata')) out.columnMetadata = this.columnMetadataJson(t);
    if (opts.bucket) {
      const b = p.buckets.find((x) => x.id === t.bucketId)!;
      out.bucket = this.bucketJson(p, b, new Set(opts.detail ? ['metadata'] : []));
    }
    return out;
  }

  fileJson(f: FileRecord, opts: { upload?: boolean; federation?: boolean } = {}): Record<string, unknown> {
    const objectKey = f.isSliced ? `${f.key}manifest` : f.key;
    const out: Record<string, unknown> = {
      id: f.id,
      created: f.created,
      isPublic: false,
      isSliced: f.isSliced,
      isEncrypted: true,
      name: f.name,
      fileType: /\.csv(\.gz)?$/i.test(f.name) || f.name.endsWith('.csv') ? 'csv' : 'file',
      url: this.signedUrl(this.gcsBucket, objectKey),
      provider: 'gcp',
      region: this.stack.region,
      sizeBytes: f.sizeBytes,
      tags: f.tags,
      maxAgeDays: f.isPermanent ? null : 15,
      runId: f.runId,
      runIds: f.runId ? [f.runId] : [],
      creatorToken: f.creatorToken,
    };
    const creds = { access_token: this.accessToken(f.projectId), expires_in: 3599, token_type: 'Bearer' };
    if (opts.upload) out.gcsUploadParams = { projectId: GCS_PROJECT, bucket: this.gcsBucket, key: f.key, ...creds };
    if (opts.federation) {
      out.gcsCredentials = { ...creds, projectId: GCS_PROJECT };
      out.gcsPath = { bucket: this.gcsBucket, key: objectKey };
    }
    return out;
  }

  jobJson(j: JobRecord): Record<string, unknown> {
    const { op: _op, projectId: _p, error, ...rest } = j;
    void _op;
    void _p;
    return { ...rest, url: `${this.url}/v2/storage/jobs/${j.id}`, ...(error ? { error } : {}) };
  }

  configJson(c: ConfigurationRecord, parts: { configuration?: boolean; rows?: boolean; state?: boolean } = { configuration: true, rows: true, state: true }): Record<string, unknown> {
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
    if (parts.rows) out.rows = c.rows.map((r) => this.rowJson(r));
    if (parts.state) out.state = c.state;
    out.currentVersion = c.currentVersion;
    return out;
  }

  rowJson(r: RowRecord): Record<string, unknown> {
    return { ...r };
  }

  // ----------------------------------------------------------------------------------------------- entity helpers
  bucket(p: ProjectRecord, id: string): BucketRecord {
    const b = p.buckets.find((x) => x.id === id);
    if (!b) throw notFound('storage.buckets.notFound', `Bucket ${id} not found`);
    return b;
  }

  table(p: ProjectRecord, id: string): TableRecord {
    const t = p.tables.find((x) => x.id === id);
    if (!t) {
      const bucketId = id.split('.').slice(0, 2).join('.');
      throw notFound('storage.tables.notFound', `The table "${id.split('.')[2] ?? id}" was not found in the bucket "${bucketId}" in the project "${p.id}"`);
    }
    return t;
  }

  checkBranch(p: ProjectRecord, branchId: string | undefined): void {
    if (branchId === undefined || branchId === 'default' || branchId === String(p.defaultBranchId)) return;
    throw notFound('storage.devBranches.notFound', `Branch "${branchId}" not found`);
  }

  config(p: ProjectRecord, componentId: string, configId: string, allowDeleted = false): ConfigurationRecord {
    const c = p.configurations.find((x) => x.componentId === componentId && x.id === configId && (allowDeleted || !x.isDeleted));
    if (!c) throw notFound('storage.configuration.notFound', `Configuration "${configId}" not found`);
    return c;
  }

  row(c: ConfigurationRecord, rowId: string): RowRecord {
    const r = c.rows.find((x) => x.id === rowId);
    if (!r) throw notFound('storage.configurationRow.notFound', `Row "${rowId}" not found`);
    return r;
  }

  versionId(): string {
    return `01EMU${Date.now().toString(36).toUpperCase()}${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
  }

  newConfig(
    token: TokenRecord,
    componentId: string,
    id: string,
    v: { name: string; description: string; configuration: Record<string, unknown>; state: Record<string, unknown>; isDisabled: boolean; changeDescription: string },
  ): ConfigurationRecord {
    const now = ts();
    const creator = this.creator(token);
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
      currentVersion: { created: now, creatorToken: creator, changeDescription: v.changeDescription, versionIdentifier: this.versionId() },
      metadata: [],
    };
  }

  newRow(
    token: TokenRecord,
    id: string,
    v: { name: string; description: string; configuration: Record<string, unknown>; state: Record<string, unknown>; isDisabled: boolean; changeDescription: string | null },
  ): RowRecord {
    return { id, name: v.name, description: v.description, configuration: v.configuration, state: v.state, isDisabled: v.isDisabled, version: 1, created: ts(), creatorToken: this.creator(token), changeDescription: v.changeDescription, versionIdentifier: this.versionId() };
  }

  bumpConfig(c: ConfigurationRecord, token: TokenRecord, changeDescription: string): void {
    c.version++;
    c.changeDescription = changeDescription;
    c.currentVersion = { created: ts(), creatorToken: this.creator(token), changeDescription, versionIdentifier: this.versionId() };
  }

  newAlias(p: ProjectRecord, source: TableRecord, bucketId: string, name: string, filter: AliasFilter | undefined, aliasColumns: string[] | undefined): TableRecord {
    const id = `${bucketId}.${name}`;
    if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${name}" already exists in bucket "${bucketId}"`, 'storage.tables.alreadyExists');
    const columns = aliasColumns?.length ? aliasColumns : source.columns;
    const missing = columns.filter((c) => !source.columns.includes(c));
    if (missing.length) throw badRequest(`Alias columns not found in the source table: ${missing.join(', ')}`, 'storage.tables.columnNotFound');
    if (filter && !source.columns.includes(filter.column)) throw badRequest(`Filter column "${filter.column}" not found in the source table`, 'storage.tables.columnNotFound');
    const now = ts();
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

  aliasView(p: ProjectRecord, alias: TableRecord, columns?: string[], extraFilters: AliasFilter[] = [], limit: number | null = null): { path: string; spec: ViewSpec } {
    const source = this.table(p, alias.alias!.sourceTable);
    return {
      path: this.tablePath(p, source),
      spec: { dataColumns: source.columns, columns: columns?.length ? columns : alias.columns, filters: [...(alias.alias!.aliasFilter ? [alias.alias!.aliasFilter] : []), ...extraFilters], limit },
    };
  }

  async refreshAliasCounts(p: ProjectRecord, source: TableRecord): Promise<void> {
    for (const alias of p.tables.filter((t) => t.alias?.sourceTable === source.id)) {
      if (alias.alias!.aliasColumnsAutoSync) alias.columns = [...source.columns];
      if (!alias.alias!.aliasFilter) {
        alias.rowsCount = source.rowsCount;
      } else {
        const { path, spec } = this.aliasView(p, alias);
        alias.rowsCount = await countView(path, spec);
      }
      alias.dataSizeBytes = source.dataSizeBytes;
    }
  }

  fileRecord(p: ProjectRecord, id: number): FileRecord {
    const f = this.state.files.find((x) => x.id === id && x.projectId === p.id);
    if (!f) throw notFound('storage.files.notFound', `File ${id} not found`);
    return f;
  }

  async filePaths(f: FileRecord): Promise<string[]> {
    if (!f.isSliced) {
      const path = this.objectPath(this.gcsBucket, f.key);
      if (!existsSync(path)) throw jobError('storage.files.notUploaded', `File ${f.id} was not uploaded`);
      return [path];
    }
    const manifestPath = this.objectPath(this.gcsBucket, `${f.key}manifest`);
    if (!existsSync(manifestPath)) throw jobError('storage.files.manifestMissing', `Manifest of sliced file ${f.id} was not uploaded`);
    let manifest: { entries?: { url?: string }[] };
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as typeof manifest;
    } catch {
      throw jobError('storage.files.invalidManifest', `Manifest of file ${f.id} is not valid JSON`);
    }
    const paths: string[] = [];
    for (const e of manifest.entries ?? []) {
      const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(e.url ?? '');
      if (!m) throw jobError('storage.files.invalidManifest', `Invalid manifest entry ${e.url}`);
      if (!m[2]!.startsWith(`exp-15/${f.projectId}/`)) throw jobError('storage.files.invalidManifest', `Manifest entry ${e.url} is outside of the project`);
      const path = this.objectPath(m[1]!, m[2]!);
      if (!existsSync(path)) throw jobError('storage.files.sliceMissing', `Slice ${e.url} was not uploaded`);
      paths.push(path);
    }
    return paths;
  }

  newFile(p: ProjectRecord, token: TokenRecord, v: { name: string; isSliced: boolean; isPermanent: boolean; sizeBytes: number | null; tags: string[]; runId: string | null }): FileRecord {
    const id = this.state.nextId.file++;
    const d = new Date();
    const safe = v.name.replace(/[^A-Za-z0-9._-]/g, '_') || 'file';
    const key = `exp-15/${p.id}/files/${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${id}.${safe}`;
    const f: FileRecord = { id, projectId: p.id, name: v.name, key, created: ts(), isSliced: v.isSliced, isPermanent: v.isPermanent, sizeBytes: v.sizeBytes, tags: v.tags, creatorToken: this.creator(token), runId: v.runId };
    this.state.files.push(f);
    this.changed();
    return f;
  }

  // ----------------------------------------------------------------------------------------------- jobs
  createJob(p: ProjectRecord, token: TokenRecord, op: JobOp, operationName: string, operationParams: Record<string, unknown>, tableId: string | null, runId: string | null): JobRecord {
    const job: JobRecord = {
      id: this.state.nextId.job++,
      projectId: p.id,
      status: 'waiting',
      tableId,
      operationName,
      operationParams,
      createdTime: ts(),
      startTime: null,
      endTime: null,
      runId,
      results: null,
      creatorToken: { id: token.id, description: token.description, name: token.description },
      metrics: { inCompressed: false, inBytes: 0, inBytesUncompressed: 0, outCompressed: false, outBytes: 0, outBytesUncompressed: 0 },
      op,
    };
    this.state.jobs.push(job);
    if (this.state.jobs.length > 5000) this.state.jobs.splice(0, this.state.jobs.length - 5000);
    this.changed();
    this.scheduleJob(job);
    return job;
  }

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closing) fn();
    }, ms);
    this.timers.add(t);
  }

  scheduleJob(job: JobRecord): void {
    const started = Date.now();
    this.later(Math.max(1, Math.floor(this.jobDelayMs / 3)), () => {
      job.status = 'processing';
      job.startTime = ts();
      this.changed();
      const run = this.runJob(job)
        .then(
          (results) => ({ ok: true as const, results }),
          (e: unknown) => ({ ok: false as const, e }),
        )
        .then((outcome) => {
          const bytes = job.metrics.inBytes + job.metrics.outBytes;
          const target = this.jobDelayMs * (1 + Math.min(bytes / (50 * 1024 * 1024), 20));
          const finish = () => {
            job.endTime = ts();
            if (outcome.ok) {
              job.status = 'success';
              job.results = outcome.results;
            } else {
              const err = outcome.e;
              job.status = 'error';
              job.results = null;
              job.error =
                err instanceof ApiError
                  ? { code: err.code, message: err.message, exceptionId: `job-${job.id}` }
                  : { code: 'storage.jobs.internalError', message: (err as Error)?.message ?? String(err), exceptionId: `job-${job.id}` };
            }
            this.changed();
          };
          const rest = target - (Date.now() - started);
          if (rest > 0 && !this.closing) this.later(rest, finish);
          else if (!this.closing) finish();
        });
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    });
  }

  async runJob(job: JobRecord): Promise<Record<string, unknown> | null> {
    const p = this.project(job.projectId);
    if (!p) throw jobError('storage.projects.notFound', 'Project no longer exists');
    const op = job.op;
    const token = p.tokens.find((t) => t.id === job.creatorToken.id) ?? p.tokens[0]!;
    switch (op.kind) {
      case 'tableCreate':
        return this.withLock(`${p.id}:${op.bucketId}.${op.name}`, async () => {
          const b = this.bucket(p, op.bucketId);
          const id = `${b.id}.${op.name}`;
          if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${op.name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
          const file = this.fileRecord(p, op.fileId);
          const sources = await this.filePaths(file);
          const now = ts();
          const table: TableRecord = { id, bucketId: b.id, name: op.name, displayName: op.name, primaryKey: [], columns: [], isTyped: false, metadata: [], columnMetadata: {}, created: now, lastImportDate: now, lastChangeDate: now, rowsCount: 0, dataSizeBytes: 0 };
          const pk = op.primaryKey.map(sanitizeColumnName);
          const r = await importFiles(sources, this.tablePath(p, table), { tableColumns: [], primaryKey: pk, incremental: false, hasHeader: true, defineColumns: true });
          const badPk = pk.filter((c) => !r.columns.includes(c));
          if (badPk.length) {
            await rm(this.tablePath(p, table), { force: true });
            throw badRequest(`Primary key columns not found: ${badPk.join(', ')}`, 'storage.tables.invalidPrimaryKeyColumns');
          }
          Object.assign(table, { columns: r.columns, primaryKey: pk, rowsCount: r.rowsCount, dataSizeBytes: r.dataSizeBytes });
          if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${op.name}" already exists`, 'storage.tables.alreadyExists');
          p.tables.push(table);
          b.lastChangeDate = now;
          job.tableId = id;
          job.metrics.inBytes = r.inBytes;
          this.changed();
          return { id };
        });
      case 'tableDefinitionCreate': {
        const b = this.bucket(p, op.bucketId);
        const id = `${b.id}.${op.name}`;
        if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${op.name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
        const now = ts();
        const typed = op.columns.some((c) => c.definition.type || c.basetype);
        const table: TableRecord = {
          id,
          bucketId: b.id,
          name: op.name,
          displayName: op.name,
          primaryKey: op.primaryKey,
          columns: op.columns.map((c) => c.name),
          isTyped: typed,
          ...(typed ? { typedColumns: op.columns } : {}),
          metadata: [],
          columnMetadata: {},
          created: now,
          lastImportDate: null,
          lastChangeDate: now,
          rowsCount: 0,
          dataSizeBytes: 0,
        };
        await writeRows(this.tablePath(p, table), []);
        p.tables.push(table);
        b.lastChangeDate = now;
        job.tableId = id;
        this.changed();
        return { id };
      }
      case 'tableImport':
        return this.withLock(`${p.id}:${op.tableId}`, async () => {
          const t = this.table(p, op.tableId);
          if (t.alias) throw badRequest('Cannot import data into an alias table', 'storage.tables.aliasImportNotAllowed');
          const file = this.fileRecord(p, op.fileId);
          const sources = await this.filePaths(file);
          const hasHeader = !op.withoutHeaders && op.columns.length === 0;
          const r = await importFiles(sources, this.tablePath(p, t), { tableColumns: t.columns, primaryKey: t.primaryKey, incremental: op.incremental, hasHeader, fileColumns: op.columns });
          const now = ts();
          Object.assign(t, { rowsCount: r.rowsCount, dataSizeBytes: r.dataSizeBytes, lastImportDate: now, lastChangeDate: now });
          this.bucket(p, t.bucketId).lastChangeDate = now;
          await this.refreshAliasCounts(p, t);
          job.metrics.inBytes = r.inBytes;
          job.metrics.inBytesUncompressed = r.inBytes;
          this.changed();
          return { importedColumns: r.columns, warnings: [], totalRowsCount: r.rowsCount, totalDataSizeBytes: r.dataSizeBytes, importedRowsCount: r.importedRows, transaction: null };
        });
      case 'tableExport':
        return this.withLock(`${p.id}:${op.tableId}`, async () => {
          const t = this.table(p, op.tableId);
          let view: { path: string; spec: ViewSpec };
          if (t.alias) view = this.aliasView(p, t, op.columns, op.whereFilters, op.limit);
          else view = { path: this.tablePath(p, t), spec: { dataColumns: t.columns, columns: op.columns.length ? op.columns : t.columns, filters: op.whereFilters, limit: op.limit } };
          const file = this.newFile(p, token, { name: `${t.id}.csv.gz`, isSliced: true, isPermanent: false, sizeBytes: null, tags: ['storage-merged-export', `table-export`], runId: job.runId });
          const r = await exportSlices(view.path, view.spec, this.sliceRows, async (suffix) => {
            const path = this.objectPath(this.gcsBucket, `${file.key}${suffix}`);
            await mkdir(dirname(path), { recursive: true });
            return path;
          });
          const manifest = { entries: r.suffixes.map((s) => ({ url: `gs://${this.gcsBucket}/${file.key}${s}` })) };
          const manifestPath = this.objectPath(this.gcsBucket, `${file.key}manifest`);
          await writeAtomic(manifestPath, JSON.stringify(manifest));
          file.sizeBytes = r.bytes;
          job.metrics.outCompressed = true;
          job.metrics.outBytes = r.bytes;
          job.metrics.outBytesUncompressed = r.uncompressedBytes;
          this.changed();
          return { file: { id: file.id }, cacheHit: false };
        });
      case 'tablePrimaryKeyAdd': {
        const t = this.table(p, op.tableId);
        if (t.alias) throw badRequest('Cannot change the primary key of an alias', 'storage.tables.aliasNotAllowed');
        if (t.primaryKey.length) throw badRequest(`Table ${t.id} already has a primary key; remove it first`, 'storage.tables.primaryKeyAlreadyExists');
        const missing = op.columns.filter((c) => !t.columns.includes(c));
        if (missing.length) throw badRequest(`Primary key columns not found: ${missing.join(', ')}`, 'storage.tables.invalidPrimaryKeyColumns');
        t.primaryKey = [...op.columns];
        if (t.typedColumns) for (const c of t.typedColumns) if (op.columns.includes(c.name)) c.definition.nullable = false;
        this.changed();
        return null;
      }
      case 'tablePrimaryKeyDelete': {
        const t = this.table(p, op.tableId);
        t.primaryKey = [];
        this.changed();
        return null;
      }
      case 'tableDrop':
        this.dropTable(p, op.tableId, op.force);
        return null;
      case 'bucketDelete':
        this.dropBucket(p, op.bucketId, op.force);
        return null;
      case 'tableUpdate': {
        const t = this.table(p, op.tableId);
        t.displayName = op.displayName;
        this.changed();
        return null;
      }
    }
  }

  dropTable(p: ProjectRecord, tableId: string, force: boolean): void {
    const t = this.table(p, tableId);
    const aliases = p.tables.filter((x) => x.alias?.sourceTable === t.id);
    if (aliases.length && !force) throw badRequest(`The table ${t.id} has aliases: ${aliases.map((a) => a.id).join(', ')}. Use force to drop them too.`, 'storage.tables.cannotDeleteTableWithAliases');
    for (const x of [...aliases, t]) {
      p.tables = p.tables.filter((y) => y !== x);
      if (!x.alias) void rm(this.tablePath(p, x), { force: true });
    }
    this.bucket(p, t.bucketId).lastChangeDate = ts();
    this.changed();
  }

  dropBucket(p: ProjectRecord, bucketId: string, force: boolean): void {
    const b = this.bucket(p, bucketId);
    const tables = p.tables.filter((t) => t.bucketId === b.id);
    if (tables.length && !force) throw badRequest(`Bucket ${b.id} is not empty. Use force to drop it with its tables.`, 'buckets.deleteNotEmpty');
    const external = p.tables.filter((a) => a.alias && a.bucketId !== b.id && tables.some((t) => t.id === a.alias!.sourceTable));
    if (external.length) throw badRequest(`Tables of bucket ${b.id} have aliases in other buckets: ${external.map((a) => a.id).join(', ')}`, 'storage.buckets.tablesHaveAliases');
    for (const t of tables.filter((x) => x.alias)) this.dropTable(p, t.id, true);
    for (const t of tables.filter((x) => !x.alias)) if (p.tables.includes(t)) this.dropTable(p, t.id, true);
    p.buckets = p.buckets.filter((x) => x !== b);
    this.changed();
  }

  // ----------------------------------------------------------------------------------------------- metadata helpers
  upsertMetadata(list: MetadataRecord[], items: unknown, provider: string | undefined): MetadataRecord[] {
    const arr = Array.isArray(items) ? items : items && typeof items === 'object' ? Object.values(items) : null;
    if (!arr || !arr.length) throw badRequest('Parameter "metadata" is required and must be a non-empty array', 'storage.metadata.invalid');
    const now = ts();
    const touched: MetadataRecord[] = [];
    for (const item of arr) {
      const key = str((item as Record<string, unknown>)?.key);
      const value = (item as Record<string, unknown>)?.value;
      if (!key) throw badRequest('Metadata key is required', 'storage.metadata.invalidKey');
      if (value === undefined || value === null) throw badRequest(`Metadata value for key "${key}" is required`, 'storage.metadata.invalidValue');
      const existing = list.find((m) => m.key === key && m.provider === provider);
      if (existing) {
        existing.value = String(value);
        existing.timestamp = now;
        touched.push(existing);
      } else {
        const m: MetadataRecord = { id: this.nextMetadataId(), key, value: String(value), ...(provider !== undefined ? { provider } : {}), timestamp: now };
        list.push(m);
        touched.push(m);
      }
    }
    this.changed();
    return touched;
  }

  // ----------------------------------------------------------------------------------------------- routes
  private registerRoutes(): void {
    const r = this.router;
    const S = '/v2/storage';
    const include = (ctx: { url: URL }) => new Set(strList(ctx.url.searchParams.get('include')));
    const runId = (ctx: Ctx) => str(ctx.req.headers['x-kbc-runid']) ?? null;

    // --- index (public)
    this.publicRouter.add('GET', S, (ctx) => {
      const exclude = new Set(strList(ctx.url.searchParams.get('exclude')));
      const service = (id: string) => ({ id, url: `${this.url}/_services/${id}` });
      const out: Record<string, unknown> = {
        api: 'storage',
        documentation: 'https://keboola.docs.apiary.io/',
        version: 'v2',
      };
      if (!exclude.has('components')) out.components = this.stack.components.map((c) => this.componentJson(c.id, !exclude.has('componentDetails')));
      out.services = ['docker-runner', 'import', 'syrup', 'queue', 'orchestrator', 'encryption', 'oauth', 'sandboxes', 'scheduler', 'sync-actions', ...this.serviceIds.filter((id) => id !== 'encryption')].map(service);
      out.features = this.stack.features ?? [];
      out.urlTemplates = { orchestrationJob: '/admin/projects/&&projectId&&/orchestrations/&&orchestrationId&&/jobs/&&jobId&&' };
      out.stack = { name: this.stack.name ?? null, region: this.stack.region, snowflakeHost: this.stack.snowflakeHost, outboundIpAddresses: this.stack.outboundIpAddresses };
      return reply(200, out);
    });
    this.publicRouter.add('GET', `${S}/components/{componentId}`, (_ctx, prm) => {
      this.requireComponent(prm.componentId!);
      return reply(200, this.componentJson(prm.componentId!));
    });

    // --- tokens
    const verify = (ctx: Ctx) => reply(200, this.tokenJson(ctx.project, ctx.token, true));
    r.add('GET', `${S}/tokens/verify`, verify);
    r.add('GET', `${S}/branch/{branchId}/tokens/verify`, (ctx, prm) => (this.checkBranch(ctx.project, prm.branchId), verify(ctx)));

    // --- branches
    const branchJson = (p: ProjectRecord) => ({ id: p.defaultBranchId, name: 'Main', description: '', created: p.branchCreated, isDefault: true, creatorToken: [] });
    r.add('GET', `${S}/dev-branches`, (ctx) => reply(200, [branchJson(ctx.project)]));
    r.add('GET', `${S}/dev-branches/{branchId}`, (ctx, prm) => (this.checkBranch(ctx.project, prm.branchId), reply(200, branchJson(ctx.project))));
    r.add('GET', `${S}/branch/{branchId}/metadata`, (ctx, prm) => {
      this.checkBranch(ctx.project, prm.branchId);
      return reply(200, ctx.project.branchMetadata.map((m) => this.metaJson(m, false)));
    });
    r.add('POST', `${S}/branch/{branchId}/metadata`, async (ctx, prm) => {
      this.checkBranch(ctx.project, prm.branchId);
      const body = await ctx.body();
      this.upsertMetadata(ctx.project.branchMetadata, body.metadata, undefined);
      return reply(201, ctx.project.branchMetadata.map((m) => this.metaJson(m, false)));
    });
    r.add('DELETE', `${S}/branch/{branchId}/metadata/{metadataId}`, (ctx, prm) => {
      this.checkBranch(ctx.project, prm.branchId);
      const before = ctx.project.branchMetadata.length;
      ctx.project.branchMetadata = ctx.project.branchMetadata.filter((m) => m.id !== prm.metadataId);
      if (before === ctx.project.branchMetadata.length) throw notFound('storage.metadata.notFound', `Metadata ${prm.metadataId} not found`);
      this.changed();
      return reply(204);
    });

    // --- buckets
    r.add('GET', `${S}/buckets`, (ctx) => {
      const inc = include(ctx);
      return reply(200, ctx.project.buckets.map((b) => this.bucketJson(ctx.project, b, inc)));
    });
    r.add('POST', `${S}/buckets`, async (ctx) => {
      const body = await ctx.body();
      const p = ctx.project;
      if (!ctx.token.canManageBuckets) throw new ApiError(403, 'accessDenied', 'You do not have permission to create buckets');
      if (body.sourceProjectId !== undefined || body.sourceBucketId !== undefined) throw badRequest('Linking shared buckets is not supported by the emulator', 'storage.buckets.linkNotSupported');
      const rawName = str(body.name);
      if (!rawName) throw badRequest('Parameter "name" is required', 'storage.buckets.validation');
      const name = rawName.replace(/^c-/, '');
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw badRequest(`Invalid bucket name "${rawName}": only alphanumeric characters, dashes and underscores are allowed`, 'storage.buckets.validation');
      const stage = str(body.stage) ?? 'in';
      if (!['in', 'out'].includes(stage)) throw badRequest(`Invalid stage "${stage}"`, 'storage.buckets.validation');
      const id = `${stage}.c-${name}`;
      if (p.buckets.some((b) => b.id === id)) throw badRequest(`The bucket "c-${name}" already exists in stage "${stage}".`, 'storage.buckets.alreadyExists');
      const backend = str(body.backend) ?? p.defaultBackend;
      if (!p.backends.includes(backend)) throw badRequest(`Backend "${backend}" is not assigned to the project`, 'storage.buckets.backendNotAllowed');
      const displayName = str(body.displayName) ?? name;
      if (p.buckets.some((b) => b.stage === stage && b.displayName === displayName)) throw badRequest(`The bucket with display name "${displayName}" already exists in stage "${stage}".`, 'storage.buckets.alreadyExists');
      const now = ts();
      const b: BucketRecord = { id, stage, name: `c-${name}`, displayName, description: str(body.description) ?? '', backend, color: str(body.color) ?? null, created: now, lastChangeDate: null, updated: now, metadata: [] };
      p.buckets.push(b);
      this.changed();
      return reply(201, this.bucketJson(p, b, new Set()));
    });
    r.add('GET', `${S}/buckets/{bucketId}`, (ctx, prm) => reply(200, this.bucketJson(ctx.project, this.bucket(ctx.project, prm.bucketId!), include(ctx), true)));
    r.add('PUT', `${S}/buckets/{bucketId}`, async (ctx, prm) => {
      const b = this.bucket(ctx.project, prm.bucketId!);
      const body = await ctx.body();
      if (body.displayName !== undefined) b.displayName = String(body.displayName);
      if (body.description !== undefined) b.description = String(body.description);
      if (body.color !== undefined) b.color = body.color === null ? null : String(body.color);
      b.updated = ts();
      this.changed();
      return reply(200, this.bucketJson(ctx.project, b, new Set(), true));
    });
    r.add('DELETE', `${S}/buckets/{bucketId}`, (ctx, prm) => {
      const p = ctx.project;
      const b = this.bucket(p, prm.bucketId!);
      const force = bool(ctx.url.searchParams.get('force'));
      if (bool(ctx.url.searchParams.get('async'))) {
        const job = this.createJob(p, ctx.token, { kind: 'bucketDelete', bucketId: b.id, force }, 'bucketDelete', { params: { idBucket: b.id, force } }, null, runId(ctx));
        return reply(202, this.jobJson(job));
      }
      this.dropBucket(p, b.id, force);
      return reply(204);
    });
    const metaRoutes = (base: string, list: (ctx: Ctx, prm: Record<string, string>) => MetadataRecord[], set: (ctx: Ctx, prm: Record<string, string>, l: MetadataRecord[]) => void) => {
      r.add('GET', base, (ctx, prm) => reply(200, list(ctx, prm).map((m) => this.metaJson(m, true))));
      r.add('POST', base, async (ctx, prm) => {
        const body = await ctx.body();
        const provider = str(body.provider);
        if (!provider) throw badRequest('Parameter "provider" is required', 'storage.metadata.invalidProvider');
        const l = list(ctx, prm);
        this.upsertMetadata(l, body.metadata, provider);
        return reply(201, l.map((m) => this.metaJson(m, true)));
      });
      r.add('DELETE', `${base}/{metadataId}`, (ctx, prm) => {
        const l = list(ctx, prm);
        if (!l.some((m) => m.id === prm.metadataId)) throw notFound('storage.metadata.notFound', `Metadata ${prm.metadataId} not found`);
        set(ctx, prm, l.filter((m) => m.id !== prm.metadataId));
        this.changed();
        return reply(204);
      });
    };
    metaRoutes(
      `${S}/buckets/{bucketId}/metadata`,
      (ctx, prm) => this.bucket(ctx.project, prm.bucketId!).metadata,
      (ctx, prm, l) => (this.bucket(ctx.project, prm.bucketId!).metadata = l),
    );

    // --- tables
    r.add('GET', `${S}/tables`, (ctx) => {
      const inc = include(ctx);
      if (!ctx.url.searchParams.has('include')) inc.add('metadata');
      const withBucket = inc.has('buckets') || inc.has('bucketsWithoutSourceTables');
      return reply(200, ctx.project.tables.map((t) => this.tableJson(ctx.project, t, inc, { bucket: withBucket })));
    });
    r.add('GET', `${S}/buckets/{bucketId}/tables`, (ctx, prm) => {
      const b = this.bucket(ctx.project, prm.bucketId!);
      const inc = include(ctx);
      if (!ctx.url.searchParams.has('include')) inc.add('metadata');
      return reply(200, ctx.project.tables.filter((t) => t.bucketId === b.id).map((t) => this.tableJson(ctx.project, t, inc)));
    });
    const tableName = (v: unknown) => {
      const name = str(v);
      if (!name) throw badRequest('Parameter "name" is required', 'storage.tables.validation');
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw badRequest(`Invalid table name "${name}": only alphanumeric characters, dashes and underscores are allowed`, 'storage.tables.validation');
      return name;
    };
    r.add('POST', `${S}/buckets/{bucketId}/tables-async`, async (ctx, prm) => {
      const p = ctx.project;
      const b = this.bucket(p, prm.bucketId!);
      if (b.linkedFrom) throw badRequest(`Bucket ${b.id} is read-only`, 'storage.buckets.readOnly');
      const body = await ctx.body();
      const name = tableName(body.name);
      if (p.tables.some((t) => t.id === `${b.id}.${name}`)) throw badRequest(`Table "${name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
      const fileId = Number(body.dataFileId);
      if (!Number.isFinite(fileId) || body.dataFileId === undefined) throw badRequest('Parameter "dataFileId" is required (workspace, snapshot and time-travel sources are not emulated)', 'storage.tables.validation');
      this.fileRecord(p, fileId);
      const primaryKey = strList(body.primaryKey);
      const job = this.createJob(
        p,
        ctx.token,
        { kind: 'tableCreate', bucketId: b.id, name, fileId, primaryKey },
        'tableCreate',
        { name, params: { primaryKey: primaryKey.join(','), delimiter: str(body.delimiter) ?? ',', enclosure: str(body.enclosure) ?? '"', escapedBy: str(body.escapedBy) ?? '' }, source: { fileId: String(fileId), type: 'file' } },
        null,
        runId(ctx),
      );
      return reply(202, this.jobJson(job));
    });
    r.add('POST', `${S}/buckets/{bucketId}/tables-definition`, async (ctx, prm) => {
      const p = ctx.project;
      const b = this.bucket(p, prm.bucketId!);
      const body = await ctx.body();
      const name = tableName(body.name);
      if (p.tables.some((t) => t.id === `${b.id}.${name}`)) throw badRequest(`Table "${name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
      const rawCols = Array.isArray(body.columns) ? body.columns : body.columns && typeof body.columns === 'object' ? Object.values(body.columns) : [];
      if (!rawCols.length) throw badRequest('Parameter "columns" is required', 'storage.tables.validation');
      const primaryKey = strList(body.primaryKeysNames);
      const columns: TypedColumn[] = rawCols.map((c) => {
        const col = c as Record<string, unknown>;
        const colName = str(col.name);
        if (!colName) throw badRequest('Every column needs a name', 'storage.tables.validation');
        const def = (col.definition ?? {}) as Record<string, unknown>;
        const basetype = str(col.basetype) ?? '';
        const type = str(def.type) ?? basetype;
        return {
          name: colName,
          definition: {
            type,
            nullable: def.nullable === undefined ? !primaryKey.includes(colName) : bool(def.nullable),
            ...(def.length !== undefined ? { length: String(def.length) } : {}),
            ...(def.default !== undefined ? { default: String(def.default) } : {}),
          },
          basetype: basetype || baseTypeOf(type),
        };
      });
      const names = columns.map((c) => c.name);
      if (new Set(names).size !== names.length) throw badRequest('Duplicate column names', 'storage.tables.validation');
      const badPk = primaryKey.filter((c) => !names.includes(c));
      if (badPk.length) throw badRequest(`Primary key columns not found: ${badPk.join(', ')}`, 'storage.tables.invalidPrimaryKeyColumns');
      const job = this.createJob(
        p,
        ctx.token,
        { kind: 'tableDefinitionCreate', bucketId: b.id, name, primaryKey, columns },
        'tableDefinitionCreate',
        { name, primaryKeysNames: primaryKey, columns: columns.map((c) => ({ name: c.name, definition: c.definition, basetype: c.basetype })), queue: 'main' },
        null,
        runId(ctx),
      );
      return reply(202, this.jobJson(job));
    });
    r.add('GET', `${S}/tables/{tableId}`, (ctx, prm) => reply(200, this.tableJson(ctx.project, this.table(ctx.project, prm.tableId!), include(ctx), { bucket: true, detail: true })));
    r.add('PUT', `${S}/tables/{tableId}`, async (ctx, prm) => {
      const t = this.table(ctx.project, prm.tableId!);
      const body = await ctx.body();
      const displayName = str(body.displayName);
      if (!displayName) throw badRequest('Parameter "displayName" is required', 'storage.tables.validation');
      if (ctx.project.tables.some((x) => x !== t && x.bucketId === t.bucketId && x.displayName === displayName))
        throw badRequest(`Table with display name "${displayName}" already exists in bucket "${t.bucketId}"`, 'storage.tables.alreadyExists');
      if (bool(ctx.url.searchParams.get('async'))) {
        const job = this.createJob(ctx.project, ctx.token, { kind: 'tableUpdate', tableId: t.id, displayName }, 'tableUpdate', { values: { displayName } }, t.id, runId(ctx));
        return reply(202, this.jobJson(job));
      }
      t.displayName = displayName;
      this.changed();
      return reply(200, this.tableJson(ctx.project, t, new Set(), { bucket: true, detail: true }));
    });
    r.add('DELETE', `${S}/tables/{tableId}`, (ctx, prm) => {
      const t = this.table(ctx.project, prm.tableId!);
      const force = bool(ctx.url.searchParams.get('force'));
      if (bool(ctx.url.searchParams.get('async'))) {
        const job = this.createJob(ctx.project, ctx.token, { kind: 'tableDrop', tableId: t.id, force }, 'tableDrop', { force: String(force) }, t.id, runId(ctx));
        return reply(202, this.jobJson(job));
      }
      this.dropTable(ctx.project, t.id, force);
      return reply(204);
    });
    r.add('POST', `${S}/tables/{tableId}/import-async`, async (ctx, prm) => {
      const p = ctx.project;
      const t = this.table(p, prm.tableId!);
      if (t.alias) throw badRequest('Cannot import data into an alias table', 'storage.tables.aliasImportNotAllowed');
      const body = await ctx.body();
      if (body.dataFileId === undefined) throw badRequest('Parameter "dataFileId" is required (workspace sources are not emulated)', 'storage.tables.validation');
      const fileId = Number(body.dataFileId);
      this.fileRecord(p, fileId);
      const incremental = bool(body.incremental);
      const withoutHeaders = bool(body.withoutHeaders);
      const columns = strList(body.columns);
      const job = this.createJob(
        p,
        ctx.token,
        { kind: 'tableImport', tableId: t.id, fileId, incremental, withoutHeaders, columns },
        'tableImport',
        { params: { incremental, source: [], withoutHeaders, columns, delimiter: str(body.delimiter) ?? ',', enclosure: str(body.enclosure) ?? '"' }, source: { fileId, type: 'file' }, queue: 'main_fast' },
        t.id,
        runId(ctx),
      );
      return reply(202, this.jobJson(job));
    });
    r.add('POST', `${S}/tables/{tableId}/export-async`, async (ctx, prm) => {
      const p = ctx.project;
      const t = this.table(p, prm.tableId!);
      const body = await ctx.body();
      const columns = strList(body.columns);
      const available = t.columns;
      const missing = columns.filter((c) => !available.includes(c));
      if (missing.length) throw badRequest(`Columns not found in table ${t.id}: ${missing.join(', ')}`, 'storage.tables.columnNotFound');
      const limit = body.limit === undefined || body.limit === null || body.limit === '' ? null : Number(body.limit);
      const whereFilters: AliasFilter[] = [];
      const wf = Array.isArray(body.whereFilters) ? body.whereFilters : body.whereFilters && typeof body.whereFilters === 'object' ? Object.values(body.whereFilters) : [];
      for (const f of wf as Record<string, unknown>[]) {
        const op = str(f.operator) ?? 'eq';
        if (op !== 'eq' && op !== 'ne') throw badRequest(`Operator "${op}" is not supported by the emulator (eq, ne only)`, 'storage.tables.validation');
        whereFilters.push({ column: String(f.column), operator: op, values: strList(f.values) });
      }
      if (body.whereColumn) whereFilters.push({ column: String(body.whereColumn), operator: str(body.whereOperator) === 'ne' ? 'ne' : 'eq', values: strList(body.whereValues) });
      for (const f of whereFilters) if (!available.includes(f.column)) throw badRequest(`Filter column "${f.column}" not found`, 'storage.tables.columnNotFound');
      const job = this.createJob(
        p,
        ctx.token,
        { kind: 'tableExport', tableId: t.id, columns, limit, whereFilters },
        'tableExport',
        { export: { tableName: null, columns, limit, changedSince: null, changedUntil: null, gzipOutput: true, format: 'rfc', whereFilters, fileType: 'csv', timezone: null }, queue: 'main_fast' },
        t.id,
        runId(ctx),
      );
      return reply(202, this.jobJson(job));
    });
    r.add('POST', `${S}/tables/{tableId}/primary-key`, async (ctx, prm) => {
      const t = this.table(ctx.project, prm.tableId!);
      const body = await ctx.body();
      const columns = strList(body.columns);
      if (!columns.length) throw badRequest('Parameter "columns" is required', 'storage.tables.validation');
      const job = this.createJob(ctx.project, ctx.token, { kind: 'tablePrimaryKeyAdd', tableId: t.id, columns }, 'tablePrimaryKeyAdd', { columns, skipDuplicatesCheck: bool(body.skipDuplicatesCheck) }, t.id, runId(ctx));
      return reply(202, this.jobJson(job));
    });
    r.add('DELETE', `${S}/tables/{tableId}/primary-key`, (ctx, prm) => {
      const t = this.table(ctx.project, prm.tableId!);
      const job = this.createJob(ctx.project, ctx.token, { kind: 'tablePrimaryKeyDelete', tableId: t.id }, 'tablePrimaryKeyDelete', {}, t.id, runId(ctx));
      return reply(202, this.jobJson(job));
    });
    r.add('POST', `${S}/buckets/{bucketId}/table-aliases`, async (ctx, prm) => {
      const p = ctx.project;
      const b = this.bucket(p, prm.bucketId!);
      const body = await ctx.body();
      const sourceId = str(body.sourceTable);
      if (!sourceId) throw badRequest('Parameter "sourceTable" is required', 'storage.tables.validation');
      const source = this.table(p, sourceId);
      if (source.alias) throw badRequest('Aliases cannot be chained', 'storage.tables.aliasChainNotAllowed');
      const name = body.name === undefined ? source.name : tableName(body.name);
      const af = body.aliasFilter as Record<string, unknown> | undefined;
      const filter: AliasFilter | undefined = af && af.column ? { column: String(af.column), operator: str(af.operator) === 'ne' ? 'ne' : 'eq', values: strList(af.values) } : undefined;
      const alias = this.newAlias(p, source, b.id, name, filter, strList(body.aliasColumns));
      p.tables.push(alias);
      await this.refreshAliasCounts(p, source);
      this.changed();
      return reply(201, this.tableJson(p, alias, new Set(['columns']), { bucket: true }));
    });
    // table metadata: the current form (metadata + columnsMetadata) and the deprecated one (metadata only)
    r.add('GET', `${S}/tables/{tableId}/metadata`, (ctx, prm) => reply(200, this.table(ctx.project, prm.tableId!).metadata.map((m) => this.metaJson(m, true))));
    r.add('POST', `${S}/tables/{tableId}/metadata`, async (ctx, prm) => {
      const t = this.table(ctx.project, prm.tableId!);
      const body = await ctx.body();
      const provider = str(body.provider);
      if (!provider) throw badRequest('Parameter "provider" is required', 'storage.metadata.invalidProvider');
      const hasColumns = body.columnsMetadata !== undefined;
      if (body.metadata === undefined && !hasColumns) throw badRequest('At least one of "metadata" or "columnsMetadata" is required', 'storage.metadata.invalid');
      if (body.metadata !== undefined) this.upsertMetadata(t.metadata, body.metadata, provider);
      if (hasColumns) {
        const cm = body.columnsMetadata;
        if (!cm || typeof cm !== 'object') throw badRequest('"columnsMetadata" must be an object', 'storage.metadata.invalid');
        for (const [k, items] of Object.entries(cm as Record<string, unknown>)) {
          const arr = (Array.isArray(items) ? items : Object.values(items as object)) as Record<string, unknown>[];
          const byColumn = new Map<string, unknown[]>();
          for (const item of arr) {
            const col = str(item.columnName) ?? (/^\d+$/.test(k) ? undefined : k);
            if (!col) throw badRequest(`Metadata under index ${k} needs "columnName"`, 'storage.metadata.invalid');
            if (!t.columns.includes(col)) throw badRequest(`Column "${col}" not found in table ${t.id}`, 'storage.tables.columnNotFound');
            byColumn.set(col, [...(byColumn.get(col) ?? []), item]);
          }
          for (const [col, list] of byColumn) this.upsertMetadata((t.columnMetadata[col] ??= []), list, provider);
        }
        const columnsMetadata = this.columnMetadataJson(t);
        return reply(201, { metadata: t.metadata.map((m) => this.metaJson(m, true)), columnsMetadata });
      }
      return reply(201, t.metadata.map((m) => this.metaJson(m, true)));
    });
    r.add('DELETE', `${S}/tables/{tableId}/metadata/{metadataId}`, (ctx, prm) => {
      const t = this.table(ctx.project, prm.tableId!);
      if (!t.metadata.some((m) => m.id === prm.metadataId)) throw notFound('storage.metadata.notFound', `Metadata ${prm.metadataId} not found`);
      t.metadata = t.metadata.filter((m) => m.id !== prm.metadataId);
      this.changed();
      return reply(204);
    });
    const column = (ctx: Ctx, columnId: string) => {
      const i = columnId.lastIndexOf('.');
      const t = this.table(ctx.project, columnId.slice(0, i));
      const col = columnId.slice(i + 1);
      if (!t.columns.includes(col)) throw notFound('storage.tables.columnNotFound', `Column "${col}" not found in table ${t.id}`);
      return { t, col };
    };
    metaRoutes(
      `${S}/columns/{columnId}/metadata`,
      (ctx, prm) => {
        const { t, col } = column(ctx, prm.columnId!);
        return (t.columnMetadata[col] ??= []);
      },
      (ctx, prm, l) => {
        const { t, col } = column(ctx, prm.columnId!);
        t.columnMetadata[col] = l;
      },
    );

    // --- jobs
    r.add('GET', `${S}/jobs/{jobId}`, (ctx, prm) => {
      const j = this.state.jobs.find((x) => String(x.id) === prm.jobId && x.projectId === ctx.project.id);
      if (!j) throw notFound('storage.jobs.notFound', `Job ${prm.jobId} not found`);
      return reply(200, this.jobJson(j));
    });
    r.add('GET', `${S}/jobs`, (ctx) => {
      const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
      const offset = Number(ctx.url.searchParams.get('offset') ?? 0);
      const jobs = this.state.jobs.filter((j) => j.projectId === ctx.project.id).reverse();
      return reply(200, jobs.slice(offset, offset + limit).map((j) => this.jobJson(j)));
    });

    // --- files
    r.add('POST', `${S}/files/prepare`, async (ctx) => {
      const body = await ctx.body();
      const name = str(body.name);
      if (!name) throw badRequest('Parameter "name" is required', 'storage.files.validation');
      const f = this.newFile(ctx.project, ctx.token, {
        name,
        isSliced: bool(body.isSliced),
        isPermanent: bool(body.isPermanent),
        sizeBytes: body.sizeBytes === undefined ? null : Number(body.sizeBytes),
        tags: strList(body.tags),
        runId: runId(ctx),
      });
      return reply(201, this.fileJson(f, { upload: true }));
    });
    r.add('GET', `${S}/files`, (ctx) => {
      const limit = Number(ctx.url.searchParams.get('limit') ?? 100);
      const tags = strList(ctx.url.searchParams.getAll('tags[]').concat(ctx.url.searchParams.getAll('tags')));
      const files = this.state.files.filter((f) => f.projectId === ctx.project.id && tags.every((t) => f.tags.includes(t))).reverse();
      return reply(200, files.slice(0, limit).map((f) => this.fileJson(f)));
    });
    r.add('GET', `${S}/files/{fileId}`, async (ctx, prm) => {
      const f = this.fileRecord(ctx.project, Number(prm.fileId));
      if (f.sizeBytes === null && !f.isSliced) {
        const path = this.objectPath(this.gcsBucket, f.key);
        if (existsSync(path)) f.sizeBytes = (await stat(path)).size;
      }
      return reply(200, this.fileJson(f, { federation: bool(ctx.url.searchParams.get('federationToken')) }));
    });
    r.add('PUT', `${S}/files/{fileId}/refresh`, (ctx, prm) => reply(200, this.fileJson(this.fileRecord(ctx.project, Number(prm.fileId)), { upload: true })));
    r.add('DELETE', `${S}/files/{fileId}`, (ctx, prm) => {
      const f = this.fileRecord(ctx.project, Number(prm.fileId));
      this.state.files = this.state.files.filter((x) => x !== f);
      this.changed();
      return reply(204);
    });

    // --- components & configurations (branch and deprecated non-branch paths)
    for (const prefix of [`${S}/branch/{branchId}`, S]) {
      const br = (ctx: Ctx, prm: Record<string, string>) => this.checkBranch(ctx.project, prm.branchId);
      const C = `${prefix}/components`;
      r.add('GET', C, (ctx, prm) => {
        br(ctx, prm);
        const inc = include(ctx);
        const type = ctx.url.searchParams.get('componentType');
        const deleted = bool(ctx.url.searchParams.get('isDeleted'));
        const ids = [...new Set(ctx.project.configurations.filter((c) => c.isDeleted === deleted).map((c) => c.componentId))];
        const out = ids
          .map((id) => ({
            ...this.componentJson(id),
            configurations: ctx.project.configurations
              .filter((c) => c.componentId === id && c.isDeleted === deleted)
              .map((c) => this.configJson(c, { configuration: inc.has('configuration'), rows: inc.has('rows'), state: inc.has('state') })),
          }))
          .filter((c) => !type || (c as Record<string, unknown>).type === type);
        return reply(200, out);
      });
      if (prefix !== S) {
        r.add('GET', `${C}/{componentId}`, (ctx, prm) => {
          br(ctx, prm);
          this.requireComponent(prm.componentId!);
          return reply(200, this.componentJson(prm.componentId!));
        });
      }
      const CFG = `${C}/{componentId}/configs`;
      r.add('GET', CFG, (ctx, prm) => {
        br(ctx, prm);
        const deleted = bool(ctx.url.searchParams.get('isDeleted'));
        return reply(200, ctx.project.configurations.filter((c) => c.componentId === prm.componentId && c.isDeleted === deleted).map((c) => this.configJson(c)));
      });
      r.add('POST', CFG, async (ctx, prm) => {
        br(ctx, prm);
        const p = ctx.project;
        const componentId = prm.componentId!;
        this.requireComponent(componentId);
        const body = await ctx.body();
        const name = str(body.name);
        if (name === undefined) throw badRequest('Parameter "name" is required', 'storage.configuration.validation');
        const id = str(body.configurationId) ?? String(this.state.nextId.config++);
        if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw badRequest(`Invalid configuration id "${id}"`, 'storage.configuration.validation');
        const existing = p.configurations.find((c) => c.componentId === componentId && c.id === id);
        if (existing)
          throw badRequest(`Configuration "${id}" of component "${componentId}" already exists${existing.isDeleted ? ' (in trash)' : ''}.`, 'storage.configuration.alreadyExists');
        const c = this.newConfig(ctx.token, componentId, id, {
          name,
          description: str(body.description) ?? '',
          configuration: jsonObjectParam(body.configuration, 'configuration') ?? {},
          state: jsonObjectParam(body.state, 'state') ?? {},
          isDisabled: bool(body.isDisabled),
          changeDescription: str(body.changeDescription) ?? 'Configuration created',
        });
        p.configurations.push(c);
        this.changed();
        return reply(201, this.configJson(c));
      });
      const ONE = `${CFG}/{configId}`;
      r.add('GET', ONE, (ctx, prm) => (br(ctx, prm), reply(200, this.configJson(this.config(ctx.project, prm.componentId!, prm.configId!)))));
      r.add('PUT', ONE, async (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        const body = await ctx.body();
        if (body.name !== undefined) c.name = String(body.name);
        if (body.description !== undefined) c.description = String(body.description);
        const configuration = jsonObjectParam(body.configuration, 'configuration');
        if (configuration) c.configuration = configuration;
        const state = jsonObjectParam(body.state, 'state');
        if (state) c.state = state;
        if (body.isDisabled !== undefined) c.isDisabled = bool(body.isDisabled);
        if (body.rowsSortOrder !== undefined) {
          const order = strList(body.rowsSortOrder);
          const unknown = order.filter((id) => !c.rows.some((row) => row.id === id));
          if (unknown.length) throw badRequest(`Unknown rows in rowsSortOrder: ${unknown.join(', ')}`, 'storage.configuration.invalidRowsSortOrder');
          c.rowsSortOrder = order;
        }
        this.bumpConfig(c, ctx.token, str(body.changeDescription) ?? 'Configuration updated');
        this.changed();
        return reply(200, this.configJson(c));
      });
      r.add('PUT', `${ONE}/state`, async (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        const body = await ctx.body();
        const state = jsonObjectParam(body.state, 'state');
        if (!state) throw badRequest('Parameter "state" is required', 'storage.configuration.validation');
        c.state = state;
        this.changed();
        return reply(200, this.configJson(c));
      });
      r.add('DELETE', ONE, (ctx, prm) => {
        br(ctx, prm);
        const p = ctx.project;
        const c = this.config(p, prm.componentId!, prm.configId!, true);
        if (c.isDeleted) p.configurations = p.configurations.filter((x) => x !== c);
        else {
          c.isDeleted = true;
          this.bumpConfig(c, ctx.token, 'Configuration deleted');
        }
        this.changed();
        return reply(204);
      });
      r.add('GET', `${ONE}/metadata`, (ctx, prm) => (br(ctx, prm), reply(200, this.config(ctx.project, prm.componentId!, prm.configId!).metadata.map((m) => this.metaJson(m, false)))));
      r.add('POST', `${ONE}/metadata`, async (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        const body = await ctx.body();
        this.upsertMetadata(c.metadata, body.metadata, undefined);
        return reply(201, c.metadata.map((m) => this.metaJson(m, false)));
      });
      r.add('DELETE', `${ONE}/metadata/{metadataId}`, (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        if (!c.metadata.some((m) => m.id === prm.metadataId)) throw notFound('storage.metadata.notFound', `Metadata ${prm.metadataId} not found`);
        c.metadata = c.metadata.filter((m) => m.id !== prm.metadataId);
        this.changed();
        return reply(204);
      });
      const ROWS = `${ONE}/rows`;
      r.add('GET', ROWS, (ctx, prm) => (br(ctx, prm), reply(200, this.config(ctx.project, prm.componentId!, prm.configId!).rows.map((x) => this.rowJson(x)))));
      r.add('POST', ROWS, async (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        const body = await ctx.body();
        const id = str(body.rowId) ?? String(this.state.nextId.row++);
        if (c.rows.some((x) => x.id === id)) throw badRequest(`Row "${id}" already exists in configuration "${c.id}"`, 'storage.configurationRow.alreadyExists');
        const row = this.newRow(ctx.token, id, {
          name: str(body.name) ?? '',
          description: str(body.description) ?? '',
          configuration: jsonObjectParam(body.configuration, 'configuration') ?? {},
          state: jsonObjectParam(body.state, 'state') ?? {},
          isDisabled: bool(body.isDisabled),
          changeDescription: str(body.changeDescription) ?? `Row ${id} added`,
        });
        c.rows.push(row);
        this.bumpConfig(c, ctx.token, row.changeDescription ?? `Row ${id} added`);
        this.changed();
        return reply(201, this.rowJson(row));
      });
      const ROW = `${ROWS}/{rowId}`;
      r.add('GET', ROW, (ctx, prm) => (br(ctx, prm), reply(200, this.rowJson(this.row(this.config(ctx.project, prm.componentId!, prm.configId!), prm.rowId!)))));
      r.add('PUT', ROW, async (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        const row = this.row(c, prm.rowId!);
        const body = await ctx.body();
        if (body.name !== undefined) row.name = String(body.name);
        if (body.description !== undefined) row.description = String(body.description);
        const configuration = jsonObjectParam(body.configuration, 'configuration');
        if (configuration) row.configuration = configuration;
        const state = jsonObjectParam(body.state, 'state');
        if (state) row.state = state;
        if (body.isDisabled !== undefined) row.isDisabled = bool(body.isDisabled);
        row.version++;
        row.changeDescription = str(body.changeDescription) ?? `Row ${row.id} changed`;
        row.versionIdentifier = this.versionId();
        this.bumpConfig(c, ctx.token, row.changeDescription);
        this.changed();
        return reply(200, this.rowJson(row));
      });
      r.add('PUT', `${ROW}/state`, async (ctx, prm) => {
        br(ctx, prm);
        const row = this.row(this.config(ctx.project, prm.componentId!, prm.configId!), prm.rowId!);
        const body = await ctx.body();
        const state = jsonObjectParam(body.state, 'state');
        if (!state) throw badRequest('Parameter "state" is required', 'storage.configuration.validation');
        row.state = state;
        this.changed();
        return reply(200, this.rowJson(row));
      });
      r.add('DELETE', ROW, (ctx, prm) => {
        br(ctx, prm);
        const c = this.config(ctx.project, prm.componentId!, prm.configId!);
        const row = this.row(c, prm.rowId!);
        c.rows = c.rows.filter((x) => x !== row);
        c.rowsSortOrder = c.rowsSortOrder.filter((x) => x !== row.id);
        this.bumpConfig(c, ctx.token, `Row ${row.id} deleted`);
        this.changed();
        return reply(204);
      });
    }
  }

  // ----------------------------------------------------------------------------------------------- request handling
  count(key: string): void {
    this.requestCounts[key] = (this.requestCounts[key] ?? 0) + 1;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.local');
    let path = url.pathname.replace(/\/{2,}/g, '/');
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      if (path.startsWith('/_emulator')) return await this.handleAdmin(req, res, method, path);

      const matchedPublic = this.publicRouter.match(method, path);
      const matched = this.router.match(method, path);
      const template =
        path.startsWith('/_gcs/')
          ? `${method} /_gcs/{bucket}/{key}`
          : matched && 'route' in matched
            ? `${method} ${matched.route.template}`
            : matchedPublic && 'route' in matchedPublic
              ? `${method} ${matchedPublic.route.template}`
              : `${method} (unmatched)`;
      this.count(template);

      let loseResponse = false;
      for (const fault of this.faults.match(method, path)) {
        if (fault.kind === 'latency') await sleep(fault.latencyMs ?? 200);
        else if (fault.kind === 'lose-response') loseResponse = true;
        else if (fault.kind === 'garbage') {
          return sendJson(res, 200, { emulatorGarbage: true, note: 'a 200 answer of a shape no documented endpoint has' });
        }
        else if (fault.kind === 'drop') {
          req.socket.destroy();
          return;
        } else if (fault.kind === 'outage') {
          const retryAfter = fault.retryAfterSeconds ?? (fault.expiresAt ? Math.max(1, Math.ceil((fault.expiresAt - Date.now()) / 1000)) : 1);
          const end = new Date(fault.expiresAt ?? Date.now() + retryAfter * 1000);
          return sendJson(res, 503, { status: 'maintenance', reason: 'The stack is down for maintenance (emulated outage)', estimatedEndTime: ts(end) }, { 'Retry-After': String(retryAfter) });
        } else if (fault.kind === 'rate-limit') {
          return sendJson(res, 429, errorBody('tooManyRequests', 'Too many requests. Slow down.'), { 'Retry-After': String(fault.retryAfterSeconds ?? 1) });
        }
      }

      if (path.startsWith('/_gcs/')) return await this.handleObject(req, res, method, path, url);

      let parsedBody: Promise<Record<string, unknown>> | null = null;
      const body = () => (parsedBody ??= parseBody(req));
      if (matchedPublic && 'route' in matchedPublic) {
        const out = (await matchedPublic.route.handler({ req, res, url, body }, matchedPublic.params)) as Reply;
        return sendJson(res, out.status, out.body, out.headers);
      }
      if (!path.startsWith('/v2/storage')) throw notFound('notFound', `Route ${method} ${path} not found`);
      const tokenValue = str(req.headers['x-storageapi-token']);
      if (!tokenValue) throw new ApiError(401, 'storage.tokenMissing', 'Access token must be set');
      let project: ProjectRecord | undefined;
      let token: TokenRecord | undefined;
      for (const p of this.state.projects) {
        token = p.tokens.find((t) => t.token === tokenValue);
        if (token) {
          project = p;
          break;
        }
      }
      if (!project || !token) throw new ApiError(401, 'storage.tokenInvalid', 'Invalid access token');
      if (!matched) throw notFound('storage.routeNotFound', `Route ${method} ${path} not found`);
      if (!('route' in matched)) throw new ApiError(405, 'storage.methodNotAllowed', `Method ${method} is not allowed on ${path} (allowed: ${matched.allowed.join(', ')})`);
      const out = (await matched.route.handler({ req, res, url, body, project, token }, matched.params)) as Reply;
      if (loseResponse) return void req.socket.destroy(); // done on the stack, but the client never hears of it
      sendJson(res, out.status, out.body, out.headers);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof ApiError) return sendJson(res, e.status, errorBody(e.code, e.message));
      sendJson(res, 500, errorBody('internalError', `Internal error: ${(e as Error)?.message ?? String(e)}`));
    }
  }

  async handleObject(req: IncomingMessage, res: ServerResponse, method: string, path: string, url: URL): Promise<void> {
    const rest = path.slice('/_gcs/'.length);
    const slash = rest.indexOf('/');
    if (slash < 0) throw notFound('storage.objectNotFound', 'Object not found');
    const bucket = decodeURIComponent(rest.slice(0, slash));
    const key = rest
      .slice(slash + 1)
      .split('/')
      .map(decodeURIComponent)
      .join('/');
    const m = /^exp-15\/(\d+)\//.exec(key);
    const projectId = m ? Number(m[1]) : -1;
    // authorization: Bearer access token of the owning project, or a valid signed URL (GET only)
    const auth = str(req.headers.authorization);
    let allowed = false;
    if (auth?.startsWith('Bearer ')) allowed = safeEqual(auth.slice(7), this.accessToken(projectId));
    else if ((method === 'GET' || method === 'HEAD') && url.searchParams.has('X-Goog-Signature')) {
      const date = url.searchParams.get('X-Goog-Date') ?? '';
      const expected = this.hmac(`${bucket}/${key}@${date}`);
      const when = Date.parse(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      const expires = Number(url.searchParams.get('X-Goog-Expires') ?? 3600);
      allowed = safeEqual(url.searchParams.get('X-Goog-Signature') ?? '', expected) && Number.isFinite(when) && Date.now() < when + expires * 1000;
    }
    if (!allowed || bucket !== this.gcsBucket || !this.project(projectId)) {
      return sendJson(res, 403, { error: { code: 403, message: 'Access denied: invalid or missing credentials for this object' } });
    }
    const file = this.objectPath(bucket, key);
    if (method === 'PUT' || method === 'POST') {
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.upload-${process.hrtime.bigint()}.tmp`;
      try {
        await pipeline(req, createWriteStream(tmp));
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      const size = (await stat(file)).size;
      return sendJson(res, 200, { kind: 'storage#object', bucket, name: key, size: String(size) });
    }
    if (method === 'GET' || method === 'HEAD') {
      if (!existsSync(file)) return sendJson(res, 404, { error: { code: 404, message: `No such object: ${bucket}/${key}` } });
      const size = (await stat(file)).size;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) });
      if (method === 'HEAD') return void res.end();
      await pipeline(createReadStream(file), res);
      return;
    }
    if (method === 'DELETE') {
      await rm(file, { force: true });
      return sendJson(res, 204, null);
    }
    throw new ApiError(405, 'methodNotAllowed', `Method ${method} not allowed`);
  }

  async handleAdmin(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    const projectInfo = (p: ProjectRecord) => ({
      id: p.id,
      name: p.name,
      defaultBranchId: p.defaultBranchId,
      tokens: p.tokens.map((t) => ({ id: t.id, token: t.token, description: t.description, isMasterToken: t.isMasterToken })),
    });
    if (path === '/_emulator/projects' && method === 'POST') {
      const body = await parseBody(req);
      let seed: ParsedProjectSeed;
      try {
        seed = parseProjectSeed(body);
      } catch (e) {
        throw badRequest((e as Error).message, 'emulator.invalidProject');
      }
      const p = await this.createProject(seed);
      return sendJson(res, 201, projectInfo(p));
    }
    if (path === '/_emulator/projects' && method === 'GET') return sendJson(res, 200, this.state.projects.map(projectInfo));
    if (path === '/_emulator/faults' && method === 'POST') {
      const parsed = faultSpecSchema.safeParse(await parseBody(req));
      if (!parsed.success) throw badRequest(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), 'emulator.invalidFault');
      try {
        return sendJson(res, 201, { id: this.faults.add(parsed.data).id });
      } catch (e) {
        throw badRequest((e as Error).message, 'emulator.invalidFault');
      }
    }
    if (path === '/_emulator/faults' && method === 'GET') return sendJson(res, 200, this.faults.list());
    if (path === '/_emulator/faults' && method === 'DELETE') {
      this.faults.clear();
      return sendJson(res, 204, null);
    }
    if (path === '/_emulator/requests' && method === 'GET') return sendJson(res, 200, { ...this.requestCounts });
    if (path === '/_emulator/requests' && method === 'DELETE') {
      for (const k of Object.keys(this.requestCounts)) delete this.requestCounts[k];
      return sendJson(res, 204, null);
    }
    const admin = this.adminRouter.match(method, path);
    if (admin && 'route' in admin) {
      const out = (await admin.route.handler({ req, res, url: new URL(req.url ?? '/', 'http://emulator.local'), body: () => parseBody(req) }, admin.params)) as Reply;
      return sendJson(res, out.status, out.body, out.headers);
    }
    throw notFound('emulator.notFound', `Admin route ${method} ${path} not found`);
  }

  resumeJobs(): void {
    for (const job of this.state.jobs) if (job.status === 'waiting' || job.status === 'processing') this.scheduleJob(job);
  }

  async shutdown(): Promise<void> {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
    await this.store.flush();
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

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

async function writeAtomic(path: string, text: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.hrtime.bigint()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Starts one emulated stack. Several can run in one process (e.g. a source and a destination). */
export async function startStack(options: StartStackOptions): Promise<EmulatedStack> {
  const seed = options.seed !== undefined ? loadSeed(options.seed) : undefined;
  const saved = StateStore.load(options.dataDir);
  let state: StackState;
  let fresh = false;
  if (saved) state = saved;
  else {
    if (!seed) throw new Error(`no state in ${options.dataDir} and no seed given: the emulator needs a seed to create a stack`);
    state = newState(seed.stack);
    fresh = true;
  }
  const stack = new Stack(options.dataDir, state, options.jobDelayMs ?? 150, Math.max(1, options.exportSliceRows ?? 100000));
  for (const f of options.faults ?? []) stack.faults.add(f);

  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => void stack.handle(req, res));
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  stack.url = `http://${host}:${port}`;

  if (fresh && seed) {
    try {
      for (const p of seed.projects) await stack.createProject(p);
    } catch (e) {
      server.close();
      throw e;
    }
    stack.store.markDirty();
    await stack.store.flush();
  } else if (seed) {
    // saved state wins; projects of the seed that are not in the state yet are added
    for (const p of seed.projects) if (!stack.project(p.id)) await stack.createProject(p);
  }
  stack.resumeJobs();

  let closed: Promise<void> | null = null;
  return {
    url: stack.url,
    projects: () => stack.state.projects.map((p) => ({ id: p.id, name: p.name, tokens: p.tokens.map((t) => t.token) })),
    close: () =>
      (closed ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await stack.shutdown();
        await done;
      })()),
  };
}
