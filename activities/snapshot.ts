// Snapshot of the source project in Keboola's backup layout (docs/domain.md#snapshot-layout). The source is only read.
// Table data streams from the source's file storage to disk; nothing large passes through Temporal.
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Context } from '@temporalio/activity';
import pMap from 'p-map';
import type { StackRef } from '../workflows/input';
import type { SnapshotPlan, TableDataSnapshot } from '../workflows/types';
import { Fingerprinter, fingerprintStream } from '../snapshot/fingerprint';
import { files, MalformedSnapshotError, readJsonIfExists, SNAPSHOT_FORMAT_VERSION, writeJsonAtomic } from '../snapshot/layout';
import { snapshotAt } from '../snapshot/reader';
import type { SnapshotManifest } from '../snapshot/schemas';
import { tee } from '../snapshot/tee';
import type { ActivityDeps } from './deps';
import { SLICE_CONCURRENCY } from './verify';

/** Heartbeat cursor of a table export: a retry reuses the export and skips the slices already on disk. */
interface ExportCursor {
  fileId: number | string;
  slicesDone: number;
}

export function snapshotDirFor(root: string, snapshotId: string): string {
  return path.join(root, snapshotId.replace(/[^A-Za-z0-9._-]+/g, '_'));
}

/** The newest complete snapshot (one with a manifest) taken by a run of this migration, for a resumed run. */
async function latestCompleteSnapshot(root: string, workflowId: string): Promise<string | undefined> {
  const prefix = path.basename(snapshotDirFor(root, `${workflowId}-`));
  const candidates: Array<{ dir: string; createdAt: string }> = [];
  for (const entry of await fs.readdir(root).catch(() => [] as string[])) {
    if (!entry.startsWith(prefix)) continue;
    const manifest = await snapshotAt(path.join(root, entry)).manifest();
    if (manifest) candidates.push({ dir: path.join(root, entry), createdAt: manifest.createdAt });
  }
  return candidates.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]?.dir;
}

async function planOf(snapshotDir: string): Promise<SnapshotPlan> {
  const index = await snapshotAt(snapshotDir).index();
  return {
    snapshotDir,
    bucketCount: index.buckets.length,
    dataTableCount: index.dataTableIds.length,
    aliasCount: index.aliases.length,
    configurationCount: index.configurations.length,
  };
}

