// The on-disk layout of a project snapshot: Keboola's own project-backup layout (so Keboola's backups can be
// restored by us and ours by Keboola), plus our manifest. See docs/domain.md#snapshot-layout.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export const SNAPSHOT_FORMAT_VERSION = 1;

export const files = {
  buckets: 'buckets.json',
  tables: 'tables.json',
  configurations: 'configurations.json',
  branchMetadata: 'defaultBranchMetadata.json',
  triggers: 'triggers.json',
  notifications: 'notifications.json',
  permanentFiles: 'permanentFiles.json',
  /** Our extension of Keboola's layout: every legacy orchestration in full (tasks, notifications, schedule). */
  orchestrations: 'orchestrations.json',
  manifest: 'manifest.json',
  configuration: (componentId: string, configId: string) => path.join('configurations', componentId, `${configId}.json`),
  configurationMetadata: (componentId: string, configId: string) => path.join('configurations', componentId, `${configId}.json.metadata`),
  /** `in.c-crm.customers` → `in/c-crm/customers` (Keboola replaces the dots of the table ID with slashes). */
  tableBase: (tableId: string) => tableId.split('.').join('/'),
  tableSlice: (tableId: string, part: number) => `${tableId.split('.').join('/')}.part_${part}.csv.gz`,
  /** Our per-table record, written when a table's data is complete; merged into the manifest at the end. */
  tableRecord: (tableId: string) => path.join('.stack-migrate', 'tables', `${tableId}.json`),
  /** A table's verification in the destination, for the report. */
  verificationRecord: (tableId: string) => path.join('.stack-migrate', 'verification', `${tableId}.json`),
  /** What one batch of the configuration restore did, for the report. */
  configurationResults: (batchNumber: number) => path.join('.stack-migrate', 'results', `configurations-${String(batchNumber).padStart(5, '0')}.json`),
};

/** Writes a JSON file so that a reader never sees half of it (a crash leaves the old file or none). */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(temp, JSON.stringify(value, null, 2));
  await fs.rename(temp, file);
}

/**
 * Reads one of our own working records (`.stack-migrate/`: per-table results, verification, reports). The files of
 * Keboola's layout are read through snapshot/reader.ts, which checks each against its schema.
 */
export async function readJson<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MalformedSnapshotError(`${path.basename(file)} is missing from the snapshot ${path.dirname(file)}`);
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new MalformedSnapshotError(`${file} is not valid JSON: the snapshot is truncated or corrupted; take a new snapshot`);
  }
}

export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return await readJson<T>(file);
  } catch (error) {
    if (error instanceof MalformedSnapshotError && !(await exists(file))) return undefined;
    throw error;
  }
}

export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** A snapshot that cannot be read: not retryable, the operator must take a new one. */
export class MalformedSnapshotError extends Error {
  override name = 'MalformedSnapshotError';
  /** The failure type Temporal records (activities/failures.ts), and why no retry is made. */
  readonly type = 'MalformedSnapshot';
  readonly nonRetryable = true;
}
