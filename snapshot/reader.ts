// The one reader of a snapshot: it checks each file against its schema (snapshot/schemas.ts) and answers the
// questions every step asks (which buckets and tables are restored, where a table's data is, which
// configurations in which order), so validation, restore and clean-up decide by the same rules.
//
// The index files written first (buckets, tables, configurations, branch metadata) are read once per worker
// process and kept (SnapshotReader.index): restoring 5,000 tables must not parse tables.json 5,000 times. Files that a migration writes
// later (triggers, orchestrations, the manifest) and the configuration bodies (20,000 would not fit in memory)
// are checked each time they are read.
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { z } from 'zod';
import { files, MalformedSnapshotError } from './layout';
import type { SnapshotStore } from './store';
import {
  BranchMetadataSchema,
  ConfigurationsIndexSchema,
  ManifestSchema,
  NotificationsSchema,
  PermanentFilesSchema,
  SnapshotBucketSchema,
  SnapshotConfigurationSchema,
  SnapshotOrchestrationSchema,
  SnapshotTableSchema,
  SnapshotTriggerSchema,
  type ConfigurationsIndex,
  type MetadataEntry,
  type SnapshotBucket,
  type SnapshotConfiguration,
  type SnapshotManifest,
  type SnapshotOrchestration,
  type SnapshotPermanentFile,
  type SnapshotSubscription,
  type SnapshotTable,
  type SnapshotTrigger,
} from './schemas';

export interface ConfigurationRef {
  componentId: string;
  configId: string;
}

/** The legacy Orchestrator's component: its configurations are recreated through the Orchestrator API. */
export const LEGACY_ORCHESTRATOR = 'orchestrator';

/** Why a bucket is not restored (linked buckets belong to another project; system buckets to the stack), if it is not. */
export function bucketSkipReason(bucket: Pick<SnapshotBucket, 'name' | 'stage' | 'sourceBucket' | 'isLinkedBucket'>): string | undefined {
  if (bucket.sourceBucket || bucket.isLinkedBucket) return 'linked bucket: link the shared bucket again in the destination project';
  if (!bucket.name.startsWith('c-') || bucket.stage === 'sys') return 'system bucket: created by the stack itself';
  return undefined;
}

/** The bucket of a table: from its `bucket` field, or the first two parts of its ID (`in.c-crm.customers`). */
export function bucketIdOf(table: Pick<SnapshotTable, 'id' | 'bucket'>): string {
  return table.bucket?.id ?? table.id.split('.').slice(0, 2).join('.');
}

/** A table the listing gives as larger than this (or of unknown size) moves in an activity of its own. */
export const GROUPED_TABLE_MAX_BYTES = 16 * 1024 * 1024;

/** What the index files say: the answers that decide what a restore does. */
export class SnapshotIndex {
  /** Tables with data in restorable buckets, sorted: the order in which they move, in batches. */
  readonly dataTableIds: string[];
  /** Aliases in restorable buckets, restored after their source tables. */
  readonly aliases: SnapshotTable[];
  /** Configurations to restore, in order; the legacy orchestrator's are restored as orchestrations instead. */
  readonly configurations: ConfigurationRef[];
  /** Every component of `configurations.json`, the legacy orchestrator's included (validation reads them all). */
  readonly components: Array<{ id: string; name?: string }>;
  /** Every table of `tables.json`, as much of each as restore, validation and sync read (see keptOfTable). */
  readonly tables: SnapshotTable[];
  private readonly tablesById: Map<string, SnapshotTable>;
  /**
   * What the index keeps of `configurations.json`: each component's configurations and each one's version, not the
   * listing itself (its component definitions and configuration heads would stay in the worker for every entity).
   */
  private readonly configurationsByComponent = new Map<string, ConfigurationRef[]>();
  private readonly versions = new Map<string, number>();

  constructor(
    readonly location: string,
    readonly buckets: SnapshotBucket[],
    listedTables: SnapshotTable[],
    configurationsIndex: ConfigurationsIndex,
    readonly branchMetadata: MetadataEntry[],
  ) {
    this.components = configurationsIndex.map(({ id, name }) => ({ id, name }));
    this.tables = listedTables.map(keptOfTable);
    const restorable = new Set(this.restorableBuckets().map((b) => b.id));
    const restorableTables = this.tables.filter((t) => restorable.has(bucketIdOf(t)));
    this.dataTableIds = restorableTables.filter((t) => !t.isAlias).map((t) => t.id).sort();
    this.aliases = restorableTables.filter((t) => t.isAlias);
    this.tablesById = new Map(this.tables.map((t) => [t.id, t]));
    for (const component of configurationsIndex) {
      const refs = this.configurationsByComponent.get(component.id) ?? [];
      for (const listed of component.configurations ?? []) {
        refs.push({ componentId: component.id, configId: listed.id });
        if (typeof listed.version === 'number') this.versions.set(versionKey(component.id, listed.id), listed.version);
      }
      this.configurationsByComponent.set(component.id, refs);
    }
    this.configurations = [...this.configurationsByComponent].filter(([componentId]) => componentId !== LEGACY_ORCHESTRATOR).flatMap(([, refs]) => refs);
  }

