// One size: a project migrated by a fresh worker, with the raw copy of the same data measured in the same run.
import { startMigration } from '../../client/commands/start';
import type { BenchContext } from './context';
import { perTable, servedRequests, storageJobsPerTable } from './emulators';
import { covered, readHistory, TABLE_ACTIVITIES, tablesInFlight, type Interval } from './history';
import { cpuByProcess, cpuSpent, log } from './processes';
import { createProjects, type BenchProjects } from './projects';
import { rawCopy } from './raw-copy';
import { entityCount, type Size } from './sizes';
import { startWorker, type StackLimiter } from './worker';

export interface Result {
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
  orchestrationGapSeconds: number;
  overheadMsPerEntity: number;
  rawCopySeconds: number;
  rawMbPerSecond: number;
  ratio: number;
  /**
   * The time any table was moving (the union of the snapshot's and the restore's table activities): batch n is
   * restored while batch n+1 is taken, so the sum in `ratio` counts the overlap twice. What the raw copy's
   * throughput compares with is this one, the tables' wall time.
   */
  tablesMovingSeconds: number;
  /** Requests per table (both stacks, every route), by `METHOD route-template`: the raw copy's and the migration's. */
  requestsPerTable: { raw: Record<string, number>; migration: Record<string, number> };
  /** The emulators' storage job duration during the run. */
  jobDelayMs: number;
  tableConcurrency: number;
  /** Storage jobs of the migration per table (emulators.ts: `storageJobsPerTable`). */
  storageJobsPerTable: number;
  tablesInFlight: { peak: number; mean: number };
  limiters: Record<string, StackLimiter>;
  workerPeakHeapUsedMb: number;
  workerPeakExternalMb: number;
  /**
   * CPU of the client side per table: the worker's during the migration (configurations and every other entity
   * included) and the bench process's during the raw copy. The stacks, object store and Temporal server are not in it.
   */
  clientCpuMsPerTable: { migration: number; raw: number };
  /**
   * CPU seconds of every process, the raw copy's (the bench process and the shared parts) and the migration's (the
   * worker and the shared parts), by process: what the cores went to, and which part bounds a run on this machine.
   */
  cpuSeconds: { raw: Record<string, number>; migration: Record<string, number> };
  outcome: string;
}

/** Runs one migration of the size's project to its end: its handle, and its outcome or why it failed. */
export async function migrate(ctx: BenchContext, taskQueue: string, size: Size, refs: Pick<BenchProjects, 'sourceRef' | 'destinationRef'>) {
  const handle = await startMigration(ctx.client, taskQueue, {
    source: refs.sourceRef,
    destination: refs.destinationRef,
    requireApproval: false,
    options: { tableConcurrency: size.tableConcurrency, configurationConcurrency: size.configurationConcurrency, verify: ctx.verify },
  });
  const outcome = await handle.result().then((result) => result.outcome, failureText);
  return { handle, outcome };
}

export const failureText = (error: unknown) =>
  `failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`.slice(0, 300);

