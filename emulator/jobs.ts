/**
 * The Storage job runner: asynchronous calls (table create/import/export, drops, primary keys, columns) answer 202 with a
 * job that runs after a third of the job delay and finishes no sooner than the delay (longer for more bytes).
 * Jobs live in the state, so waiting and processing ones resume after a restart (`resumeJobs`).
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackHost } from './host';
import { ApiError, badRequest } from './replies';
import { timestamp, type JobOp, type JobRecord, type ProjectRecord, type TableRecord, type TokenRecord } from './state';
import { exportSlices, importFiles, jobError, sanitizeColumnName, writeRows, type ViewSpec } from './tabledata';
import { addColumn, aliasView, bucket, deleteColumn, dropBucket, dropTable, refreshAliasCounts, table, tablePath, touchTable } from './storage/entities';
import { fileRecord, newFile, withFileContents, withStaging } from './storage/files';

const KEPT_JOBS = 5000;

export function createJob(
  host: StackHost,
  p: ProjectRecord,
  token: TokenRecord,
  op: JobOp,
  operationName: string,
  operationParams: Record<string, unknown>,
  tableId: string | null,
  runId: string | null,
): JobRecord {
  const job: JobRecord = {
    id: host.state.nextId.job++,
    projectId: p.id,
    status: 'waiting',
    tableId,
    operationName,
    operationParams,
    createdTime: timestamp(),
    startTime: null,
    endTime: null,
    runId,
    results: null,
    creatorToken: { id: token.id, description: token.description, name: token.description },
    metrics: { inCompressed: false, inBytes: 0, inBytesUncompressed: 0, outCompressed: false, outBytes: 0, outBytesUncompressed: 0 },
    op,
  };
  host.state.jobs.push(job);
  if (host.state.jobs.length > KEPT_JOBS) host.state.jobs.splice(0, host.state.jobs.length - KEPT_JOBS);
  host.changed();
  scheduleJob(host, job);
  return job;
}

/** Restarts the jobs a previous run of the stack left waiting or processing. */
export function resumeJobs(host: StackHost): void {
  for (const job of host.state.jobs) if (job.status === 'waiting' || job.status === 'processing') scheduleJob(host, job);
}

function scheduleJob(host: StackHost, job: JobRecord): void {
  const started = Date.now();
  host.later(Math.max(1, Math.floor(host.jobDelayMs / 3)), () => {
    job.status = 'processing';
    job.startTime = timestamp();
    host.changed();
    const run = runJob(host, job)
      .then(
        (results) => ({ ok: true as const, results }),
        (e: unknown) => ({ ok: false as const, e }),
      )
      .then((outcome) => {
        const bytes = job.metrics.inBytes + job.metrics.outBytes;
        const target = host.jobDelayMs * (1 + Math.min(bytes / (50 * 1024 * 1024), 20));
        const finish = () => {
          job.endTime = timestamp();
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
          host.changed();
        };
        const rest = target - (Date.now() - started);
        if (rest > 0 && !host.closing) host.later(rest, finish);
        else if (!host.closing) finish();
      });
    host.track(run);
  });
}

type Results = Record<string, unknown> | null;
type Operation<K extends JobOp['kind']> = (host: StackHost, p: ProjectRecord, job: JobRecord, op: Extract<JobOp, { kind: K }>, token: TokenRecord) => Promise<Results>;