  restorableBuckets(): SnapshotBucket[] {
    return this.buckets.filter((b) => !bucketSkipReason(b));
  }

  /** The backends of the buckets that are restored (a destination must offer each). */
  backends(): string[] {
    return [...new Set(this.restorableBuckets().map((b) => b.backend).filter((b): b is string => typeof b === 'string' && b !== ''))];
  }

  table(tableId: string): SnapshotTable {
    const table = this.tablesById.get(tableId);
    if (!table) throw new MalformedSnapshotError(`table ${tableId} is not in ${files.tables} of the snapshot ${this.location}`);
    return table;
  }

  /** The IDs of one batch of the tables to move, for a child workflow. */
  tableBatch(batchNumber: number, batchSize: number): string[] {
    return this.dataTableIds.slice(batchNumber * batchSize, (batchNumber + 1) * batchSize);
  }

  /**
   * One batch of tables split by size: the small ones, moved together by one activity, and the large ones (or of
   * unknown size), each moved by an activity of its own (workflows/table-batches.ts).
   */
  splitTableBatch(batchNumber: number, batchSize: number): { grouped: string[]; alone: string[] } {
    return this.splitBySize(this.tableBatch(batchNumber, batchSize), (id) => id);
  }

  /** `items` (tables, or what names them) split by whether the listing gives the table as GROUPED_TABLE_MAX_BYTES or less. */
  splitBySize<T>(items: readonly T[], tableIdOf: (item: T) => string): { grouped: T[]; alone: T[] } {
    const isSmall = (item: T) => {
      const size = this.table(tableIdOf(item)).dataSizeBytes;
      return typeof size === 'number' && size <= GROUPED_TABLE_MAX_BYTES;
    };
    return { grouped: items.filter(isSmall), alone: items.filter((item) => !isSmall(item)) };
  }

  /** Every configuration of one component, in the listing's order. */
  configurationsOf(componentId: string): ConfigurationRef[] {
    return [...(this.configurationsByComponent.get(componentId) ?? [])];
  }

  /** The configuration's version as the listing recorded it (our snapshots do; Keboola's backups may not). */
  configurationVersion(ref: ConfigurationRef): number | undefined {
    return this.versions.get(versionKey(ref.componentId, ref.configId));
  }

  configurationBatch(batchNumber: number, batchSize: number): ConfigurationRef[] {
    return this.configurations.slice(batchNumber * batchSize, (batchNumber + 1) * batchSize);
  }
}

/** Reads a snapshot: the index once per process, every other file when asked, each checked by its schema. */
export class SnapshotReader {
  constructor(readonly store: SnapshotStore) {}

  /** The snapshot's location (a folder, or an object-store URL): what payloads carry. */
  get location(): string {
    return this.store.location;
  }

  index(): Promise<SnapshotIndex> {
    let entry = indexCache.get(this.location);
    if (!entry) {
      entry = (async () => {
        const [buckets, tables, configurations, branchMetadata] = await Promise.all([
          readSnapshotFile(this.store, files.buckets, z.array(SnapshotBucketSchema)),
          readSnapshotFile(this.store, files.tables, z.array(SnapshotTableSchema)),
          readSnapshotFile(this.store, files.configurations, ConfigurationsIndexSchema, { optional: true }),
          readSnapshotFile(this.store, files.branchMetadata, BranchMetadataSchema, { optional: true }),
        ]);
        return new SnapshotIndex(this.location, buckets, tables, configurations ?? [], branchMetadata ?? []);
      })();
      entry.catch(() => indexCache.delete(this.location)); // a failed read is retried, not remembered
      indexCache.set(this.location, entry);
      while (indexCache.size > MAX_CACHED) indexCache.delete(indexCache.keys().next().value as string);
    }
    return entry;
  }

  /** One configuration with its rows; its ID is the one the listing gives, never a field of the file's body. */
  async configuration(ref: ConfigurationRef): Promise<SnapshotConfiguration> {
    const body = await readSnapshotFile(this.store, files.configuration(ref.componentId, ref.configId), SnapshotConfigurationSchema);
    return { ...body, id: ref.configId };
  }