export function createSnapshotActivities(deps: ActivityDeps) {
  return {
    /** Buckets, tables, configurations and branch metadata as JSON files; answers what there is to move. */
    async snapshotProjectMetadata(input: { source: StackRef; snapshotId: string; reuseLatestOf?: string }): Promise<SnapshotPlan> {
      const reused = input.reuseLatestOf ? await latestCompleteSnapshot(deps.snapshotRoot, input.reuseLatestOf) : undefined;
      const snapshotDir = reused ?? snapshotDirFor(deps.snapshotRoot, input.snapshotId);
      const manifest = await snapshotAt(snapshotDir).manifest();
      const client = await deps.stackClient(input.source);
      if (!manifest) {
        const [branchMetadata, buckets, tables, components] = await Promise.all([
          client.branches.listMetadata(),
          client.buckets.list(),
          client.tables.list(),
          client.components.list(),
        ]);
        await writeJsonAtomic(path.join(snapshotDir, files.branchMetadata), branchMetadata);
        await writeJsonAtomic(path.join(snapshotDir, files.buckets), buckets);
        await writeJsonAtomic(path.join(snapshotDir, files.tables), tables);
        for (const component of components) {
          for (const configuration of component.configurations ?? []) {
            const metadata = await client.configurations.listMetadata(component.id, configuration.id);
            await writeJsonAtomic(path.join(snapshotDir, files.configuration(component.id, configuration.id)), configuration);
            await writeJsonAtomic(path.join(snapshotDir, files.configurationMetadata(component.id, configuration.id)), metadata);
            Context.current().heartbeat(); // one request per configuration: thousands in a large project
          }
        }
        // The index lists each component's configurations without their bodies; the bodies are in configurations/.
        await writeJsonAtomic(
          path.join(snapshotDir, files.configurations),
          components.map((component) => ({
            ...component,
            configurations: (component.configurations ?? []).map(({ id, name, description }) => ({ id, name, description })),
          })),
        );
        // Triggers and notifications live in services this tool does not read yet; Keboola's layout has the files.
        await writeJsonAtomic(path.join(snapshotDir, files.triggers), []);
        await writeJsonAtomic(path.join(snapshotDir, files.notifications), []);
      }
      return planOf(snapshotDir);
    },

    /** The IDs of one batch of the tables to move (see SnapshotIndex.dataTableIds), for a child workflow. */
    async listTableBatch(input: { snapshotDir: string; batchNumber: number; batchSize: number }): Promise<string[]> {
      return (await snapshotAt(input.snapshotDir).index()).tableBatch(input.batchNumber, input.batchSize);
    },

    /** Exports one table and stores its slices as `<stage>/<c-bucket>/<table>.part_N.csv.gz`, with a fingerprint. */
    async snapshotTableData(input: { source: StackRef; snapshotDir: string; tableId: string }): Promise<TableDataSnapshot> {
      const recordFile = path.join(input.snapshotDir, files.tableRecord(input.tableId));
      const done = await readJsonIfExists<TableDataSnapshot>(recordFile);
      if (done) return done;

      const client = await deps.stackClient(input.source);
      const context = Context.current();
      const cursor = context.info.heartbeatDetails as ExportCursor | undefined;
      const file = cursor ? await client.files.get(cursor.fileId) : await client.tables.export(input.tableId);
      const sliceUrls = await client.files.sliceUrls(file);
      const fingerprinter = new Fingerprinter();
      const written: string[] = new Array(sliceUrls.length);
      const sizes: number[] = new Array(sliceUrls.length).fill(-1);
      // Several slices at once (download, disk and parsing overlap); the cursor counts the finished prefix.
      let slicesDone = cursor?.slicesDone ?? 0;
      await pMap(
        sliceUrls.keys(),
        async (part) => {
          // A sliced export becomes `.part_N.csv.gz` slices (no header); a plain one `<table>.csv.gz` (with header).
          const relative = file.isSliced ? files.tableSlice(input.tableId, part) : `${files.tableBase(input.tableId)}.csv.gz`;
          const target = path.join(input.snapshotDir, relative);
          await fs.mkdir(path.dirname(target), { recursive: true });
          const slice = new Fingerprinter();
          if (cursor && part < cursor.slicesDone) {
            // Already on disk from the previous attempt: fingerprint the local copy instead of downloading again.
            await fingerprintStream(slice, createReadStream(target), { gzipped: true, skipHeader: !file.isSliced });
          } else {
            const temp = `${target}.partial`;
            await tee(client.files.openSlice(file, sliceUrls[part]), [
              (branch) => pipeline(branch, createWriteStream(temp)),
              (branch) => fingerprintStream(slice, branch, { gzipped: true, skipHeader: !file.isSliced }),
            ]);
            await fs.rename(temp, target);
          }
          fingerprinter.merge(slice);
          sizes[part] = (await fs.stat(target)).size;
          written[part] = relative;
          while (slicesDone < sizes.length && sizes[slicesDone] >= 0) slicesDone++;
          context.heartbeat({ fileId: file.id, slicesDone } satisfies ExportCursor);
        },
        { concurrency: SLICE_CONCURRENCY },
      );
      const bytes = sizes.reduce((sum, size) => sum + size, 0);
      const record: TableDataSnapshot = { tableId: input.tableId, files: written, bytes, ...fingerprinter.result() };
      await writeJsonAtomic(recordFile, record);
      deps.metrics?.bytesCopied('export', bytes);
      return record;
    },

    /**
     * Reads a snapshot folder (ours or one made by Keboola's backup) and checks that it can be restored:
     * the index files parse and every table's data files are present and complete gzip streams.
     */
    async inspectSnapshot(input: { snapshotDir: string }): Promise<SnapshotPlan> {
      // Every file of the layout against its schema, before anything is written anywhere.
      const snapshot = snapshotAt(input.snapshotDir);
      const index = await snapshot.index();
      await Promise.all([snapshot.triggers(), snapshot.notifications(), snapshot.permanentFiles(), snapshot.orchestrations(), snapshot.manifest()]);
      for (const [n, ref] of index.configurations.entries()) {
        await snapshot.configuration(ref);
        await snapshot.configurationMetadata(ref);
        if (n % 100 === 99) Context.current().heartbeat();
      }
      return planOf(input.snapshotDir);
    },

    /**
     * The fingerprint of one table's data files in a snapshot, read from disk. The snapshot's own files are not
     * changed; the fingerprint is recorded in our working folder `.stack-migrate/` inside it, like a migration's.
     */
    async fingerprintSnapshotTable(input: { snapshotDir: string; tableId: string }): Promise<TableDataSnapshot> {
      const recordFile = path.join(input.snapshotDir, files.tableRecord(input.tableId));
      const record = await readJsonIfExists<TableDataSnapshot>(recordFile);
      if (record) return record;
      const data = await snapshotAt(input.snapshotDir).tableData(input.tableId);
      const fingerprinter = new Fingerprinter();
      let bytes = 0;
      for (const file of data.files) {
        await fingerprintStream(fingerprinter, createReadStream(file), { gzipped: true, skipHeader: !data.sliced }).catch((error: Error) => {
          throw new MalformedSnapshotError(`${file} cannot be read as gzipped CSV (${error.message}): the snapshot is truncated or corrupted`);
        });
        bytes += (await fs.stat(file)).size;
        Context.current().heartbeat();
      }
      const fingerprint: TableDataSnapshot = { tableId: input.tableId, files: data.files.map((f) => path.relative(input.snapshotDir, f)), bytes, ...fingerprinter.result() };
      await writeJsonAtomic(recordFile, fingerprint);
      return fingerprint;
    },

    /** Writes our manifest; after this the snapshot is complete and never changes. */
    async finalizeSnapshot(input: { source: StackRef; snapshotDir: string }): Promise<SnapshotManifest> {
      const snapshot = snapshotAt(input.snapshotDir);
      const existing = await snapshot.manifest();
      if (existing) return existing;
      const index = await snapshot.index();
      let configurationRows = 0;
      for (const ref of index.configurations) configurationRows += (await snapshot.configuration(ref)).rows?.length ?? 0;
      const records: TableDataSnapshot[] = [];
      for (const tableId of index.dataTableIds) {
        const record = await readJsonIfExists<TableDataSnapshot>(path.join(input.snapshotDir, files.tableRecord(tableId)));
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
      await writeJsonAtomic(path.join(input.snapshotDir, files.manifest), manifest);
      return manifest;
    },
  };
}
