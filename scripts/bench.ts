// `npm run bench -- [--sizes small,medium,large,1gb,huge]`: migrates synthetic projects of several sizes between
// two emulated stacks and prints, per size, wall time, MB/s, entities/s, the worker's peak RSS, history events, the
// Temporal overhead per entity and the time of a raw copy of the same data (export → stream → sliced upload →
// import with the stack client, no Temporal) measured in the same run.
//
// Every part runs in its own process, so the worker's RSS is its own: the Temporal dev server, two emulators
// (`emulator/main.ts`) and, per size, a fresh worker (`worker/main.ts`) whose VmHWM is read from /proc.
// Table data is generated as a gzip stream and imported through the Storage API: never a whole table in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startMigration } from '../client/commands/start';
import { createStackClient, type StackClient } from '../stack';
import type { StackRef } from '../workflows/input';
import { createDataConverter } from '../temporal/payload-codec';
import { startDevServer, type DevServer } from './temporal-server';
import { startObjectStore, type S3Server } from './object-stores';
import { readSeed } from './stack-pair';

const ROOT = path.resolve(__dirname, '..');

interface Size {
  name: string;
  tables: number;
  rows: number;
  configurations: number;
  tableConcurrency: number;
  configurationConcurrency: number;
}

// ~105 bytes of CSV per row (6 columns, quoted).
const SIZES: Record<string, Size> = {
  small: { name: 'small', tables: 10, rows: 1_000, configurations: 50, tableConcurrency: 4, configurationConcurrency: 8 },
  medium: { name: 'medium', tables: 50, rows: 20_000, configurations: 500, tableConcurrency: 4, configurationConcurrency: 8 },
  large: { name: 'large', tables: 200, rows: 10_000, configurations: 2_000, tableConcurrency: 8, configurationConcurrency: 8 },
  '1gb': { name: '1gb', tables: 8, rows: 1_250_000, configurations: 100, tableConcurrency: 4, configurationConcurrency: 8 },
  // a fifth of huge, for a linear extrapolation when huge does not fit in the time at hand
  huge1k: { name: 'huge1k', tables: 1_000, rows: 10, configurations: 4_000, tableConcurrency: 16, configurationConcurrency: 16 },
  huge: { name: 'huge', tables: 5_000, rows: 10, configurations: 20_000, tableConcurrency: 16, configurationConcurrency: 16 },
};
const COLUMNS = ['id', 'name', 'email', 'amount', 'updated_at', 'note'];

interface Result {
  size: string;
  tables: number;
  rows: number;
  configurations: number;
  dataBytes: number;
  generateSeconds: number;
  wallSeconds: number;
  mbPerSecond: number;
  entitiesPerSecond: number;
  workerPeakRssMb: number;
  workerIdleRssMb: number;
  historyEvents: { parent: number; parentBytes: number; children: number; largestChild: number; total: number };
  activityPhases: Record<string, number>;
  verifyOnlySeconds: number;
  orchestrationGapSeconds: number;
  overheadMsPerEntity: number;
  rawCopySeconds: number;
  rawMbPerSecond: number;
  ratio: number;
  ratioWithoutVerify: number;
  /** Requests per table (both stacks, every route), by `METHOD route-template`: the raw copy's and the migration's. */
  requestsPerTable: { raw: Record<string, number>; migration: Record<string, number> };
  outcome: string;
}

/** Served requests of both emulators, by `METHOD route-template` (GET /_emulator/requests). */
async function servedRequests(urls: string[]): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const url of urls) {
    const counts = (await (await fetch(`${url}/_emulator/requests`)).json()) as Record<string, number>;
    for (const [key, n] of Object.entries(counts)) total[key] = (total[key] ?? 0) + n;
  }
  return total;
}

/** (after − before) / tables, per route, leaving out what did not change. */
function perTable(before: Record<string, number>, after: Record<string, number>, tables: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([key, n]): [string, number] => [key, (n - (before[key] ?? 0)) / tables])
      .filter(([, n]) => n > 0)
      .sort(([, a], [, b]) => b - a),
  );
}

const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

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

async function pool<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  }));
}

// ------------------------------------------------------------------------------------------------ processes

const children: ChildProcess[] = [];

