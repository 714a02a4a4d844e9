// Several projects migrated at the same time on the one worker of the size: total throughput, and each
// migration's wall time as the fairness measure. The raw copy copies all the projects at once, as the
// migrations run.
import type { BenchContext } from './context';
import { readHistory, tablesInFlight, type Interval } from './history';
import { migrate } from './measure';
import { cpuByProcess, cpuSpent, log } from './processes';
import { createProjects, type BenchProjects } from './projects';
import { rawCopy } from './raw-copy';
import { entityCount, type Size } from './sizes';
import { startWorker, type StackLimiter } from './worker';

export interface ManyResult {
  size: string;
  projects: number;
  tables: number;
  rows: number;
  configurations: number;
  /** of all the source projects */
  dataBytes: number;
  wallSeconds: number;
  mbPerSecond: number;
  entitiesPerSecond: number;
  migrationSeconds: { min: number; median: number; max: number };
  workerPeakRssMb: number;
  /** table activities of all the migrations together */
  tablesInFlight: { peak: number; mean: number };
  limiters: Record<string, StackLimiter>;
  rawCopySeconds: number;
  rawMbPerSecond: number;
  /** `completed`, or what failed */
  outcomes: string[];
  /** CPU seconds by process: the raw copy's (the bench process and the shared ones) and the migrations'. */
  cpuSeconds: { raw: Record<string, number>; migration: Record<string, number> };
}

function median(sorted: number[]): number {
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export async function benchMany(ctx: BenchContext, size: Size): Promise<ManyResult> {
  const count = size.projects ?? 1;
  log(`${size.name}: creating ${count} projects (each ${size.tables} tables × ${size.rows} rows, ${size.configurations} configurations)`);
  const projects: BenchProjects[] = [];
  for (let i = 0; i < count; i++) projects.push(await createProjects(ctx, size, ctx.projectBase + 3 * i));
  const dataBytes = projects.reduce((sum, p) => sum + p.dataBytes, 0);
  const mb = dataBytes / 1e6;
  log(`${size.name}: ${mb.toFixed(1)} MB of CSV in all`);

  log(`${size.name}: raw copy of the ${count} projects at once (${size.tableConcurrency} tables at once each)`);
  const rawStarted = Date.now();
  const [benchBefore, sharedBeforeRaw] = [process.cpuUsage(), cpuByProcess(ctx.sharedProcesses)];
  await Promise.all(projects.map((p) => rawCopy(p.source, p.rawDestination, size)));
  const rawCopySeconds = (Date.now() - rawStarted) / 1000;
  const benchUsed = process.cpuUsage(benchBefore);
  const rawCpu = { bench: (benchUsed.user + benchUsed.system) / 1e6, ...cpuSpent(sharedBeforeRaw, cpuByProcess(ctx.sharedProcesses)) };
  log(`${size.name}: raw copy ${rawCopySeconds.toFixed(1)} s`);

  const worker = await startWorker(ctx, size.name);
  log(`${size.name}: worker pid ${worker.pid} polling (RSS ${worker.idleRssMb.toFixed(0)} MB); starting ${count} migrations`);
  worker.startSampling();
  const sharedBeforeMigrations = cpuByProcess(ctx.sharedProcesses);
  const started = Date.now();
  const runs = await Promise.all(
    projects.map(async (p) => {
      const runStarted = Date.now();
      const { handle, outcome } = await migrate(ctx, worker.taskQueue, size, p);
      return { handle, outcome, seconds: (Date.now() - runStarted) / 1000 };
    }),
  );
  const wallSeconds = (Date.now() - started) / 1000;
  const sharedMigrationCpu = cpuSpent(sharedBeforeMigrations, cpuByProcess(ctx.sharedProcesses));
  const { peakRssMb: workerPeakRssMb, limiters, cpuSeconds: workerCpuSeconds } = await worker.finish();
  log(`${size.name}: ${count} migrations in ${wallSeconds.toFixed(1)} s, worker peak RSS ${workerPeakRssMb.toFixed(0)} MB`);

  const intervals: Interval[] = [];
  for (const run of runs) intervals.push(...(await readHistory(ctx.client, run.handle)).intervals);
  const seconds = runs.map((r) => r.seconds).sort((a, b) => a - b);
  return {
    size: size.name,
    projects: count,
    tables: size.tables,
    rows: size.rows,
    configurations: size.configurations,
    dataBytes,
    wallSeconds,
    mbPerSecond: mb / wallSeconds,
    entitiesPerSecond: (entityCount(size) * count) / wallSeconds,
    migrationSeconds: { min: seconds[0], median: median(seconds), max: seconds[seconds.length - 1] },
    workerPeakRssMb,
    tablesInFlight: tablesInFlight(intervals),
    limiters,
    rawCopySeconds,
    rawMbPerSecond: mb / rawCopySeconds,
    outcomes: runs.map((r) => r.outcome),
    cpuSeconds: { raw: rawCpu, migration: { worker: workerCpuSeconds, ...sharedMigrationCpu } },
  };
}
