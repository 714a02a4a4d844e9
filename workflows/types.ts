// Plain data exchanged between the workflow, its activities and the CLI. No I/O, no Node APIs.

export const MIGRATION_STEPS = [
  'validating',
  'awaiting-approval',
  'snapshotting',
  'restoring',
  'verifying',
  'reporting',
  'completed',
  'blocked',
  'rejected',
  'cancelled',
  'failed',
] as const;
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

/**
 * What a migration restores, in the restore order of workflows/restore-steps.ts, with the word an operator reads
 * in `status`, `watch` and the report. `tableData` counts two units per table (taken into the snapshot, imported).
 */
export const ENTITIES = {
  branchMetadata: { label: 'project metadata', one: 'project metadata' },
  buckets: { label: 'buckets', one: 'bucket' },
  tables: { label: 'tables', one: 'table' },
  tableData: { label: 'table data', one: 'table data of' },
  aliases: { label: 'aliases', one: 'alias' },
  configurations: { label: 'configurations', one: 'configuration' },
  orchestrations: { label: 'legacy orchestrations', one: 'orchestration' },
  triggers: { label: 'triggers', one: 'trigger' },
  notifications: { label: 'notification subscriptions', one: 'notification' },
  permanentFiles: { label: 'permanent files', one: 'permanent file' },
  snowflakeWriters: { label: 'Snowflake writers', one: 'writer' },
  gooddataProjects: { label: 'GoodData projects', one: 'writer' },
  secrets: { label: 're-encrypted secrets', one: 'secrets of' },
} as const;
export type EntityType = keyof typeof ENTITIES;
export const ENTITY_TYPES = Object.keys(ENTITIES) as EntityType[];

export interface Progress {
  total: number;
  done: number;
  failed: number;
  /** Left out on purpose (linked bucket, missing component, ...): each one has a reason in the status' failures. */
  skipped?: number;
}

/** An entity a step left out, and why, in words for the operator. */
export interface Skip {
  id: string;
  reason: string;
}

/**
 * What one restore step did: the one shape every step answers (workflows/restore-steps.ts), recorded by
 * MigrationRun.record. IDs are those of the snapshot (the destination keeps them), except where `idMap` says.
 */
export interface RestoreOutcome {
  created: string[];
  existing: string[];
  skipped: Skip[];
  /** Entities that get new IDs in the destination (legacy orchestrations, GoodData projects): old → new. */
  idMap?: IdMapEntry[];
}

export interface IdMapEntry {
  type: string;
  oldId: string;
  newId: string;
}

export type Severity = 'blocker' | 'warning';

/** One finding of the pre-migration validation; `code` is stable, for tooling. */
export interface Finding {
  code: string;
  severity: Severity;
  entity?: string;
  message: string;
  action: string;
}

export interface Plan {
  buckets: number;
  tables: number;
  aliases: number;
  configurations: number;
  configurationRows: number;
  rows: number;
  bytes: number;
}

export interface ValidationReport {
  sourceProject: { id: number; name: string; region: string; backend: string };
  destinationProject: { id: number; name: string; region: string; backend: string };
  findings: Finding[];
  plan: Plan;
  /** The destination stack's outbound IP addresses, when its API index tells them (for the whitelist checklist). */
  destinationOutboundIps?: string[];
}

/** What a snapshot holds to restore, as counts: the lists stay on disk, so payloads stay small at any size. */
export interface SnapshotPlan {
  snapshotDir: string;
  bucketCount: number;
  /** Tables with data in restorable buckets; they move in batches, by batch number. */
  dataTableCount: number;
  aliasCount: number;
  configurationCount: number;
}

/** Verification of every table, as counts; per-table results are on disk and in the report. */
export interface VerificationSummary {
  tables: number;
  ok: number;
  rows: number;
  mismatches: TableVerification[];
  /** Which verification ran (absent in results of runs before the option existed: `checksum`). */
  mode?: 'checksum' | 'rows';
}

/** Row count and an order-independent content checksum of one table's data. */
export interface TableFingerprint {
  rows: number;
  checksum: string;
}

export interface TableDataSnapshot extends TableFingerprint {
  tableId: string;
  files: string[];
  bytes: number;
  /**
   * SHA-256 of each gzipped data file as stored, by its key in `files`: a restore checks these instead of parsing the
   * CSV again. Absent in records written before them, and for files not stored gzipped: those are fingerprinted.
   */
  digests?: Record<string, string>;
}

export interface TableVerification {
  tableId: string;
  expected: TableFingerprint;
  actual: TableFingerprint;
  ok: boolean;
  /** Why the table does not verify when the fingerprints alone do not say it (the source listed rows the data lacks). */
  reason?: string;
  /** `rows`: only the row count was compared (`--verify rows`); absent: row count and content checksum. */
  mode?: 'rows';
}

