/**
 * Table data on disk: header-less CSV in table column order, one file per table. Imports, incremental
 * primary-key dedupe and sliced gzip exports are all streamed (memory holds only the keys of one import).
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { csvBatches, CsvFileWriter, offsetAfterRecords, readCsvFiles } from './csv';
import { ApiError } from './replies';
import type { AliasFilter } from './state';

export const jobError = (code: string, message: string) => new ApiError(400, code, message);

async function* readDataFile(path: string | undefined): AsyncGenerator<string[][]> {
  if (!path || !existsSync(path)) return;
  yield* csvBatches(createReadStream(path, { highWaterMark: 1 << 20 }));
}

export async function writeRows(path: string, rows: readonly string[][]): Promise<{ bytes: number }> {
  await mkdir(dirname(path), { recursive: true });
  const out = new CsvFileWriter(path);
  await out.write(rows);
  await out.close();
  return { bytes: out.bytes };
}

/**
 * Rewrites a table's data file row by row (a column added or dropped): the result goes to a temp file renamed into
 * place, so a failure leaves the data as it was. Answers the new size of the file.
 */
export async function rewriteRows(path: string, map: (row: string[]) => string[]): Promise<{ dataSizeBytes: number }> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.rewrite-${process.hrtime.bigint()}.tmp`;
  try {
    const out = new CsvFileWriter(tmp);
    try {
      for await (const batch of readDataFile(path)) await out.write(batch.map(map));
    } finally {
      await out.close();
    }
    await rename(tmp, path);
    return { dataSizeBytes: (await stat(path)).size };
  } finally {
    await rm(tmp, { force: true });
  }
}

export interface ImportOptions {
  /** the table's columns (target order) */
  tableColumns: string[];
  primaryKey: string[];
  incremental: boolean;
  /** the file has a header row */
  hasHeader: boolean;
  /** the columns of a header-less file (default: the table's columns) */
  fileColumns?: string[];
  /** for table create: the header defines the columns (must be called with tableColumns = []) */
  defineColumns?: boolean;
}

export interface ImportResult {
  columns: string[];
  rowsCount: number;
  dataSizeBytes: number;
  importedRows: number;
  inBytes: number;
}

export function sanitizeColumnName(name: string): string {
  const s = name.trim().replace(/[^A-Za-z0-9_]/g, '_');
  return s === '' ? 'col' : s;
}

function keyOf(row: readonly string[], idx: readonly number[]): string {
  return idx.length === 1 ? row[idx[0]!]! : JSON.stringify(idx.map((i) => row[i]));
}

/**
 * Imports CSV files (slices, plain or gzipped) into the table data file `target`.
 * Writes the result to a temp file and renames it into place, so a failed import changes nothing.
 */
export async function importFiles(sources: string[], target: string, opts: ImportOptions): Promise<ImportResult> {
  await mkdir(dirname(target), { recursive: true });
  const tmpImport = `${target}.import-${process.hrtime.bigint()}.tmp`;
  const tmpOut = `${target}.out-${process.hrtime.bigint()}.tmp`;
  let inBytes = 0;
  for (const s of sources) inBytes += (await stat(s)).size;
  try {
    let columns = opts.tableColumns;
    let mapping: number[] | null = null; // for each table column, index in the file row (-1 = missing)
    let fileWidth = 0;
    const setup = (fileColumns: string[]) => {
      if (new Set(fileColumns).size !== fileColumns.length) throw jobError('csvImport.duplicateColumnNames', `Duplicate column names in the CSV header: ${fileColumns.join(', ')}`);
      if (opts.defineColumns) columns = fileColumns;
      const unknown = fileColumns.filter((c) => !columns.includes(c));
      if (unknown.length)
        throw jobError('csvImport.columnsNotMatch', `Some columns are not in the table: ${unknown.join(', ')}. Expected columns: ${columns.join(', ')}`);
      mapping = columns.map((c) => fileColumns.indexOf(c));
      fileWidth = fileColumns.length;
    };
    if (!opts.hasHeader) setup(opts.fileColumns?.length ? opts.fileColumns.map(sanitizeColumnName) : opts.tableColumns);

    const pkIdxInTable = () => opts.primaryKey.map((c) => columns.indexOf(c));
    let pkIdx: number[] = [];
    const lastLineOfKey = new Map<string, number>();
    let line = 0;
    const importWriter = new CsvFileWriter(tmpImport);
    try {
      for await (const batch of readCsvFiles(sources)) {
        const rows: string[][] = [];
        for (const record of batch) {
          if (!mapping) {
            setup(record.map(sanitizeColumnName));
            if (opts.defineColumns && !columns.length) throw jobError('csvImport.noColumns', 'The CSV file has no header');
            pkIdx = pkIdxInTable();
            if (pkIdx.some((i) => i < 0)) throw jobError('storage.tables.invalidPrimaryKeyColumns', `Primary key columns ${opts.primaryKey.join(', ')} are not in the table`);
            continue;
          }
          if (!pkIdx.length && opts.primaryKey.length) pkIdx = pkIdxInTable();
          if (record.length !== fileWidth)
            throw jobError('csvImport.invalidRowLength', `Row ${line + 1} has ${record.length} values, the header has ${fileWidth} columns`);
          const m: number[] = mapping;
          const row = m.map((i) => (i < 0 ? '' : record[i]!));
          if (pkIdx.length) lastLineOfKey.set(keyOf(row, pkIdx), line);
          line++;
          rows.push(row);
        }
        await importWriter.write(rows);
      }
    } finally {
      await importWriter.close();
    }
    if (!mapping) {
      if (opts.defineColumns) throw jobError('csvImport.noColumns', 'The CSV file is empty: no header row');
      setup(opts.tableColumns);
    }
    if (opts.primaryKey.length && !pkIdx.length) pkIdx = pkIdxInTable();
    const dedupe = pkIdx.length > 0 && lastLineOfKey.size < line;
    const needsMerge = opts.incremental && existsSync(target);

    let rowsCount = 0;
    if (!needsMerge && !dedupe) {
      await rename(tmpImport, tmpOut);
      rowsCount = line;
    } else {
      const out = new CsvFileWriter(tmpOut);
      try {
        if (needsMerge) {
          for await (const batch of readDataFile(target)) {
            const kept = pkIdx.length ? batch.filter((row) => !lastLineOfKey.has(keyOf(row, pkIdx))) : batch;
            await out.write(kept);
            rowsCount += kept.length;
          }
        }
        let n = 0;
        for await (const batch of readDataFile(tmpImport)) {
          // of rows with the same primary key, the last one imported wins
          const kept = batch.filter((row) => {
            const lineNo = n++;
            return !pkIdx.length || lastLineOfKey.get(keyOf(row, pkIdx)) === lineNo;
          });
          await out.write(kept);
          rowsCount += kept.length;
        }
      } finally {
        await out.close();
      }
    }
    await rename(tmpOut, target);
    const dataSizeBytes = (await stat(target)).size;
    return { columns, rowsCount, dataSizeBytes, importedRows: line, inBytes };
  } finally {
    await rm(tmpImport, { force: true });
    await rm(tmpOut, { force: true });
  }
}

export interface ViewSpec {
  /** columns of the stored data file, in order */
  dataColumns: string[];
  /** columns to output, in order */
  columns: string[];
  filters: AliasFilter[];
  limit?: number | null;
}

function compileView(spec: ViewSpec): (row: string[]) => string[] | null {
  const proj = spec.columns.map((c) => {
    const i = spec.dataColumns.indexOf(c);
    if (i < 0) throw jobError('storage.tables.columnNotFound', `Column "${c}" not found`);
    return i;
  });
  const filters = spec.filters.map((f) => {
    const i = spec.dataColumns.indexOf(f.column);
    if (i < 0) throw jobError('storage.tables.columnNotFound', `Filter column "${f.column}" not found`);
    return { i, set: new Set(f.values), eq: f.operator !== 'ne' };
  });
  return (row) => {
    for (const f of filters) if (f.set.has(row[f.i] ?? '') !== f.eq) return null;
    return proj.map((i) => row[i] ?? '');
  };
}

/** Streams the rows of a (possibly filtered/projected) view of a data file. */
async function* readView(path: string | undefined, spec: ViewSpec): AsyncGenerator<string[][]> {
  const view = compileView(spec);
  let left = spec.limit ?? Infinity;
  for await (const batch of readDataFile(path)) {
    const out: string[][] = [];
    for (const row of batch) {
      if (left <= 0) break;
      const r = view(row);
      if (r) {
        out.push(r);
        left--;
      }
    }
    if (out.length) yield out;
    if (left <= 0) return;
  }
}

export async function countView(path: string | undefined, spec: ViewSpec): Promise<number> {
  let n = 0;
  for await (const batch of readView(path, spec)) n += batch.length;
  return n;
}

interface ExportedSlices {
  suffixes: string[];
  bytes: number;
  uncompressedBytes: number;
  rows: number;
}

const sliceSuffix = (index: number) => `part${String(index + 1).padStart(4, '0')}.csv.gz`;

/**
 * A whole-table export is the data file itself (written in the export's dialect) cut after every `sliceRows`
 * records, so its bytes are copied instead of being parsed and written again. That keeps exports of large tables
 * quick, which tests with tight heartbeat timeouts rely on: csv-parse and csv-stringify take microseconds per
 * row, several times more inside Jest (where the test stacks run), and a client polls a job at growing intervals.
 */
async function copySlices(path: string | undefined, rows: number, sliceRows: number, slicePath: (suffix: string) => Promise<string>): Promise<ExportedSlices> {
  const data = path !== undefined && existsSync(path) ? path : undefined;
  const size = data ? (await stat(data)).size : 0;
  const suffixes: string[] = [];
  let bytes = 0;
  let start = 0;
  const count = Math.max(1, Math.ceil(rows / sliceRows));
  for (let i = 0; i < count; i++) {
    const suffix = sliceSuffix(i);
    suffixes.push(suffix);
    const target = await slicePath(suffix);
    const end = data && i < count - 1 ? await offsetAfterRecords(data, start, sliceRows) : size;
    await pipeline(data && end > start ? createReadStream(data, { start, end: end - 1 }) : Readable.from([]), createGzip(), createWriteStream(target));
    bytes += (await stat(target)).size;
    start = end;
  }
  return { suffixes, bytes, uncompressedBytes: size, rows };
}

/**
 * Writes the view as gzipped slices `{prefix}part0001.csv.gz`...; returns the slice paths' suffixes and sizes.
 * `storedRows`: the number of records in the data file, when known (not for an alias's source).
 */
export async function exportSlices(
  path: string | undefined,
  spec: ViewSpec,
  sliceRows: number,
  slicePath: (suffix: string) => Promise<string>,
  storedRows?: number,
): Promise<ExportedSlices> {
  const wholeTable = !spec.filters.length && (spec.limit === undefined || spec.limit === null) && spec.columns.join('\n') === spec.dataColumns.join('\n');
  if (wholeTable && storedRows !== undefined) return copySlices(path, storedRows, sliceRows, slicePath);
  const suffixes: string[] = [];
  let bytes = 0;
  let uncompressed = 0;
  let rows = 0;
  let current: CsvFileWriter | null = null;
  let currentPath = '';
  let inSlice = 0;
  const open = async () => {
    const suffix = sliceSuffix(suffixes.length);
    suffixes.push(suffix);
    currentPath = await slicePath(suffix);
    current = new CsvFileWriter(currentPath, { gzip: true });
    inSlice = 0;
  };
  const close = async () => {
    if (!current) return;
    const c: CsvFileWriter = current;
    await c.close();
    uncompressed += c.bytes;
    bytes += (await stat(currentPath)).size;
    current = null;
  };
  await open();
  for await (const batch of readView(path, spec)) {
    for (let from = 0; from < batch.length; ) {
      if (inSlice >= sliceRows) {
        await close();
        await open();
      }
      const part = batch.slice(from, from + sliceRows - inSlice);
      await current!.write(part);
      from += part.length;
      inSlice += part.length;
      rows += part.length;
    }
  }
  await close();
  return { suffixes, bytes, uncompressedBytes: uncompressed, rows };
}