function spawnTs(script: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const out = require('node:fs').createWriteStream(logFile);
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  return child;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${text.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before ${pattern}:\n${text.slice(-2000)}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function startEmulator(name: string, dataDir: string, seedFile: string, jobDelayMs: number): Promise<{ url: string; process: ChildProcess }> {
  const child = spawnTs('emulator/main.ts', ['--data', dataDir, '--seed', seedFile, '--job-delay-ms', String(jobDelayMs), '--export-slice-rows', '100000'], process.env, `${dataDir}.log`);
  const m = await waitForLine(child, /listening on (http:\/\/[^\s]+) \(files on (\w+)\)/);
  log(`${name} stack ${m[1]} (pid ${child.pid}, files on ${m[2]})`);
  return { url: m[1], process: child };
}

// ------------------------------------------------------------------------------------------------ projects

async function admin(url: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/_emulator/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`creating a project on ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
}

function tableIds(size: Size): string[] {
  return Array.from({ length: size.tables }, (_, i) => `in.c-bench${Math.floor(i / 100)}.t${i}`);
}

function projectSeed(id: number, token: string, size: Size | undefined, withTables: boolean, inlineRows: boolean) {
  const ids = size && withTables ? tableIds(size) : [];
  const buckets = [...new Set(ids.map((t) => t.split('.').slice(0, 2).join('.')))];
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

/** Export → stream each slice straight into a sliced upload → import, `concurrency` tables at once. No Temporal. */
async function rawCopy(source: StackClient, destination: StackClient, size: Size): Promise<number> {
  const started = Date.now();
  await pool(tableIds(size), size.tableConcurrency, async (tableId) => {
    const file = await source.tables.export(tableId);
    const urls = await source.files.sliceUrls(file);
    const uploaded = await destination.files.uploadSliced(`${tableId}.csv.gz`, urls.map((url) => () => source.files.openSlice(file, url)));
    await destination.tables.import(tableId, { dataFileId: uploaded.id, incremental: false, ...(file.isSliced ? { withoutHeaders: true, columns: COLUMNS } : {}) });
  });
  return (Date.now() - started) / 1000;
}

// ------------------------------------------------------------------------------------------------ history

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;
const seconds = (t: HistoryEvent['eventTime']) => Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9;

interface Interval {
  type: string;
  start: number;
  end: number;
}

function activityIntervals(events: HistoryEvent[]): Interval[] {
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  const out: Interval[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) scheduled.set(id, e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
    else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) started.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId), seconds(e.eventTime));
    else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const sid = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
      out.push({ type: scheduled.get(sid) ?? '?', start: started.get(sid) ?? seconds(e.eventTime), end: seconds(e.eventTime) });
    }
  }
  return out;
}

/** Length of the union of intervals, optionally minus the parts covered by `minus`. */
function covered(intervals: Interval[], minus: Interval[] = []): number {
  const points: Array<[number, number, number]> = [];
  for (const i of intervals) points.push([i.start, 1, 0], [i.end, -1, 0]);
  for (const i of minus) points.push([i.start, 0, 1], [i.end, 0, -1]);
  points.sort((a, b) => a[0] - b[0]);
  let inA = 0;
  let inB = 0;
  let last = 0;
  let total = 0;
  for (const [t, a, b] of points) {
    if (inA > 0 && inB === 0) total += t - last;
    inA += a;
    inB += b;
    last = t;
  }
  return total;
}

// ------------------------------------------------------------------------------------------------ one size

async function benchSize(ctx: { client: Client; address: string; codecKey: string; dataDir: string; sourceUrl: string; destinationUrl: string; projectBase: number; verify: 'checksum' | 'rows' }, size: Size): Promise<Result> {
  const base = ctx.projectBase;
  const tokens = { source: `bench-src-${base}-${randomBytes(6).toString('hex')}`, destination: `bench-dst-${base}-${randomBytes(6).toString('hex')}`, raw: `bench-raw-${base}-${randomBytes(6).toString('hex')}` };
  const inline = size.rows <= 50;
  log(`${size.name}: creating projects (${size.tables} tables × ${size.rows} rows, ${size.configurations} configurations)`);
  const genStart = Date.now();
  await admin(ctx.sourceUrl, projectSeed(base, tokens.source, size, true, inline));
  await admin(ctx.destinationUrl, projectSeed(base + 1, tokens.destination, undefined, false, false));
  await admin(ctx.destinationUrl, { ...projectSeed(base + 2, tokens.raw, size, true, false), configurations: [] });
  const source = createStackClient({ url: ctx.sourceUrl, token: tokens.source, jobPollIntervalMs: 100 });
  const rawDestination = createStackClient({ url: ctx.destinationUrl, token: tokens.raw, jobPollIntervalMs: 100 });
  if (!inline) await loadData(source, size);
  const generateSeconds = (Date.now() - genStart) / 1000;
  const tables = await source.tables.list();
  const dataBytes = tables.reduce((sum, t) => sum + (t.dataSizeBytes ?? 0), 0); // the stack's own CSV size
  log(`${size.name}: ${(dataBytes / 1e6).toFixed(1)} MB of CSV generated in ${generateSeconds.toFixed(1)} s`);

  log(`${size.name}: raw copy (stack client only, ${size.tableConcurrency} tables at once)`);
  const stacks = [ctx.sourceUrl, ctx.destinationUrl];
  const beforeRaw = await servedRequests(stacks);
  const rawCopySeconds = await rawCopy(source, rawDestination, size);
  const afterRaw = await servedRequests(stacks);
  log(`${size.name}: raw copy ${rawCopySeconds.toFixed(1)} s`);

  const tokenDir = path.join(ctx.dataDir, 'tokens');
  await fs.mkdir(tokenDir, { recursive: true });
  const ref = async (name: string, url: string, projectId: number, token: string, stack: string): Promise<StackRef> => {
    const file = path.join(tokenDir, `${projectId}`);
    await fs.writeFile(file, token, { mode: 0o600 });
    return { url, projectId, tokenRef: `file:${file}`, name: stack };
  };
  const sourceRef = await ref('source', ctx.sourceUrl, base, tokens.source, 'us');
  const destinationRef = await ref('destination', ctx.destinationUrl, base + 1, tokens.destination, 'eu');

  const taskQueue = `bench-${size.name}-${base}`;
  const worker = spawnTs(
    'worker/main.ts',
    [],
    {
      ...process.env,
      TEMPORAL_ADDRESS: ctx.address,
      STACK_MIGRATE_TASK_QUEUE: taskQueue,
      STACK_MIGRATE_SNAPSHOT_ROOT: path.join(ctx.dataDir, 'snapshots'),
      STACK_MIGRATE_CODEC_KEY: ctx.codecKey,
      STACK_MIGRATE_LOG_LEVEL: 'WARN',
    },
    path.join(ctx.dataDir, `worker-${size.name}.log`),
  );
  await waitForPoller(ctx.client, taskQueue, worker);
  const workerIdleRssMb = procStatus(worker.pid!, 'VmRSS');
  log(`${size.name}: worker pid ${worker.pid} polling (RSS ${workerIdleRssMb.toFixed(0)} MB); migrating`);

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, procStatus(worker.pid!, 'VmRSS'))), 200);
  const started = Date.now();
  const handle = await startMigration(ctx.client, taskQueue, {
    source: sourceRef,
    destination: destinationRef,
    requireApproval: false,
    options: { tableConcurrency: size.tableConcurrency, configurationConcurrency: size.configurationConcurrency, verify: ctx.verify },
  });
  let outcome = 'completed';
  try {
    const result = await handle.result();
    outcome = result.outcome;
  } catch (error) {
    outcome = `failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`.slice(0, 300);
  }
  const wallSeconds = (Date.now() - started) / 1000;
  const afterMigration = await servedRequests(stacks);
  clearInterval(sampler);
  const workerPeakRssMb = Math.max(peak, procStatus(worker.pid!, 'VmHWM'));
  await stop(worker);
  log(`${size.name}: migration ${outcome} in ${wallSeconds.toFixed(1)} s, worker peak RSS ${workerPeakRssMb.toFixed(0)} MB`);

  // History: the parent, and every child it started.
  const parentEvents: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
  const description = await handle.describe();
  const childIds = parentEvents
    .filter((e) => e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? '');
  const intervals = activityIntervals(parentEvents);
  let childEvents = 0;
  let largestChild = 0;
  for (const id of childIds) {
    const events = (await ctx.client.workflow.getHandle(id).fetchHistory()).events ?? [];
    childEvents += events.length;
    largestChild = Math.max(largestChild, events.length);
    intervals.push(...activityIntervals(events));
  }
  const activityPhases: Record<string, number> = {};
  for (const type of new Set(intervals.map((i) => i.type))) activityPhases[type] = covered(intervals.filter((i) => i.type === type));
  const verify = intervals.filter((i) => i.type === 'verifyTable');
  const verifyOnlySeconds = covered(verify, intervals.filter((i) => i.type !== 'verifyTable'));
  const startSec = started / 1000;
  const wall: Interval = { type: 'wall', start: startSec, end: startSec + wallSeconds };
  const orchestrationGapSeconds = covered([wall], intervals);
  const entities = size.tables + size.configurations + new Set(tableIds(size).map((t) => t.split('.').slice(0, 2).join('.'))).size;
  const mb = dataBytes / 1e6;
  const dataPathSeconds = (activityPhases.snapshotTableData ?? 0) + covered(intervals.filter((i) => i.type === 'restoreTable' || i.type === 'verifyTable'));
  const withoutVerify = Math.max(0.001, dataPathSeconds - verifyOnlySeconds);
  return {
    size: size.name,
    tables: size.tables,
    rows: size.rows,
    configurations: size.configurations,
    dataBytes,
    generateSeconds,
    wallSeconds,
    mbPerSecond: mb / wallSeconds,
    entitiesPerSecond: entities / wallSeconds,
    workerPeakRssMb,
    workerIdleRssMb,
    historyEvents: { parent: parentEvents.length, parentBytes: description.historySize ?? 0, children: childIds.length, largestChild, total: parentEvents.length + childEvents },
    activityPhases,
    verifyOnlySeconds,
    orchestrationGapSeconds,
    overheadMsPerEntity: (orchestrationGapSeconds * 1000) / entities,
    rawCopySeconds,
    rawMbPerSecond: mb / rawCopySeconds,
    ratio: rawCopySeconds / Math.max(0.001, dataPathSeconds),
    ratioWithoutVerify: rawCopySeconds / withoutVerify,
    requestsPerTable: { raw: perTable(beforeRaw, afterRaw, size.tables), migration: perTable(afterRaw, afterMigration, size.tables) },
    outcome,
  };
}

async function waitForPoller(client: Client, taskQueue: string, worker: ChildProcess): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (worker.exitCode !== null) throw new Error(`the worker exited with code ${worker.exitCode}; see its log`);
    const answer = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if ((answer.pollers ?? []).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the worker did not poll within 120 s');
}

// ------------------------------------------------------------------------------------------------ main

function table(results: Result[]): string {
  const header = ['size', 'tables×rows', 'configs', 'data MB', 'wall s', 'MB/s', 'entities/s', 'peak RSS MB', 'events parent/children/largest child/total', 'overhead ms/entity', 'raw copy s', 'raw MB/s', 'data path s (snapshot+restore+verify)', 'raw/data path', 'raw/data path w/o verify', 'outcome'];
  const rows = results.map((r) => {
    const dataPath = r.rawCopySeconds / r.ratio;
    return [
      r.size,
      `${r.tables}×${r.rows}`,
      String(r.configurations),
      (r.dataBytes / 1e6).toFixed(1),
      r.wallSeconds.toFixed(1),
      r.mbPerSecond.toFixed(2),
      r.entitiesPerSecond.toFixed(1),
      r.workerPeakRssMb.toFixed(0),
      `${r.historyEvents.parent}/${r.historyEvents.children}/${r.historyEvents.largestChild}/${r.historyEvents.total}`,
      r.overheadMsPerEntity.toFixed(1),
      r.rawCopySeconds.toFixed(1),
      r.rawMbPerSecond.toFixed(2),
      dataPath.toFixed(1),
      `${(r.ratio * 100).toFixed(0)} %`,
      `${(r.ratioWithoutVerify * 100).toFixed(0)} %`,
      r.outcome,
    ];
  });
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Requests per table of the migration and of the raw copy, route by route (the routes either uses). */
function requestTable(r: Result): string {
  const { raw, migration } = r.requestsPerTable;
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const routes = [...new Set([...Object.keys(migration), ...Object.keys(raw)])].sort((a, b) => (migration[b] ?? 0) - (migration[a] ?? 0));
  const rows = routes.map((route) => `| ${route} | ${(migration[route] ?? 0).toFixed(2)} | ${(raw[route] ?? 0).toFixed(2)} |`);
  return [`  ${r.size}: requests per table (both stacks; the migration's include its configurations and other entities)`, '| route | migration | raw copy |', '|---|---|---|', ...rows, `| all | ${sum(migration).toFixed(2)} | ${sum(raw).toFixed(2)} |`, ''].join('\n');
}

async function main() {
  const opts = new Command('npm run bench --')
    .option('--sizes <list>', `comma-separated: ${Object.keys(SIZES).join(', ')}`, 'small,medium,large')
    .option('--data <dir>', 'working folder (deleted first)', '.data/bench')
    .option('--job-delay-ms <ms>', 'simulated storage job duration of the emulators', '50')
    .option('--keep', 'leave the processes and data for inspection (Ctrl-C to stop)')
    .option('--verify <mode>', 'verification of the migrations: checksum (default) or rows', 'checksum')
    .parse()
    .opts<{ sizes: string; data: string; jobDelayMs: string; keep?: boolean; verify: string }>();
  if (opts.verify !== 'checksum' && opts.verify !== 'rows') throw new Error(`--verify "${opts.verify}": use checksum or rows`);
  const verify = opts.verify;
  const sizes = opts.sizes.split(',').map((s) => {
    const size = SIZES[s.trim()];
    if (!size) throw new Error(`unknown size "${s}": use ${Object.keys(SIZES).join(', ')}`);
    return size;
  });
  const dataDir = path.resolve(opts.data);
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.mkdir(dataDir, { recursive: true });
  log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`);
  log(`verification: ${verify}`);

  let server: DevServer | undefined;
  let s3: S3Server | undefined;
  try {
    server = await startDevServer({ dbFile: path.join(dataDir, 'temporal.sqlite'), headless: true, log });
    log(`Temporal dev server ${server.address}`);
    // The seeds' route: both stacks keep their files on S3, one gateway for both (as one S3 API serves both AWS
    // regions); the emulators share it and the worker reaches it through the AWS SDK's own endpoint setting.
    s3 = await startObjectStore('aws', { dir: path.join(dataDir, 's3'), log });
    Object.assign(process.env, {
      STACK_EMULATOR_S3_ENDPOINT: s3.endpoint,
      STACK_EMULATOR_S3_ACCESS_KEY_ID: s3.rootCredentials.accessKeyId,
      STACK_EMULATOR_S3_SECRET_ACCESS_KEY: s3.rootCredentials.secretAccessKey,
      ...s3.env,
    });
    log(`S3 (Versity S3 Gateway) ${s3.endpoint}`);
    const seeds = { source: await readSeed('source-us'), destination: await readSeed('destination-eu') };
    for (const side of ['source', 'destination'] as const) {
      await fs.writeFile(path.join(dataDir, `${side}-seed.json`), JSON.stringify({ stack: seeds[side].stack, projects: [] }));
    }
    const jobDelayMs = Number(opts.jobDelayMs);
    const [source, destination] = await Promise.all([
      startEmulator('source', path.join(dataDir, 'source'), path.join(dataDir, 'source-seed.json'), jobDelayMs),
      startEmulator('destination', path.join(dataDir, 'destination'), path.join(dataDir, 'destination-seed.json'), jobDelayMs),
    ]);
    const codecKey = randomBytes(32).toString('base64');
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey }) });
    const results: Result[] = [];
    for (const [n, size] of sizes.entries()) {
      const result = await benchSize({ client, address: server.address, codecKey, dataDir, sourceUrl: source.url, destinationUrl: destination.url, projectBase: 1000 + n * 10, verify }, size);
      results.push(result);
      await fs.writeFile(path.join(dataDir, 'results.json'), JSON.stringify(results, null, 2));
      console.log(`\n${table(results)}\n`);
      console.log(`  ${size.name}: time in activities (union, s): ${Object.entries(result.activityPhases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; verify alone ${result.verifyOnlySeconds.toFixed(1)} s; no activity running ${result.orchestrationGapSeconds.toFixed(1)} s; parent history ${(result.historyEvents.parentBytes / 1024).toFixed(0)} KiB; worker RSS idle ${result.workerIdleRssMb.toFixed(0)} MB\n`);
      console.log(requestTable(result));
      await fs.rm(path.join(dataDir, 'snapshots'), { recursive: true, force: true });
    }
    await connection.close();
    if (opts.keep) await new Promise(() => undefined);
  } finally {
    for (const child of children) await stop(child);
    await server?.stop();
    await s3?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    for (const child of children) child.kill('SIGTERM');
    process.exit(1);
  },
);