export interface Approval {
  decision: 'approved' | 'rejected';
  by: string;
  comment?: string;
  at: string;
}

export interface MigrationStatus {
  workflowId: string;
  step: MigrationStep;
  validation?: ValidationReport;
  approval?: Approval;
  progress: Record<EntityType, Progress>;
  snapshotDir?: string;
  failures: Array<{ entity: string; message: string }>;
  /** Old → new IDs of the entities that get new ones in the destination. */
  idMap: IdMapEntry[];
  report?: ReportLocation;
  paused?: { by: string; reason?: string; at: string };
  cleanup?: CleanupResult;
  /** A migration kept in sync after its first copy (`--keep-in-sync`): its passes, cutover and rollback. */
  sync?: SyncStatus;
  startedAt: string;
  updatedAt: string;
}

export interface MigrationResult {
  outcome: 'completed' | 'rejected';
  status: MigrationStatus;
  counts: Record<EntityType, number>;
  verification: VerificationSummary;
  snapshotDir?: string;
  report?: ReportLocation;
}

export interface CleanupResult {
  deletedBuckets: string[];
  deletedConfigurations: string[];
  /** Branch metadata keys, notification subscriptions and permanent files the run had written (absent in older results). */
  deletedOther?: string[];
  /** True when nothing of the migration remains in the destination. */
  destinationEmpty: boolean;
  remaining: string[];
}

/** Where the worker wrote the report, and how many checklist items need a human. */
export interface ReportLocation {
  json: string;
  markdown: string;
  html: string;
  checklistItems: number;
}

export const NOTHING_VERIFIED: VerificationSummary = { tables: 0, ok: 0, rows: 0, mismatches: [] };

/** A table whose data differs from its snapshot after the import is imported again at most this many times. */
export const TABLE_REPAIRS = 2;

export function summarizeVerification(verification: readonly TableVerification[]): VerificationSummary {
  return {
    tables: verification.length,
    ok: verification.filter((v) => v.ok).length,
    rows: verification.reduce((sum, v) => sum + v.actual.rows, 0),
    mismatches: verification.filter((v) => !v.ok),
  };
}

/** Adds the verification of another batch to a running total. */
export function addVerification(total: VerificationSummary, batch: VerificationSummary): VerificationSummary {
  return { tables: total.tables + batch.tables, ok: total.ok + batch.ok, rows: total.rows + batch.rows, mismatches: [...total.mismatches, ...batch.mismatches] };
}

export function emptyProgress(): Record<EntityType, Progress> {
  return Object.fromEntries(ENTITY_TYPES.map((type) => [type, { total: 0, done: 0, failed: 0, skipped: 0 }])) as Record<EntityType, Progress>;
}

/** Where a migration kept in sync stands; a search attribute (MigrationPhase) shows it too. */
export const SYNC_PHASES = ['copying', 'in-sync', 'cutting-over', 'cut-over'] as const;
export type SyncPhase = (typeof SYNC_PHASES)[number];

/** What one sync pass found changed in the source since the pass before (or the first copy). */
export interface SyncChanges {
  bucketsAdded: number;
  bucketsRemoved: number;
  tablesAdded: number;
  /** Tables whose data changed (import or change date, row count, size): exported and imported again. */
  tablesChanged: number;
  /** Tables whose structure changed (columns, primary key, replaced): altered in place, then imported again. */
  tablesAltered: number;
  tablesRemoved: number;
  /** Tables whose metadata or display name changed without new data. */
  tablesRelabelled: number;
  aliasesAdded: number;
  aliasesRemoved: number;
  configurationsAdded: number;
  configurationsChanged: number;
  configurationsRemoved: number;
  /** Legacy orchestrations, triggers and notification subscriptions new, changed or removed in the source. */
  orchestrationsChanged: number;
  triggersChanged: number;
  notificationsChanged: number;
  /** What the pass could not bring over (a trigger whose table is not there, say), in words for a person. */
  needsAPerson: string[];
}

export const NO_CHANGES: SyncChanges = {
  bucketsAdded: 0,
  bucketsRemoved: 0,
  tablesAdded: 0,
  tablesChanged: 0,
  tablesAltered: 0,
  tablesRemoved: 0,
  tablesRelabelled: 0,
  aliasesAdded: 0,
  aliasesRemoved: 0,
  configurationsAdded: 0,
  configurationsChanged: 0,
  configurationsRemoved: 0,
  orchestrationsChanged: 0,
  triggersChanged: 0,
  notificationsChanged: 0,
  needsAPerson: [],
};

/** How many changes were seen in the source, in all. */
export function changeCount(changes: SyncChanges): number {
  return Object.entries(changes).reduce((sum, [key, value]) => sum + (key === 'needsAPerson' ? 0 : (value as number)), 0);
}