  async configurationMetadata(ref: ConfigurationRef): Promise<MetadataEntry[]> {
    return (await readSnapshotFile(this.store, files.configurationMetadata(ref.componentId, ref.configId), BranchMetadataSchema, { optional: true })) ?? [];
  }

  /**
   * The data files of one table, as keys of the store, in every form Keboola's backup writes and its restore reads:
   * one `<table>.csv` or `<table>.csv.gz` with a header row, or slices `<table>.part_N.csv` / `.part_N.csv.gz` without
   * one, in part order (numeric: part_10 after part_9); empty for an empty table. Any other file of the table's name
   * is a malformed snapshot, named: it is never silently left out.
   */
  async tableData(tableId: string): Promise<{ files: string[]; sliced: boolean }> {
    const base = files.tableBase(tableId);
    const folder = path.posix.dirname(base);
    const name = path.posix.basename(base);
    const own = (await this.store.list(folder)).filter((entry) => entry.startsWith(`${name}.`)).map((entry) => entry.slice(name.length));
    const parts: Array<{ part: number; key: string }> = [];
    const whole: string[] = [];
    const unknown: string[] = [];
    for (const rest of own) {
      const slice = /^\.part_(\d+)\.csv(\.gz)?$/.exec(rest);
      if (slice) parts.push({ part: Number(slice[1]), key: `${folder}/${name}${rest}` });
      else if (/^\.csv(\.gz)?$/.test(rest)) whole.push(`${folder}/${name}${rest}`);
      else unknown.push(`${name}${rest}`);
    }
    // One whole file, or slices: a second whole file, or a whole file beside slices, is as foreign as an unknown one.
    const conflicting = parts.length || whole.length > 1 ? whole.map((key) => path.posix.basename(key)) : [];
    if (unknown.length || conflicting.length) {
      const found = [...unknown, ...conflicting];
      throw new MalformedSnapshotError(
        `${this.store.describe(folder)} holds ${found.join(', ')} beside the data of table ${tableId}: a table's data is one ${name}.csv[.gz] with a header row, or slices ${name}.part_N.csv[.gz] without one; remove or rename the other files`,
      );
    }
    if (parts.length) return { files: parts.sort((a, b) => a.part - b.part).map((p) => p.key), sliced: true };
    return { files: whole, sliced: false };
  }

  /** Reads one data file of the snapshot gzipped, whichever form it has (a `.csv` is compressed on the way). */
  openGzipped(key: string): Readable {
    if (isGzipped(key)) return this.open(key);
    const source = this.open(key);
    const gzip = createGzip();
    source.on('error', (error) => gzip.destroy(error));
    return source.pipe(gzip);
  }

  /** Reads one file of the snapshot as a stream (table data). */
  open(key: string): Readable {
    return this.store.openRead(key);
  }

  /** Storage triggers; a migration writes them after the tables. */
  async triggers(): Promise<SnapshotTrigger[]> {
    return (await readSnapshotFile(this.store, files.triggers, z.array(SnapshotTriggerSchema), { optional: true })) ?? [];
  }

  async notifications(): Promise<SnapshotSubscription[]> {
    return (await readSnapshotFile(this.store, files.notifications, NotificationsSchema, { optional: true })) ?? [];
  }

  async permanentFiles(): Promise<SnapshotPermanentFile[]> {
    return (await readSnapshotFile(this.store, files.permanentFiles, PermanentFilesSchema, { optional: true })) ?? [];
  }

  /**
   * The legacy orchestrator's configurations that `configurations.json` lists (`configurations/orchestrator/`), as
   * Keboola's backups keep legacy orchestrations; none when the file is absent.
   */
  async legacyOrchestratorConfigurations(): Promise<ConfigurationRef[]> {
    const index = (await readSnapshotFile(this.store, files.configurations, ConfigurationsIndexSchema, { optional: true })) ?? [];
    return index.filter((c) => c.id === LEGACY_ORCHESTRATOR).flatMap((c) => (c.configurations ?? []).map((cfg) => ({ componentId: c.id, configId: cfg.id })));
  }

  /** Legacy orchestrations ordered by ID, or none: Keboola's own backups have no orchestrations.json. */
  async orchestrations(): Promise<SnapshotOrchestration[]> {
    return sortById((await readSnapshotFile(this.store, files.orchestrations, z.array(SnapshotOrchestrationSchema), { optional: true })) ?? []);
  }

  /** Our manifest: present once the snapshot is complete. */
  async manifest(): Promise<SnapshotManifest | undefined> {
    return readSnapshotFile(this.store, files.manifest, ManifestSchema, { optional: true });
  }