const operations: { [K in JobOp['kind']]: Operation<K> } = {
  tableCreate: (host, p, job, op) =>
    host.withLock(`${p.id}:${op.bucketId}.${op.name}`, async () => {
      const b = bucket(p, op.bucketId);
      const id = `${b.id}.${op.name}`;
      if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${op.name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
      const now = timestamp();
      const created: TableRecord = { id, bucketId: b.id, name: op.name, displayName: op.name, primaryKey: [], columns: [], isTyped: false, metadata: [], columnMetadata: {}, created: now, lastImportDate: now, lastChangeDate: now, rowsCount: 0, dataSizeBytes: 0 };
      const pk = op.primaryKey.map(sanitizeColumnName);
      const r = await withFileContents(host, fileRecord(host, p, op.fileId), (sources) =>
        importFiles(sources, tablePath(host, p, created), { tableColumns: [], primaryKey: pk, incremental: false, hasHeader: true, defineColumns: true }),
      );
      const badPk = pk.filter((c) => !r.columns.includes(c));
      if (badPk.length) {
        await rm(tablePath(host, p, created), { force: true });
        throw badRequest(`Primary key columns not found: ${badPk.join(', ')}`, 'storage.tables.invalidPrimaryKeyColumns');
      }
      Object.assign(created, { columns: r.columns, primaryKey: pk, rowsCount: r.rowsCount, dataSizeBytes: r.dataSizeBytes });
      if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${op.name}" already exists`, 'storage.tables.alreadyExists');
      p.tables.push(created);
      b.lastChangeDate = now;
      job.tableId = id;
      job.metrics.inBytes = r.inBytes;
      host.changed();
      return { id };
    }),

  tableDefinitionCreate: async (host, p, job, op) => {
    const b = bucket(p, op.bucketId);
    const id = `${b.id}.${op.name}`;
    if (p.tables.some((t) => t.id === id)) throw badRequest(`Table "${op.name}" already exists in bucket "${b.id}"`, 'storage.tables.alreadyExists');
    const now = timestamp();
    const typed = op.columns.some((c) => c.definition.type || c.basetype);
    const created: TableRecord = {
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
    await writeRows(tablePath(host, p, created), []);
    p.tables.push(created);
    b.lastChangeDate = now;
    job.tableId = id;
    host.changed();
    return { id };
  },

  tableImport: (host, p, job, op) =>
    host.withLock(`${p.id}:${op.tableId}`, async () => {
      const t = table(p, op.tableId);
      if (t.alias) throw badRequest('Cannot import data into an alias table', 'storage.tables.aliasImportNotAllowed');
      const hasHeader = !op.withoutHeaders && op.columns.length === 0;
      const r = await withFileContents(host, fileRecord(host, p, op.fileId), (sources) =>
        importFiles(sources, tablePath(host, p, t), { tableColumns: t.columns, primaryKey: t.primaryKey, incremental: op.incremental, hasHeader, fileColumns: op.columns }),
      );
      const now = timestamp();
      Object.assign(t, { rowsCount: r.rowsCount, dataSizeBytes: r.dataSizeBytes, lastImportDate: now, lastChangeDate: now });
      bucket(p, t.bucketId).lastChangeDate = now;
      await refreshAliasCounts(host, p, t);
      job.metrics.inBytes = r.inBytes;
      job.metrics.inBytesUncompressed = r.inBytes;
      host.changed();
      return { importedColumns: r.columns, warnings: [], totalRowsCount: r.rowsCount, totalDataSizeBytes: r.dataSizeBytes, importedRowsCount: r.importedRows, transaction: null };
    }),

  tableExport: (host, p, job, op, token) =>
    host.withLock(`${p.id}:${op.tableId}`, async () => {
      const t = table(p, op.tableId);
      const view: { path: string; spec: ViewSpec } = t.alias
        ? aliasView(host, p, t, op.columns, op.whereFilters, op.limit)
        : { path: tablePath(host, p, t), spec: { dataColumns: t.columns, columns: op.columns.length ? op.columns : t.columns, filters: op.whereFilters, limit: op.limit } };
      const file = newFile(host, p, token, { name: `${t.id}.csv.gz`, isSliced: true, isPermanent: false, sizeBytes: null, tags: ['storage-merged-export', `table-export`], runId: job.runId });
      const storage = host.fileStorage;
      const r = await withStaging(host, async (staging) => {
        const exported = await exportSlices(view.path, view.spec, host.sliceRows, async (suffix) => join(staging, suffix), t.alias ? undefined : t.rowsCount);
        for (const suffix of exported.suffixes) await storage.put(`${file.key}${suffix}`, join(staging, suffix));
        // the manifest last: a reader that sees it finds every slice
        const manifest = { entries: exported.suffixes.map((suffix) => ({ url: storage.entryUrl(`${file.key}${suffix}`) })) };
        await writeFile(join(staging, 'manifest'), JSON.stringify(manifest));
        await storage.put(`${file.key}manifest`, join(staging, 'manifest'));
        return exported;
      });
      file.sizeBytes = r.bytes;
      job.metrics.outCompressed = true;
      job.metrics.outBytes = r.bytes;
      job.metrics.outBytesUncompressed = r.uncompressedBytes;
      host.changed();
      return { file: { id: file.id }, cacheHit: false };
    }),

  tablePrimaryKeyAdd: async (host, p, _job, op) => {
    const t = table(p, op.tableId);
    if (t.alias) throw badRequest('Cannot change the primary key of an alias', 'storage.tables.aliasNotAllowed');
    if (t.primaryKey.length) throw badRequest(`Table ${t.id} already has a primary key; remove it first`, 'storage.tables.primaryKeyAlreadyExists');
    const missing = op.columns.filter((c) => !t.columns.includes(c));
    if (missing.length) throw badRequest(`Primary key columns not found: ${missing.join(', ')}`, 'storage.tables.invalidPrimaryKeyColumns');
    t.primaryKey = [...op.columns];
    if (t.typedColumns) for (const c of t.typedColumns) if (op.columns.includes(c.name)) c.definition.nullable = false;
    touchTable(p, t);
    host.changed();
    return null;
  },

  tablePrimaryKeyDelete: async (host, p, _job, op) => {
    const t = table(p, op.tableId);
    if (t.primaryKey.length) touchTable(p, t);
    t.primaryKey = [];
    host.changed();
    return null;
  },

  // under the table's lock, like imports and exports: the data file is rewritten
  tableColumnAdd: (host, p, _job, op) =>
    host.withLock(`${p.id}:${op.tableId}`, async () => {
      await addColumn(host, p, table(p, op.tableId), op.name, op.column);
      return null;
    }),

  tableColumnDelete: (host, p, _job, op) =>
    host.withLock(`${p.id}:${op.tableId}`, async () => {
      await deleteColumn(host, p, table(p, op.tableId), op.name, op.force);
      return null;
    }),

  tableDrop: async (host, p, _job, op) => {
    dropTable(host, p, op.tableId, op.force);
    return null;
  },

  bucketDelete: async (host, p, _job, op) => {
    dropBucket(host, p, op.bucketId, op.force);
    return null;
  },

  tableUpdate: async (host, p, _job, op) => {
    table(p, op.tableId).displayName = op.displayName;
    host.changed();
    return null;
  },
};

async function runJob(host: StackHost, job: JobRecord): Promise<Results> {
  const p = host.project(job.projectId);
  if (!p) throw jobError('storage.projects.notFound', 'Project no longer exists');
  const token = p.tokens.find((t) => t.id === job.creatorToken.id) ?? p.tokens[0]!;
  const run = operations[job.op.kind] as Operation<JobOp['kind']>;
  return run(host, p, job, job.op, token);
}
