// Snapshot of the source project in Keboola's backup layout (docs/domain.md#snapshot-layout). The source is only read.
// Table data streams from the source's file storage to the snapshot store (a folder or an object store), never
// whole on local disk or in memory; nothing large passes through Temporal.
import pMap from 'p-map';
import type { StackRef } from '../workflows/input';
import type { SnapshotPlan, TableDataSnapshot } from '../workflows/types';
import type { Readable } from 'node:stream';
import { digestStream, Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import { files, MalformedSnapshotError, SNAPSHOT_FORMAT_VERSION } from '../snapshot/layout';
import { isGzipped, snapshotAt, type SnapshotReader } from '../snapshot/reader';
import type { SnapshotStore } from '../snapshot/store';
import type { SnapshotManifest } from '../snapshot/schemas';
import { tee } from '../snapshot/tee';
import type { ActivityDeps } from './deps';
import { snapshotPermanentFiles } from './permanent-files';
import { SLICE_CONCURRENCY } from './verify';
import { heartbeat, ownCursor, type Resumable } from './heartbeat';

/** Heartbeat cursor of a table export: a retry reuses the export and skips the slices already on disk. */
export interface ExportCursor {
  fileId: number | string;
  slicesDone: number;
}

/** Configurations whose metadata is read at once while the snapshot is taken (the stack's limiter bounds them too). */
const METADATA_READS_IN_FLIGHT = 8;

/** The folder name of a snapshot under the root: the snapshot ID with only safe characters. */
function snapshotName(snapshotId: string): string {
  return snapshotId.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** The newest complete snapshot (one with a manifest) taken by a run of this migration, for a resumed run. */
async function latestCompleteSnapshot(root: SnapshotStore, workflowId: string): Promise<string | undefined> {
  const prefix = snapshotName(`${workflowId}-`);
  const candidates: Array<{ location: string; createdAt: string }> = [];
  for (const entry of await root.list('')) {
    if (!entry.startsWith(prefix)) continue;
    const snapshot = root.child(entry);
    const manifest = await snapshotAt(snapshot).manifest();
    if (manifest) candidates.push({ location: snapshot.location, createdAt: manifest.createdAt });
  }
  return candidates.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]?.location;
}

async function planOf(snapshot: SnapshotReader): Promise<SnapshotPlan> {
  const index = await snapshot.index();
  return {
    snapshotDir: snapshot.location,
    bucketCount: index.buckets.length,
    dataTableCount: index.dataTableIds.length,
    aliasCount: index.aliases.length,
    configurationCount: index.configurations.length,
  };
}

export function createSnapshotActivities(deps: ActivityDeps) {
  return {
    /**
     * Buckets, tables, configurations and branch metadata as JSON files; answers what there is to move. A sync pass
     * leaves the permanent files out (`permanentFiles: false`): it does not copy them, and they can be large.
     */
    async snapshotProjectMetadata(input: { source: StackRef; snapshotId: string; reuseLatestOf?: string; permanentFiles?: boolean }): Promise<SnapshotPlan> {
      const reused = input.reuseLatestOf ? await latestCompleteSnapshot(deps.snapshotRoot, input.reuseLatestOf) : undefined;
      const snapshot = deps.snapshot(reused ?? deps.snapshotRoot.child(snapshotName(input.snapshotId)).location);
      const manifest = await snapshot.manifest();
      const client = await deps.stackClient(input.source);
      if (!manifest) {
        const [branchMetadata, buckets, tables, components] = await Promise.all([
          client.branches.listMetadata(),
          client.buckets.list(),
          client.tables.list(),
          client.components.heads(),
        ]);
        await snapshot.write(files.branchMetadata, branchMetadata);
        await snapshot.write(files.buckets, buckets);
        await snapshot.write(files.tables, tables);
        // Bodies component by component, read as they are written: the worker holds the few in flight, not a component's
        // thousands. The metadata takes one request per configuration (the API lists it for no more at once).
        for (const component of components) {
          if (!component.configurations?.length) continue;
          await pMap(
            client.configurations.stream(component.id),
            async (configuration) => {
              const metadata = await client.configurations.listMetadata(component.id, configuration.id);
              await snapshot.write(files.configuration(component.id, configuration.id), configuration);
              await snapshot.write(files.configurationMetadata(component.id, configuration.id), metadata);
              heartbeat();
            },
            { concurrency: METADATA_READS_IN_FLIGHT },
          );
        }
        // The index lists each component's configurations without their bodies; the bodies are in configurations/.
        await snapshot.write(
          files.configurations,
          components.map((component) => ({
            ...component,
            // The version lets a sync pass see which configurations changed without reading every body.
            configurations: (component.configurations ?? []).map(({ id, name, description, version }) => ({ id, name, description, version })),
          })),
        );
        // Triggers are read with the orchestrations (their IDs refer to them); an empty file keeps Keboola's layout.
        await snapshot.write(files.triggers, []);
        // Subscriptions to job events, from the Notification service (a stack without one has none to give).
        await snapshot.write(files.notifications, (await client.notifications.available()) ? await client.notifications.list() : []);
        if (input.permanentFiles !== false) await snapshotPermanentFiles(client, snapshot);
      }
      return planOf(snapshot);
    },

    /** The IDs of one batch of the tables to move, for a child workflow recorded before table groups (splitTableBatch). */
    async listTableBatch(input: { snapshotDir: string; batchNumber: number; batchSize: number }): Promise<string[]> {
      return (await deps.snapshot(input.snapshotDir).index()).tableBatch(input.batchNumber, input.batchSize);
    },

    /** Exports one table into the snapshot (a sync pass' changed table; a migration's move in groups: snapshotTableGroup). */
    async snapshotTableData(input: TableExportInput): Promise<TableDataSnapshot> {
      return exportTableData(deps, input, ownCursor<ExportCursor>());
    },

    /**
     * Reads a snapshot folder (ours or one made by Keboola's backup) and checks that it can be restored:
     * the index files parse and every table's data files are present and complete gzip streams.
     */
    async inspectSnapshot(input: { snapshotDir: string }): Promise<SnapshotPlan> {
      // Every file of the layout against its schema, before anything is written anywhere.
      const snapshot = deps.snapshot(input.snapshotDir);
      const index = await snapshot.index();
      await Promise.all([snapshot.triggers(), snapshot.notifications(), snapshot.permanentFiles(), snapshot.orchestrations(), snapshot.manifest()]);
      for (const [n, ref] of index.configurations.entries()) {
        await snapshot.configuration(ref);
        await snapshot.configurationMetadata(ref);
        if (n % 100 === 99) heartbeat();
      }
      return planOf(snapshot);
    },

    /** One table's fingerprint, for a child workflow recorded before table groups (fingerprintTableGroup). */
    async fingerprintSnapshotTable(input: { snapshotDir: string; tableId: string }): Promise<TableDataSnapshot> {
      return fingerprintTableFiles(deps, input);
    },

    /** Writes our manifest; after this the snapshot is complete and never changes. */
    async finalizeSnapshot(input: { source: StackRef; snapshotDir: string }): Promise<SnapshotManifest> {
      const snapshot = deps.snapshot(input.snapshotDir);
      const existing = await snapshot.manifest();
      if (existing) return existing;
      const index = await snapshot.index();
      let configurationRows = 0;
      for (const ref of index.configurations) configurationRows += (await snapshot.configuration(ref)).rows?.length ?? 0;
      const records: TableDataSnapshot[] = [];
      for (const tableId of index.dataTableIds) {
        const record = await snapshot.record<TableDataSnapshot>(files.tableRecord(tableId));
        if (!record) throw new Error(`the data of ${tableId} is not in the snapshot yet: snapshot every table before finalizing`);
        records.push(record);
      }
      const manifest: SnapshotManifest = {
        formatVersion: SNAPSHOT_FORMAT_VERSION,
        createdAt: new Date().toISOString(),
        source: { url: input.source.url, projectId: input.source.projectId },
        counts: {
          buckets: index.buckets.length,
          tables: index.dataTableIds.length,
          aliases: index.aliases.length,
          configurations: index.configurations.length,
          configurationRows,
        },
        bytes: records.reduce((sum, r) => sum + r.bytes, 0),
        tables: records,
      };
      await snapshot.write(files.manifest, manifest);
      return manifest;
    },
  };
}

export interface TableExportInput {
  source: StackRef;
  snapshotDir: string;
  tableId: string;
}

/** Exports one table into the snapshot with its fingerprint, resuming from `step`'s cursor; a table already in answers its record. */
export async function exportTableData(deps: ActivityDeps, input: TableExportInput, step: Resumable<ExportCursor>): Promise<TableDataSnapshot> {
  const snapshot = deps.snapshot(input.snapshotDir);
  const done = await snapshot.record<TableDataSnapshot>(files.tableRecord(input.tableId));
  if (done) return done;

  const client = await deps.stackClient(input.source);
  const cursor = step.cursor;
  const file = cursor ? await client.files.get(cursor.fileId) : await client.tables.export(input.tableId);
  const sliceUrls = await client.files.sliceUrls(file);
  const fingerprinter = new Fingerprinter();
  const written: string[] = new Array(sliceUrls.length);
  const digests: Record<string, string> = {};
  const sizes: number[] = new Array(sliceUrls.length).fill(-1);
  // Several slices at once (download, disk and parsing overlap); the cursor counts the finished prefix.
  let slicesDone = cursor?.slicesDone ?? 0;
  await pMap(
    sliceUrls.keys(),
    async (part) => {
      // A sliced export becomes `.part_N.csv.gz` slices (no header); a plain one `<table>.csv.gz` (with header).
      const relative = file.isSliced ? files.tableSlice(input.tableId, part) : `${files.tableBase(input.tableId)}.csv.gz`;
      const slice = new Fingerprinter();
      const fingerprintAndDigest = [
        (branch: Readable) => fingerprintStream(slice, branch, { gzipped: true, skipHeader: !file.isSliced }),
        async (branch: Readable) => void (digests[relative] = await digestStream(branch)),
      ];
      if (cursor && part < cursor.slicesDone) {
        // In the snapshot from the previous attempt: fingerprint that copy instead of downloading again.
        await tee(snapshot.open(relative), fingerprintAndDigest);
        sizes[part] = (await snapshot.store.size(relative)) ?? 0;
      } else {
        let size = 0;
        await tee(client.files.openSlice(file, sliceUrls[part]), [async (branch) => void (size = await snapshot.store.write(relative, branch)), ...fingerprintAndDigest]);
        sizes[part] = size;
      }
      fingerprinter.merge(slice);
      written[part] = relative;
      while (slicesDone < sizes.length && sizes[slicesDone] >= 0) slicesDone++;
      step.report({ fileId: file.id, slicesDone });
    },
    { concurrency: SLICE_CONCURRENCY },
  );
  const bytes = sizes.reduce((sum, size) => sum + size, 0);
  const record: TableDataSnapshot = { tableId: input.tableId, files: written, bytes, ...fingerprinter.result(), digests };
  await snapshot.write(files.tableRecord(input.tableId), record);
  deps.metrics?.bytesCopied('export', bytes);
  return record;
}

/**
 * The fingerprint of one table's data files in a snapshot, read from disk. The snapshot's own files are not changed;
 * the fingerprint is recorded in our working folder `.stack-migrate/` inside it, like a migration's.
 */
export async function fingerprintTableFiles(deps: ActivityDeps, input: { snapshotDir: string; tableId: string }): Promise<TableDataSnapshot> {
  const snapshot = deps.snapshot(input.snapshotDir);
  const record = await snapshot.record<TableDataSnapshot>(files.tableRecord(input.tableId));
  if (record) return record;
  const data = await snapshot.tableData(input.tableId);
  const fingerprinter = new Fingerprinter();
  const digests: Record<string, string> = {};
  let bytes = 0;
  for (const file of data.files) {
    const consumers = [(branch: Readable) => fingerprintStream(fingerprinter, branch, { gzipped: isGzipped(file), skipHeader: !data.sliced })];
    if (isGzipped(file)) consumers.push(async (branch) => void (digests[file] = await digestStream(branch)));
    await tee(snapshot.open(file), consumers).catch((error: Error) => {
      throw new MalformedSnapshotError(`${snapshot.store.describe(file)} cannot be read as ${isGzipped(file) ? 'gzipped ' : ''}CSV (${error.message}): the snapshot is truncated or corrupted`);
    });
    bytes += (await snapshot.store.size(file)) ?? 0;
    heartbeat();
  }
  const fingerprint: TableDataSnapshot = { tableId: input.tableId, files: data.files, bytes, ...fingerprinter.result(), digests };
  await snapshot.write(files.tableRecord(input.tableId), fingerprint);
  return fingerprint;
}
