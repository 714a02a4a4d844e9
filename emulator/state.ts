/**
 * Durable state of one emulated stack. Metadata lives in `{dataDir}/state.json` (atomic write: temp file +
 * rename); table data and uploaded objects live as files next to it and are only ever streamed. A change is saved
 * before the answer that reveals it (`StackHost` commits before it answers), so a SIGKILL never loses what a client
 * was told; changes of background work (a job finishing) are also saved on a short debounce.
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { StackSeed } from './seed';

/** Keboola's timestamp format: 2017-02-13T12:01:05+0100 */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+0000');
}

export interface MetadataRecord {
  id: string;
  key: string;
  value: string;
  provider?: string;
  timestamp: string;
}

export interface TokenRecord {
  id: string;
  token: string;
  description: string;
  created: string;
  isMasterToken: boolean;
  canManageBuckets: boolean;
  canManageTokens: boolean;
  canReadAllFileUploads: boolean;
  canPurgeTrash: boolean;
  bucketPermissions: Record<string, string>;
  componentAccess: string[];
  admin?: { id: number; name: string; role: string };
}

export interface BucketRecord {
  id: string;
  stage: string;
  name: string;
  displayName: string;
  description: string;
  backend: string;
  color: string | null;
  created: string;
  lastChangeDate: string | null;
  updated: string;
  metadata: MetadataRecord[];
  linkedFrom?: { projectId: number; bucketId: string };
}

export interface TypedColumn {
  name: string;
  definition: { type: string; nullable: boolean; length?: string; default?: string };
  basetype: string;
}

export interface AliasFilter {
  column: string;
  operator: 'eq' | 'ne';
  values: string[];
}

export interface TableRecord {
  id: string;
  bucketId: string;
  name: string;
  displayName: string;
  primaryKey: string[];
  columns: string[];
  isTyped: boolean;
  typedColumns?: TypedColumn[];
  alias?: { sourceTable: string; aliasFilter?: AliasFilter; aliasColumnsAutoSync: boolean };
  metadata: MetadataRecord[];
  columnMetadata: Record<string, MetadataRecord[]>;
  created: string;
  lastImportDate: string | null;
  lastChangeDate: string | null;
  rowsCount: number;
  dataSizeBytes: number;
}

export interface RowRecord {
  id: string;
  name: string;
  description: string;
  configuration: Record<string, unknown>;
  state: Record<string, unknown>;
  isDisabled: boolean;
  version: number;
  created: string;
  creatorToken: { id: number; description: string };
  changeDescription: string | null;
  versionIdentifier: string;
}

export interface ConfigurationRecord {
  componentId: string;
  id: string;
  name: string;
  description: string;
  configuration: Record<string, unknown>;
  state: Record<string, unknown>;
  isDisabled: boolean;
  isDeleted: boolean;
  rowsSortOrder: string[];
  rows: RowRecord[];
  version: number;
  created: string;
  creatorToken: { id: number; description: string };
  changeDescription: string;
  currentVersion: { created: string; creatorToken: { id: number; description: string }; changeDescription: string; versionIdentifier: string };
  metadata: MetadataRecord[];
}

export interface ProjectRecord {
  id: number;
  name: string;
  created: string;
  defaultBackend: string;
  backends: string[];
  features: string[];
  defaultBranchId: number;
  branchCreated: string;
  tokens: TokenRecord[];
  branchMetadata: MetadataRecord[];
  buckets: BucketRecord[];
  tables: TableRecord[];
  configurations: ConfigurationRecord[];
  /** Notification service subscriptions (emulator/services/notification.ts); absent in states saved before it existed. */
  notificationSubscriptions?: SubscriptionRecord[];
  /** Scheduler service: the active schedules and the next schedule ID (emulator/services/scheduler.ts); absent in states saved before it existed. */
  scheduler?: { nextId: number; schedules: ScheduleRecord[] };
}

/** An active schedule: a `keboola.scheduler` configuration as it read when activated (one per configuration). */
export interface ScheduleRecord {
  id: string;
  tokenId: string;
  configurationId: string;
  configurationVersionId: string;
  schedule: { cronTab: string; timezone: string; state: 'enabled' | 'disabled' };
  target: { componentId: string; configurationId: string; mode: string; tag?: string; configurationRowIds?: string[] };
  created: string;
}

export interface SubscriptionRecord {
  id: string;
  event: string;
  filters: Array<{ field: string; value: string; operator: string }>;
  recipient: { channel: 'email'; address: string } | { channel: 'webhook'; url: string };
  created: string;
}

export interface FileRecord {
  id: number;
  projectId: number;
  name: string;
  key: string;
  created: string;
  isSliced: boolean;
  isPermanent: boolean;
  sizeBytes: number | null;
  tags: string[];
  creatorToken: { id: number; description: string };
  runId: string | null;
  /** `aws` stacks: the file's own user of the S3 gateway, answered as its temporary credentials (emulator/file-storage/s3.ts). */
  s3User?: { accessKeyId: string; secretAccessKey: string; expiration: string };
}