  /** One of our own working records (`.stack-migrate/`), or undefined when it is not written yet. */
  async record<T>(key: string): Promise<T | undefined> {
    const text = await this.store.readText(key);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new MalformedSnapshotError(`${this.store.describe(key)} is not valid JSON: the snapshot is truncated or corrupted; take a new snapshot`);
    }
  }

  /** Writes a file of the snapshot or one of our records as JSON, whole or not at all. */
  async write(key: string, value: unknown): Promise<void> {
    await this.store.writeText(key, JSON.stringify(value, null, 2));
  }

  /**
   * Our records in a folder whose names start with `namePrefix`, in name order, read a few at a time as the caller
   * takes them: a folder holds one per table, and the caller keeps what it needs of each.
   */
  async *eachRecord<T>(folder: string, namePrefix = ''): AsyncGenerator<T> {
    const names = (await this.store.list(folder)).filter((name) => name.startsWith(namePrefix) && name.endsWith('.json')).sort();
    for (let i = 0; i < names.length; i += RECORDS_READ_AT_ONCE) {
      const records = await Promise.all(names.slice(i, i + RECORDS_READ_AT_ONCE).map((name) => this.record<T>(`${folder}/${name}`)));
      for (const record of records) if (record !== undefined) yield record;
    }
  }
}

const versionKey = (componentId: string, configId: string) => `${componentId}/${configId}`;

const TABLE_FIELDS = Object.keys(SnapshotTableSchema.shape) as Array<keyof SnapshotTable>;

/**
 * What the index keeps of a table: the fields its schema names, with the bucket and an alias's source table by ID.
 * The listing also repeats the bucket's whole detail (its owner, backend, attributes) for every table: at 5,000
 * tables those copies were 10 of the 16 MB of heap that the index's tables held in every worker.
 */
function keptOfTable(table: SnapshotTable): SnapshotTable {
  const kept: Record<string, unknown> = {};
  for (const field of TABLE_FIELDS) if (table[field] !== undefined) kept[field] = table[field];
  if (table.bucket) kept.bucket = { id: table.bucket.id };
  if (table.sourceTable) kept.sourceTable = { id: table.sourceTable.id };
  return kept as SnapshotTable;
}

const indexCache = new Map<string, Promise<SnapshotIndex>>();
const MAX_CACHED = 8;
/** Records read in parallel by eachRecord: enough to hide an object store's latency. */
const RECORDS_READ_AT_ONCE = 32;

/** The reader of the snapshot in `store`. */
export function snapshotAt(store: SnapshotStore): SnapshotReader {
  return new SnapshotReader(store);
}

/**
 * Reads one file of a snapshot and checks it against its schema. A missing, unparsable or malformed file is a
 * MalformedSnapshotError that names the file and what is wrong (non-retryable: docs/domain.md, "Failure policy").
 */
export async function readSnapshotFile<S extends z.ZodType>(store: SnapshotStore, key: string, schema: S): Promise<z.output<S>>;
export async function readSnapshotFile<S extends z.ZodType>(store: SnapshotStore, key: string, schema: S, options: { optional: true }): Promise<z.output<S> | undefined>;
export async function readSnapshotFile<S extends z.ZodType>(store: SnapshotStore, key: string, schema: S, options: { optional?: boolean } = {}): Promise<z.output<S> | undefined> {
  const text = await store.readText(key);
  if (text === undefined) {
    if (options.optional) return undefined;
    throw new MalformedSnapshotError(`${key} is missing from the snapshot ${store.location}: it is incomplete; take a new snapshot or restore a complete backup`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new MalformedSnapshotError(`${key} is not valid JSON: the snapshot is truncated or corrupted; take a new snapshot (${store.location}: ${(error as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.length ? issue.path.join('.') : '(the whole file)'}: ${issue.message}`);
    throw new MalformedSnapshotError(
      `${key} in the snapshot ${store.location} is not in Keboola's backup layout: ${problems.join('; ')}${parsed.error.issues.length > 5 ? ` (and ${parsed.error.issues.length - 5} more)` : ''}; fix the file or take a new snapshot`,
    );
  }
  return parsed.data;
}

/** Whether a data file of a snapshot is gzipped: Keboola's backup names them `.gz` (`.csv` ones are plain). */
export function isGzipped(key: string): boolean {
  return key.endsWith('.gz');
}

/** Source orchestrations ordered by ID, so that "the k-th one named N" means the same thing on every attempt. */
export function sortById<T extends { id: string | number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => compareIds(String(a.id), String(b.id)));
}

function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
