// The on-disk layout of a project snapshot: Keboola's own project-backup layout (so Keboola's backups can be
// restored by us and ours by Keboola), plus our manifest. See DESIGN §3.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { TableDataSnapshot } from '../workflows/types';

export const SNAPSHOT_FORMAT_VERSION = 1;

export const files = {
  buckets: 'buckets.json',
  tables: 'tables.json',
  configurations: 'configurations.json',
  branchMetadata: 'defaultBranchMetadata.json',
  triggers: 'triggers.json',
  notifications: 'notifications.json',
  permanentFiles: 'permanentFiles.json',
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

export interface SnapshotManifest {
  formatVersion: number;
  createdAt: string;
  source: { url: string; projectId: number };
  counts: { buckets: number; tables: number; aliases: number; configurations: number; configurationRows: number };
  bytes: number;
  tables: TableDataSnapshot[];
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(temp, JSON.stringify(value, null, 2));
  await fs.rename(temp, file);
}

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

/**
 * The data files of one table in a snapshot: `[<table>.csv.gz]` (one file with a header row) or the
 * `.part_N.csv.gz` slices (no header) in part order; empty for an empty table.
 */
export async function tableDataFiles(snapshotDir: string, tableId: string): Promise<{ files: string[]; sliced: boolean }> {
  const base = files.tableBase(tableId);
  const dir = path.join(snapshotDir, path.dirname(base));
  const name = path.basename(base);
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  const parts = entries
    .map((entry) => ({ entry, match: entry.startsWith(`${name}.part_`) ? /^\.part_(\d+)\.csv\.gz$/.exec(entry.slice(name.length)) : null }))
    .filter((item): item is { entry: string; match: RegExpExecArray } => item.match !== null)
    .sort((a, b) => Number(a.match[1]) - Number(b.match[1]))
    .map((item) => path.join(dir, item.entry));
  if (parts.length > 0) return { files: parts, sliced: true };
  if (entries.includes(`${name}.csv.gz`)) return { files: [path.join(dir, `${name}.csv.gz`)], sliced: false };
  return { files: [], sliced: false };
}

/** A snapshot that cannot be read: not retryable, the operator must take a new one. */
export class MalformedSnapshotError extends Error {
  override name = 'MalformedSnapshotError';
}