export type JobOp =
  | { kind: 'tableCreate'; bucketId: string; name: string; fileId: number; primaryKey: string[] }
  | { kind: 'tableDefinitionCreate'; bucketId: string; name: string; primaryKey: string[]; columns: TypedColumn[] }
  | { kind: 'tableImport'; tableId: string; fileId: number; incremental: boolean; withoutHeaders: boolean; columns: string[] }
  | { kind: 'tableExport'; tableId: string; columns: string[]; limit: number | null; whereFilters: AliasFilter[] }
  | { kind: 'tablePrimaryKeyAdd'; tableId: string; columns: string[] }
  | { kind: 'tablePrimaryKeyDelete'; tableId: string }
  | { kind: 'tableColumnAdd'; tableId: string; name: string; column?: TypedColumn }
  | { kind: 'tableColumnDelete'; tableId: string; name: string; force: boolean }
  | { kind: 'tableDrop'; tableId: string; force: boolean }
  | { kind: 'bucketDelete'; bucketId: string; force: boolean }
  | { kind: 'tableUpdate'; tableId: string; displayName: string };

export interface JobRecord {
  id: number;
  projectId: number;
  status: 'waiting' | 'processing' | 'success' | 'error';
  tableId: string | null;
  operationName: string;
  operationParams: Record<string, unknown>;
  createdTime: string;
  startTime: string | null;
  endTime: string | null;
  runId: string | null;
  results: Record<string, unknown> | null;
  error?: { code: string; message: string; exceptionId: string };
  creatorToken: { id: string; description: string; name?: string };
  metrics: { inCompressed: boolean; inBytes: number; inBytesUncompressed: number; outCompressed: boolean; outBytes: number; outBytesUncompressed: number };
  op: JobOp;
}

export interface OrchestrationTaskRecord {
  id: number;
  component: string | null;
  componentUrl: string | null;
  action: string;
  actionParameters: Record<string, unknown>;
  continueOnFailure: boolean;
  active: boolean;
  timeoutMinutes: number | null;
  phase: string | null;
}

export interface OrchestrationNotificationRecord {
  email: string;
  channel: 'error' | 'waiting' | 'processing';
  parameters: Record<string, unknown>;
}

export interface OrchestrationRecord {
  id: number;
  projectId: number;
  name: string;
  crontabRecord: string | null;
  crontabTimezone: string;
  active: boolean;
  createdTime: string;
  tokenId: string;
  notifications: OrchestrationNotificationRecord[];
  tasks: OrchestrationTaskRecord[];
}

export interface TriggerRecord {
  id: string;
  projectId: number;
  runWithTokenId: number;
  component: string;
  configurationId: string;
  lastRun: string | null;
  coolDownPeriodMinutes: number;
  creatorToken: { id: number; description: string };
  tableIds: string[];
}

/** The legacy Orchestrator API, Storage triggers and token expiry (emulator/services/orchestrator.ts, emulator/storage/). */
export interface LegacyServicesState {
  nextId: { orchestration: number; task: number; trigger: number };
  /** Expiry of tokens created with `expiresIn` (TokenRecord has no such field; shown by the token routes). */
  tokenExpires?: Record<string, string>;
  orchestrations: OrchestrationRecord[];
  triggers: TriggerRecord[];
}

export interface StackState {
  formatVersion: 1;
  secret: string;
  stack: StackSeed;
  nextId: { job: number; file: number; metadata: number; token: number; config: number; row: number };
  projects: ProjectRecord[];
  files: FileRecord[];
  jobs: JobRecord[];
  /** created on first use, so state files written before these services existed still load */
  legacyServices?: LegacyServicesState;
}

export function newState(stack: StackSeed): StackState {
  return {
    formatVersion: 1,
    secret: randomBytes(24).toString('hex'),
    stack,
    nextId: { job: 1000, file: 5000, metadata: 100, token: 10, config: 100000, row: 200000 },
    projects: [],
    files: [],
    jobs: [],
  };
}

/**
 * The legacy services' part of the stack state (created on first use). Orchestration IDs of different stacks
 * start from different numbers (derived from the region), so a copied orchestration visibly gets a new ID.
 */
export function legacyState(state: StackState): LegacyServicesState {
  if (!state.legacyServices) {
    const spread = createHash('sha256').update(state.stack.region).digest().readUInt16BE(0) % 900;
    state.legacyServices = { nextId: { orchestration: 500000000 + spread * 100000, task: 700000, trigger: 300 }, orchestrations: [], triggers: [] };
  }
  return state.legacyServices;
}

/**
 * Loads and saves state.json atomically. `commit` saves now when anything changed (group commit: the requests
 * answered while one save runs share the next one); `markDirty` also schedules a debounced save, for changes no
 * request answers.
 */
export class StateStore {
  readonly path: string;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private lastSaveMs = 0;

  constructor(
    readonly dataDir: string,
    public state: StackState,
    private readonly debounceMs = 100,
  ) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'state.json');
  }

  static load(dataDir: string): StackState | null {
    const path = join(dataDir, 'state.json');
    if (!existsSync(path)) return null;
    return JSON.parse(readFileSync(path, 'utf8')) as StackState;
  }

  markDirty(): void {
    this.dirty = true;
    if (this.timer) return;
    // A save writes the whole state: the debounce grows with its cost, so saving never takes more than a fifth of the time.
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, Math.max(this.debounceMs, 4 * this.lastSaveMs));
  }

  /** Writes now if anything changed; concurrent calls are serialized. */
  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const started = Date.now();
      const tmp = `${this.path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(this.state));
      await rename(tmp, this.path);
      this.lastSaveMs = Date.now() - started;
    });
    return this.writing;
  }

  /** Saves every change made so far (waits for a save that is running and has not got them). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.save();
  }
}