export async function benchSize(ctx: BenchContext, size: Size): Promise<Result> {
  log(`${size.name}: creating projects (${size.tables} tables × ${size.rows} rows, ${size.configurations} configurations)`);
  const genStart = Date.now();
  const projects = await createProjects(ctx, size, ctx.projectBase);
  const generateSeconds = (Date.now() - genStart) / 1000;
  const { dataBytes } = projects;
  log(`${size.name}: ${(dataBytes / 1e6).toFixed(1)} MB of CSV generated in ${generateSeconds.toFixed(1)} s`);

  log(`${size.name}: raw copy (stack client only, ${size.tableConcurrency} tables at once)`);
  const stacks = [ctx.sourceUrl, ctx.destinationUrl];
  const beforeRaw = await servedRequests(stacks);
  const rawCpu = process.cpuUsage();
  const sharedBeforeRaw = cpuByProcess(ctx.sharedProcesses);
  const rawCopySeconds = await rawCopy(projects.source, projects.rawDestination, size);
  const rawCpuUsed = process.cpuUsage(rawCpu);
  const rawCpuSeconds = (rawCpuUsed.user + rawCpuUsed.system) / 1e6;
  const sharedRawCpu = cpuSpent(sharedBeforeRaw, cpuByProcess(ctx.sharedProcesses));
  const afterRaw = await servedRequests(stacks);
  log(`${size.name}: raw copy ${rawCopySeconds.toFixed(1)} s`);

  const worker = await startWorker(ctx, size.name);
  log(`${size.name}: worker pid ${worker.pid} polling (RSS ${worker.idleRssMb.toFixed(0)} MB); migrating`);
  worker.startSampling();
  const sharedBeforeMigration = cpuByProcess(ctx.sharedProcesses);
  const started = Date.now();
  const { handle, outcome } = await migrate(ctx, worker.taskQueue, size, projects);
  const wallSeconds = (Date.now() - started) / 1000;
  const sharedMigrationCpu = cpuSpent(sharedBeforeMigration, cpuByProcess(ctx.sharedProcesses));
  const afterMigration = await servedRequests(stacks);
  const { peakRssMb: workerPeakRssMb, peakHeapUsedMb, peakExternalMb, cpuSeconds: workerCpuSeconds, limiters } = await worker.finish();
  log(`${size.name}: migration ${outcome} in ${wallSeconds.toFixed(1)} s, worker peak RSS ${workerPeakRssMb.toFixed(0)} MB`);

  const history = await readHistory(ctx.client, handle);
  const { intervals } = history;
  const activityPhases: Record<string, number> = {};
  for (const type of new Set(intervals.map((i) => i.type))) activityPhases[type] = covered(intervals.filter((i) => i.type === type));
  const startSec = started / 1000;
  const wall: Interval = { type: 'wall', start: startSec, end: startSec + wallSeconds };
  const orchestrationGapSeconds = covered([wall], intervals);
  const entities = entityCount(size);
  const mb = dataBytes / 1e6;
  // Verification runs inside the restore's group activities: its own cost is what `--verify rows` saves.
  const dataPathSeconds = (activityPhases.snapshotTableGroup ?? 0) + (activityPhases.restoreTableGroup ?? 0);
  const migrationRequests = perTable(afterRaw, afterMigration, size.tables);
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
    workerIdleRssMb: worker.idleRssMb,
    workerPeakHeapUsedMb: peakHeapUsedMb,
    workerPeakExternalMb: peakExternalMb,
    clientCpuMsPerTable: { migration: (workerCpuSeconds * 1000) / size.tables, raw: (rawCpuSeconds * 1000) / size.tables },
    cpuSeconds: { raw: { bench: rawCpuSeconds, ...sharedRawCpu }, migration: { worker: workerCpuSeconds, ...sharedMigrationCpu } },
    historyEvents: { parent: history.parentEvents, parentBytes: history.parentBytes, children: history.children, largestChild: history.largestChild, total: history.totalEvents },
    activityPhases,
    orchestrationGapSeconds,
    overheadMsPerEntity: (orchestrationGapSeconds * 1000) / entities,
    rawCopySeconds,
    rawMbPerSecond: mb / rawCopySeconds,
    ratio: rawCopySeconds / Math.max(0.001, dataPathSeconds),
    tablesMovingSeconds: covered(intervals.filter((i) => TABLE_ACTIVITIES.has(i.type))),
    requestsPerTable: { raw: perTable(beforeRaw, afterRaw, size.tables), migration: migrationRequests },
    jobDelayMs: ctx.jobDelayMs,
    tableConcurrency: size.tableConcurrency,
    storageJobsPerTable: storageJobsPerTable(migrationRequests),
    tablesInFlight: tablesInFlight(intervals),
    limiters,
    outcome,
  };
}
