// Synthetic projects: a source with tables and configurations, an empty destination for the migration and a
// destination with the same tables for the raw copy. Table data is generated as a gzip stream and imported through
// the Storage API: never a whole table in memory.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createStackClient, type StackClient } from '../../stack';
import type { StackRef } from '../../workflows/input';
import type { BenchContext } from './context';
import { createProject } from './emulators';
import { pool } from './processes';
import { bucketOf, COLUMNS, tableIds, type Size } from './sizes';

/** Deterministic pseudo-random rows as CSV text, produced in chunks of ~1 MB and gzipped on the fly. */
function generateCsvGz(seed: number, rows: number): Readable {
  let state = seed >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
  async function* chunks() {
    yield `"${COLUMNS.join('","')}"\n`;
    let text = '';
    for (let i = 1; i <= rows; i++) {
      const name = `${words[Math.floor(rand() * 12)]} ${words[Math.floor(rand() * 12)]}`;
      const note = `${words[Math.floor(rand() * 12)]}, "${Math.floor(rand() * 1e6)}" ${words[Math.floor(rand() * 12)]}`;
      text += `"${i}","${name}","user${Math.floor(rand() * 1e7)}@example.com","${(rand() * 10000).toFixed(2)}","2024-0${1 + Math.floor(rand() * 9)}-1${Math.floor(rand() * 9)} 1${Math.floor(rand() * 9)}:00:00","${note.replace(/"/g, '""')}"\n`;
      if (text.length > 1 << 20) {
        yield text;
        text = '';
      }
    }
    if (text) yield text;
  }
  return Readable.from(chunks()).pipe(createGzip({ level: 1 }));
}

function projectSeed(id: number, token: string, size: Size | undefined, withTables: boolean, inlineRows: boolean) {
  const ids = size && withTables ? tableIds(size) : [];
  const buckets = [...new Set(ids.map(bucketOf))];
  return {
    id,
    name: `bench ${id}`,
    defaultBackend: 'snowflake',
    backends: ['snowflake'],
    features: ['queuev2'],
    tokens: [{ token, description: 'bench master', isMasterToken: true, admin: { id: 1, name: 'Bench' } }],
    buckets: buckets.map((b) => ({ id: b })),
    tables: ids.map((t, i) => ({
      id: t,
      columns: COLUMNS,
      ...(inlineRows && size ? { rows: Array.from({ length: size.rows }, (_, r) => [String(r + 1), `name ${i}-${r}`, `u${r}@example.com`, String(r * 1.5), '2024-01-01 10:00:00', `note ${r}`]) } : {}),
    })),
    configurations:
      size && withTables
        ? Array.from({ length: size.configurations }, (_, i) => ({
            componentId: i % 2 ? 'keboola.ex-google-drive' : 'keboola.python-transformation-v2',
            id: `cfg-${i}`,
            name: `configuration ${i}`,
            configuration: { parameters: { index: i, query: `SELECT * FROM t${i % Math.max(1, size.tables)}` } },
            rows: [{ id: `row-${i}`, name: 'row', configuration: { parameters: { table: `t${i}` } } }],
          }))
        : [],
  };
}

/** Loads each table's data as a streamed gzip CSV through the Storage API. */
async function loadData(client: StackClient, size: Size): Promise<void> {
  await pool(tableIds(size), 4, async (tableId, i) => {
    const file = await client.files.upload(`${tableId}.csv.gz`, () => generateCsvGz(i + 1, size.rows));
    await client.tables.import(tableId, { dataFileId: file.id, incremental: false });
  });
}

export interface BenchProjects {
  source: StackClient;
  /** The project of the raw copy: the source's tables, empty, without configurations. */
  rawDestination: StackClient;
  sourceRef: StackRef;
  destinationRef: StackRef;
  /** The stack's own CSV size of the source's tables. */
  dataBytes: number;
}

/** Creates the source (IDs `base`), the migration's destination (`base + 1`) and the raw copy's (`base + 2`). */
export async function createProjects(ctx: BenchContext, size: Size, base: number): Promise<BenchProjects> {
  const tokens = { source: `bench-src-${base}-${randomBytes(6).toString('hex')}`, destination: `bench-dst-${base}-${randomBytes(6).toString('hex')}`, raw: `bench-raw-${base}-${randomBytes(6).toString('hex')}` };
  const inline = size.rows <= 50;
  await createProject(ctx.sourceUrl, projectSeed(base, tokens.source, size, true, inline));
  await createProject(ctx.destinationUrl, projectSeed(base + 1, tokens.destination, undefined, false, false));
  await createProject(ctx.destinationUrl, { ...projectSeed(base + 2, tokens.raw, size, true, false), configurations: [] });
  const source = createStackClient({ url: ctx.sourceUrl, token: tokens.source, jobPollIntervalMs: 100 });
  const rawDestination = createStackClient({ url: ctx.destinationUrl, token: tokens.raw, jobPollIntervalMs: 100 });
  if (!inline) await loadData(source, size);
  const dataBytes = (await source.tables.list()).reduce((sum, t) => sum + (t.dataSizeBytes ?? 0), 0);

  const tokenDir = path.join(ctx.dataDir, 'tokens');
  await fs.mkdir(tokenDir, { recursive: true });
  const ref = async (url: string, projectId: number, token: string, stack: string): Promise<StackRef> => {
    const file = path.join(tokenDir, `${projectId}`);
    await fs.writeFile(file, token, { mode: 0o600 });
    return { url, projectId, tokenRef: `file:${file}`, name: stack };
  };
  return {
    source,
    rawDestination,
    sourceRef: await ref(ctx.sourceUrl, base, tokens.source, 'us'),
    destinationRef: await ref(ctx.destinationUrl, base + 1, tokens.destination, 'eu'),
    dataBytes,
  };
}
