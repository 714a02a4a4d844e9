// Restores tables (structure, primary key, display name, metadata, data) and aliases from a snapshot.
// Data is imported as a full load, which replaces the table's content: repeating it never duplicates rows.
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { StackError, type StackClient, type Table } from '../stack';
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome, TableDataSnapshot } from '../workflows/types';
import { formatCsvRow } from '../snapshot/csv';
import { files, MalformedSnapshotError } from '../snapshot/layout';
import { bucketIdOf, GROUPED_TABLE_MAX_BYTES, isGzipped, type SnapshotReader } from '../snapshot/reader';
import { observed } from '../snapshot/tee';
import { columnsForBackend, nullablePrimaryKeyColumns, typedColumnsOf } from '../snapshot/typed-columns';
import { backendsOf } from './validate';
import type { SnapshotTable } from '../snapshot/schemas';
import { digestStream, Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import type { ActivityDeps } from './deps';
import { groupByProvider } from './metadata';
import { createOrFind } from './create-or-find';
import { chunk } from '../workflows/concurrency';
import { heartbeat, ownCursor, type Resumable } from './heartbeat';

/** Column metadata is written in batches of this many columns per request. */
const COLUMN_METADATA_BATCH = 50;

/** Heartbeat cursor of a table import: a retry reuses the uploaded file and waits for the same job. */
export interface ImportCursor {
  fileId: number | string;
}

/** The cursor when its file is still in the stack's file storage, else undefined. */
async function stillUploaded(client: StackClient, cursor: ImportCursor | undefined): Promise<ImportCursor | undefined> {
  if (!cursor) return undefined;
  try {
    await client.files.get(cursor.fileId);
    return cursor;
  } catch (error) {
    if (error instanceof StackError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

export interface TableRestoreResult {
  tableId: string;
  created: boolean;
  rowsImported: number;
  dataSkipped?: string;
}

export function createTableActivities(deps: ActivityDeps) {
  return {
    /** One table (a sync pass' relabelled one, and batches recorded before table groups: restoreTableGroup). */
    async restoreTable(input: TableRestoreInput): Promise<TableRestoreResult> {
      return restoreTableFromSnapshot(deps, input, ownCursor<ImportCursor>());
    },

    /** Aliases after their source tables (docs/domain.md#restore-order), with filters and, when not auto-synced, their columns. */
    async restoreAliases(input: { destination: StackRef; snapshotDir: string }): Promise<RestoreOutcome> {
      const client = await deps.stackClient(input.destination);
      const index = await deps.snapshot(input.snapshotDir).index();
      const { aliases } = index;
      const destinationTables = new Map((await client.tables.list()).map((t) => [t.id, t]));
      const outcome: RestoreOutcome = { created: [], existing: [], skipped: [] };
      // Aliases in buckets that are not restored (linked, system): named one by one, as their bucket is.
      const restorable = new Set(index.restorableBuckets().map((b) => b.id));
      for (const alias of index.tables.filter((t) => t.isAlias && !restorable.has(bucketIdOf(t)))) {
        outcome.skipped.push({ id: alias.id, reason: `its bucket ${bucketIdOf(alias)} is not restored` });
      }
      for (const alias of aliases) {
        const sourceTableId = alias.sourceTable?.id;
        if (!sourceTableId || !destinationTables.has(sourceTableId)) {
          outcome.skipped.push({ id: alias.id, reason: `its source table ${sourceTableId ?? '(unknown)'} is not in the destination (linked or skipped)` });
          continue;
        }
        let current = destinationTables.get(alias.id);
        if (current) {
          outcome.existing.push(alias.id);
        } else {
          current = await client.tables.createAlias(bucketIdOf(alias), {
            sourceTable: sourceTableId,
            name: alias.name,
            aliasFilter: alias.aliasFilter ?? undefined,
            aliasColumns: alias.aliasColumnsAutoSync === false ? alias.columns : undefined,
          });
          outcome.created.push(alias.id);
          deps.metrics?.entitiesMigrated('aliases');
        }
        await restoreDisplayName(client, alias, current);
        await restoreTableMetadata(client, alias);
        heartbeat();
      }
      return outcome;
    },
  };
}

export interface TableRestoreInput {
  destination: StackRef;
  snapshotDir: string;
  tableId: string;
  /** The data is imported again even when the row count already matches (a repair after verification). */
  reimport?: boolean;
}

/** Restores one table (structure, display name, metadata, data) from the snapshot, resuming from `step`'s cursor. */
export async function restoreTableFromSnapshot(deps: ActivityDeps, input: TableRestoreInput, step: Resumable<ImportCursor>): Promise<TableRestoreResult> {
  const client = await deps.stackClient(input.destination);
  const snapshot = deps.snapshot(input.snapshotDir);
  const table = (await snapshot.index()).table(input.tableId);

  const record = await snapshot.record<TableDataSnapshot>(files.tableRecord(table.id));
  const data = await snapshot.tableData(table.id);
  // An untyped table whose data is one file is created from it: the create job loads it, so the table costs one
  // upload and one job instead of a header upload, a create job and an import job. The create takes no column
  // list, so a one-slice export (slices carry no header) is uploaded with its header row put back, when it is small.
  const oneFile = data.files.length === 1 && record !== undefined;
  const createWithData = !typedColumnsOf(table) && oneFile && (!data.sliced || record.bytes <= GROUPED_TABLE_MAX_BYTES);

  // Created without a look first (activities/create-or-find.ts), unless a repair or a retry expects it there
  // (the refused create would cost an upload).
  const expected = input.reimport || step.retried;
  let current: Pick<Table, 'displayName' | 'rowsCount'> | null = expected ? await client.tables.get(table.id) : null;
  let created = false;
  if (!current) {
    const bucket = (await snapshot.index()).buckets.find((b) => b.id === bucketIdOf(table));
    const withData = createWithData ? () => uploadChecked(client, snapshot, table.id, data, record, { headerRow: data.sliced ? table.columns : undefined }) : undefined;
    const outcome = await createOrFind(() => createTableStructure(client, table, bucket?.backend ?? undefined, withData), () => client.tables.get(table.id));
    created = 'created' in outcome;
    current = 'existing' in outcome ? outcome.existing : { displayName: table.name, rowsCount: createWithData ? record.rows : 0 };
    if (created) deps.metrics?.entitiesMigrated('tables');
    if (created && createWithData) deps.metrics?.bytesCopied('import', record.bytes);
  }
  await restoreDisplayName(client, table, current);
  await restoreTableMetadata(client, table);

  if (data.files.length === 0) return { tableId: table.id, created, rowsImported: 0, dataSkipped: 'no data in the snapshot' };
  if (created && createWithData) return { tableId: table.id, created, rowsImported: record.rows };
  if (!input.reimport && record && record.rows > 0 && current.rowsCount === record.rows) {
    return { tableId: table.id, created, rowsImported: 0, dataSkipped: 'already imported' };
  }

  // A cursor's file the stack no longer has (expired, or lost with the stack's state) is uploaded again.
  const cursor = await stillUploaded(client, step.cursor);
  const fileId = cursor ? cursor.fileId : await uploadChecked(client, snapshot, table.id, data, record);
  step.report({ fileId }); // the worker's keep-alive repeats it while the job runs
  await client.tables.import(table.id, {
    dataFileId: fileId,
    incremental: false,
    ...(data.sliced ? { withoutHeaders: true, columns: table.columns } : {}),
  });
  deps.metrics?.bytesCopied('import', record?.bytes ?? 0);
  return { tableId: table.id, created, rowsImported: record?.rows ?? -1 };
}

/**
 * Uploads the table's snapshot files, checking them on the way (one read of the snapshot, not two): against the
 * SHA-256 the snapshot recorded of each file, or where it recorded none (older records, a Keboola backup's plain
 * CSV) against its CSV fingerprint. A truncated gzip, a broken CSV or data that differs from what the snapshot took
 * is a malformed snapshot (non-retryable), found before anything is imported: the uploaded file is then only left to
 * expire.
 */
async function uploadChecked(
  client: StackClient,
  snapshot: SnapshotReader,
  tableId: string,
  data: { files: string[]; sliced: boolean },
  record: TableDataSnapshot | undefined,
  { headerRow }: { headerRow?: readonly string[] } = {},
): Promise<number> {
  const digests = record?.digests;
  const byDigest = digests !== undefined && data.files.every((file) => isGzipped(file) && digests[file] !== undefined);
  const checks = new Map<string, Promise<Fingerprinter | string>>();
  const unreadable = (file: string, error: unknown) =>
    new MalformedSnapshotError(
      `${path.basename(file)} of table ${tableId} cannot be read (${error instanceof Error ? error.message : String(error)}): the snapshot is truncated or corrupted; take a new snapshot`,
    );
  let readFailure: MalformedSnapshotError | undefined; // the snapshot's own file failed, not the upload
  const open = (file: string) => () => {
    const source = snapshot.openGzipped(file).once('error', (error) => (readFailure ??= unreadable(file, error)));
    const { stream, result } = observed<Fingerprinter | string>(source, async (copy) => {
      if (byDigest) return digestStream(copy);
      const print = new Fingerprinter();
      await fingerprintStream(print, copy, { gzipped: true, skipHeader: !data.sliced });
      return print;
    });
    result.catch(() => undefined); // read after the upload, or never when the upload fails
    checks.set(file, result);
    return stream;
  };
  const name = `${tableId}.csv.gz`;
  const uploaded = await (headerRow
    ? client.files.upload(name, () => withHeaderRow(open(data.files[0])(), headerRow, (error) => (readFailure ??= unreadable(data.files[0], error))))
    : data.sliced
      ? client.files.uploadSliced(name, data.files.map(open))
      : client.files.upload(name, open(data.files[0]))
  ).catch((error: unknown) => {
    throw readFailure ?? error;
  });
  const checked = async (file: string) => checks.get(file)!.catch((error: unknown) => Promise.reject(unreadable(file, error)));
  if (byDigest) {
    for (const file of data.files) {
      const digest = (await checked(file)) as string;
      if (digest !== digests[file]) {
        throw new MalformedSnapshotError(
          `${path.basename(file)} of table ${tableId} is not the file the snapshot wrote (SHA-256 ${digest.slice(0, 12)}, recorded ${digests[file].slice(0, 12)}): the snapshot was changed or damaged; take a new snapshot`,
        );
      }
    }
    return uploaded.id;
  }
  const fingerprinter = new Fingerprinter();
  for (const file of data.files) fingerprinter.merge((await checked(file)) as Fingerprinter);
  const found = fingerprinter.result();
  if (record && (found.rows !== record.rows || found.checksum !== record.checksum)) {
    throw new MalformedSnapshotError(
      `the data files of table ${tableId} hold ${found.rows} rows (checksum ${found.checksum.slice(0, 12)}), but the snapshot recorded ${record.rows} rows (checksum ${record.checksum.slice(0, 12)}): the snapshot was changed or damaged; take a new snapshot`,
    );
  }
  return uploaded.id;
}

/**
 * One gzipped slice (no header) as a gzipped CSV file that starts with `columns`' header row. A slice that does not
 * decompress (a truncated gzip) is the snapshot's fault: `unreadable` hears of it before the upload fails.
 */
function withHeaderRow(slice: Readable, columns: readonly string[], unreadable: (error: Error) => void): Readable {
  const file = createGzip();
  file.write(formatCsvRow(columns));
  const rows = createGunzip().once('error', unreadable);
  for (const stream of [slice, rows]) stream.once('error', (error) => file.destroy(error));
  slice.pipe(rows).pipe(file);
  return file;
}

/** Creates the table; an untyped one from `withData`'s upload of its data (with the header row) when given. */
async function createTableStructure(client: StackClient, table: SnapshotTable, backend: string | undefined, withData?: () => Promise<number>): Promise<string> {
  const bucketId = bucketIdOf(table);
  let typedColumns = typedColumnsOf(table);
  if (typedColumns && backend) {
    // A bucket of a backend the destination lacks lands on its default backend (validation warned): types follow.
    const token = await client.tokens.verify();
    const defaultBackend = token.owner.defaultBackend;
    if (defaultBackend && defaultBackend !== backend && !backendsOf(token).includes(backend)) {
      const mapped = columnsForBackend(typedColumns, defaultBackend);
      if ('unmappable' in mapped) {
        throw new MalformedSnapshotError(
          `table ${table.id} cannot be restored onto the ${defaultBackend} backend: ${mapped.unmappable.map((u) => `${u.column} (${u.reason})`).join(', ')}; create the destination project with the ${backend} backend`,
        );
      }
      typedColumns = mapped.columns;
    }
  }
  if (typedColumns) {
    const nullable = nullablePrimaryKeyColumns(table);
    if (nullable.length) {
      // Validation blocks this before anything is written; a snapshot changed since then still gets a clear reason.
      throw new MalformedSnapshotError(
        `table ${table.id} cannot be restored: its primary key column(s) ${nullable.join(', ')} are nullable in the snapshot, and a stack refuses a primary key on a nullable column; make them NOT NULL in the source (or leave them out of the primary key) and take a new snapshot`,
      );
    }
    return client.tables.createDefinition(bucketId, { name: table.name, primaryKeysNames: table.primaryKey ?? [], columns: typedColumns });
  }
  // Otherwise an untyped table is created from a CSV that holds only its header row.
  const fileId = withData ? await withData() : await uploadHeader(client, table);
  return client.tables.createFromFile(bucketId, { name: table.name, dataFileId: fileId, primaryKey: table.primaryKey ?? [] });
}

async function uploadHeader(client: StackClient, table: SnapshotTable): Promise<number | string> {
  const header = Buffer.from(formatCsvRow(table.columns));
  return (await client.files.upload(`${table.id}.header.csv`, header, { sizeBytes: header.length })).id;
}

async function restoreDisplayName(client: StackClient, table: SnapshotTable, current: Pick<Table, 'displayName'>): Promise<void> {
  if (table.displayName && table.displayName !== table.name && current.displayName !== table.displayName) {
    await client.tables.update(table.id, { displayName: table.displayName });
  }
}

async function restoreTableMetadata(client: StackClient, table: SnapshotTable): Promise<void> {
  const tableGroups = groupByProvider(table.metadata);
  const columnGroups = new Map<string, Record<string, Array<{ key: string; value: string }>>>();
  for (const [column, entries] of Object.entries(table.columnMetadata ?? {})) {
    for (const [provider, group] of groupByProvider(entries)) {
      const columns = columnGroups.get(provider) ?? {};
      columns[column] = group;
      columnGroups.set(provider, columns);
    }
  }
  for (const provider of new Set([...tableGroups.keys(), ...columnGroups.keys()])) {
    const columnBatches = chunk(Object.entries(columnGroups.get(provider) ?? {}), COLUMN_METADATA_BATCH);
    const batches = columnBatches.length ? columnBatches : [[]];
    for (const [i, batch] of batches.entries()) {
      await client.tables.setMetadata(table.id, provider, {
        metadata: i === 0 ? tableGroups.get(provider) : undefined,
        columnsMetadata: batch.length ? Object.fromEntries(batch) : undefined,
      });
    }
  }
}
