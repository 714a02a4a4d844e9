// The on-disk layout of a project snapshot: Keboola's own project-backup layout (so Keboola's backups can be
// restored by us and ours by Keboola), plus our manifest. See docs/domain.md#snapshot-layout.
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
  /** A permanent file's content, where Keboola's restore reads it: `files/{name}`. */
  permanentFile: (name: string) => path.posix.join('files', name),
  tableBase: (tableId: string) => tableId.split('.').join('/'),
  tableSlice: (tableId: string, part: number) => `${tableId.split('.').join('/')}.part_${part}.csv.gz`,
  /** Our per-table record, written when a table's data is complete; merged into the manifest at the end. */
  tableRecord: (tableId: string) => path.join('.stack-migrate', 'tables', `${tableId}.json`),
  /** A table's verification in the destination, for the report. */
  verificationRecord: (tableId: string) => path.join('.stack-migrate', 'verification', `${tableId}.json`),
  /** The migration's report, as JSON, Markdown or HTML. */
  report: (format: 'json' | 'md' | 'html') => path.join('.stack-migrate', `report.${format}`),
  /** What a sync pass found changed since the pass before, and the tables it copies (docs/sync.md). */
  syncPlan: path.join('.stack-migrate', 'sync-plan.json'),
  /** What one batch of the configuration restore did, for the report. */
  configurationResults: (batchNumber: number) => path.join('.stack-migrate', 'results', `configurations-${String(batchNumber).padStart(5, '0')}.json`),
};

/** A snapshot that cannot be read: not retryable, the operator must take a new one. */
export class MalformedSnapshotError extends Error {
  override name = 'MalformedSnapshotError';
  /** The failure type Temporal records (activities/failures.ts), and why no retry is made. */
  readonly type = 'MalformedSnapshot';
  readonly nonRetryable = true;
}