/** What a sync pass planned: the changes, and the table batches (lists stay on disk). */
export interface SyncPlan {
  changes: SyncChanges;
  /** Tables to export and import again (added, changed, altered), moved in batches by number. */
  tablesToCopy: number;
  /** Whether the restore steps of legacy orchestrations, triggers and notifications run again. */
  copy: { orchestrations: boolean; triggers: boolean; notifications: boolean };
  /** Whether anything goes from the destination (removeFromDestination). */
  removes: boolean;
  /** Legacy orchestrations gone from the source (their IDs there): their ID map entries go too. */
  removedOrchestrations: string[];
}

/** One sync pass, as the status, `watch` and the report show it. */
export interface SyncPassSummary {
  pass: number;
  snapshotDir: string;
  /** Who asked for it (`sync --by`), or `schedule` for a pass every N hours, or `cutover`. */
  by: string;
  reason?: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  changes: SyncChanges;
  /** Bytes exported from the source for the tables it copied. */
  bytes: number;
  /** The tables it copied, verified again. */
  verification: VerificationSummary;
}

/** Schedules and orchestrations switched on one side, recorded so that they can be switched back. */
export interface SwitchedSchedules {
  /** `keboola.scheduler` configurations whose schedules were (de)activated through the Scheduler API. */
  schedules: string[];
  /** Legacy orchestrations (re)activated or deactivated, by ID on that side. */
  orchestrations: string[];
  /** Flows and schedule configurations whose `isDisabled` flag was changed. */
  configurations: string[];
}

export interface CutoverRecord {
  by: string;
  comment?: string;
  switchOffSource: boolean;
  requestedAt: string;
  sourceSwitchedOffAt?: string;
  sourceSwitchedOff?: SwitchedSchedules;
  destinationSwitchedOnAt?: string;
  destinationSwitchedOn?: SwitchedSchedules;
  /** From the source's switch-off (or the final pass' start, when the source stayed on) to the destination's switch-on. */
  downtimeSeconds?: number;
  finalPass?: number;
  finishedAt?: string;
  /** Why the cutover stopped; a source it had switched off was switched back on. */
  failed?: string;
  rollback?: { by: string; comment?: string; at: string; destinationSwitchedOff: SwitchedSchedules; sourceSwitchedOn: SwitchedSchedules };
}

/** Changes seen in the source since the last pass, measured on request (`status`). */
export interface SyncLag {
  checkedAt: string;
  changes: SyncChanges;
  total: number;
}

export interface SyncStatus {
  phase: SyncPhase;
  /** Sync passes done (the first copy is pass 0). */
  passes: number;
  /** The snapshot of the last pass (or the first copy): what the next pass compares the source with. */
  lastSnapshotDir: string;
  lastPassAt: string;
  lastPass?: SyncPassSummary;
  /** The last few passes, newest last. */
  recentPasses: SyncPassSummary[];
  /** A pass every this many hours, besides those asked for. */
  everyHours?: number;
  /** What runs now: a pass, the cutover, a rollback. */
  running?: string;
  cutover?: CutoverRecord;
  lag?: SyncLag;
  /** The last pass that failed, when no pass has succeeded since. */
  lastPassFailure?: { pass: number; at: string; message: string };
  /** Why the migration cannot be cut over now, or empty when it can. */
  notReady: string[];
}

/** What a migration kept in sync carries into its next run (MigrationInput.carried, workflows/sync.ts). */
export interface CarriedState {
  sync: SyncStatus;
  progress: MigrationStatus['progress'];
  idMap: IdMapEntry[];
  failures: MigrationStatus['failures'];
  startedAt: string;
  validation?: ValidationReport;
  approval?: Approval;
  report?: ReportLocation;
  /** The first copy's snapshot: its report, and the markers of what the first copy created. */
  firstSnapshotDir: string;
  verification: VerificationSummary;
}

/**
 * The state of a migration whose first copy is done, in sync with its snapshot (pass 0): from the workflow right
 * after the copy, or from the result of one that completed without --keep-in-sync (`stack-migrate sync`).
 */
export function carriedFrom(status: MigrationStatus, snapshotDir: string, verification: VerificationSummary, at: string, everyHours?: number): CarriedState {
  return {
    sync: { phase: 'in-sync', passes: 0, lastSnapshotDir: snapshotDir, lastPassAt: at, recentPasses: [], notReady: [], ...(everyHours ? { everyHours } : {}) },
    progress: status.progress,
    idMap: status.idMap,
    failures: status.failures,
    startedAt: status.startedAt,
    validation: status.validation,
    approval: status.approval,
    report: status.report,
    firstSnapshotDir: snapshotDir,
    verification: { ...verification, mismatches: [] },
  };
}
