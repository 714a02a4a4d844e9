// What the bench prints after each size: markdown tables (pasted into BENCHMARKS.md) and a few summary lines.
import type { Result } from './measure';
import type { ManyResult } from './many';
import type { StackLimiter } from './worker';

const markdown = (header: string[], rows: string[][]) => [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function table(results: Result[]): string {
  const header = ['size', 'tables×rows', 'configs', 'data MB', 'wall s', 'MB/s', 'entities/s', 'peak RSS MB', 'events parent/children/largest child/total', 'overhead ms/entity', 'raw copy s', 'raw MB/s', 'data path s (snapshot+restore+verify)', 'raw/data path', 'tables moving s (snapshot ∪ restore)', 'raw/tables moving', 'outcome'];
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
      r.tablesMovingSeconds.toFixed(1),
      `${((r.rawCopySeconds / Math.max(0.001, r.tablesMovingSeconds)) * 100).toFixed(0)} %`,
      r.outcome,
    ];
  });
  return markdown(header, rows);
}

export function phasesLine(r: Result): string {
  return `  ${r.size}: time in activities (union, s): ${Object.entries(r.activityPhases).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; no activity running ${r.orchestrationGapSeconds.toFixed(1)} s; parent history ${(r.historyEvents.parentBytes / 1024).toFixed(0)} KiB; worker RSS idle ${r.workerIdleRssMb.toFixed(0)} MB, peak JS heap in use ${r.workerPeakHeapUsedMb.toFixed(0)} MB, peak external ${r.workerPeakExternalMb.toFixed(0)} MB; client CPU per table: worker ${r.clientCpuMsPerTable.migration.toFixed(0)} ms, raw copy ${r.clientCpuMsPerTable.raw.toFixed(0)} ms\n`;
}

/** Where the cores went during the raw copy and the migration: CPU seconds by process, against what the machine had. */
export function cpuLine(r: Pick<Result, 'size' | 'cpuSeconds' | 'rawCopySeconds' | 'wallSeconds'>, cores: number): string {
  const part = (label: string, cpu: Record<string, number>, seconds: number) => {
    const all = Object.values(cpu).reduce((a, b) => a + b, 0);
    const each = Object.entries(cpu).map(([name, s]) => `${name} ${s.toFixed(1)}`).join(', ');
    return `${label} ${each}; all ${all.toFixed(1)} of ${(cores * seconds).toFixed(1)} (${cores} cores × ${seconds.toFixed(1)} s)`;
  };
  return `  ${r.size}: CPU s by process: ${part('raw copy:', r.cpuSeconds.raw, r.rawCopySeconds)}; ${part('migration:', r.cpuSeconds.migration, r.wallSeconds)}\n`;
}

/** Requests per table of the migration and of the raw copy, route by route (the routes either uses). */
export function requestTable(r: Result): string {
  const { raw, migration } = r.requestsPerTable;
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const routes = [...new Set([...Object.keys(migration), ...Object.keys(raw)])].sort((a, b) => (migration[b] ?? 0) - (migration[a] ?? 0));
  const rows = routes.map((route) => `| ${route} | ${(migration[route] ?? 0).toFixed(2)} | ${(raw[route] ?? 0).toFixed(2)} |`);
  return [`  ${r.size}: requests per table (both stacks; the migration's include its configurations and other entities)`, '| route | migration | raw copy |', '|---|---|---|', ...rows, `| all | ${sum(migration).toFixed(2)} | ${sum(raw).toFixed(2)} |`, ''].join('\n');
}

function limitersText(limiters: Record<string, StackLimiter>): string {
  const stacks = Object.entries(limiters);
  if (stacks.length === 0) return 'not read';
  return stacks.map(([stack, l]) => `${stack} limit ${l.limit} (lowest ${l.lowestLimit}, ${l.decreases} decreases, peak ${l.peakInFlight} requests in flight)`).join(', ');
}

const inFlightText = (t: { peak: number; mean: number }) => `table activities in flight mean ${t.mean.toFixed(1)}, peak ${t.peak}`;

/**
 * Wall time beside what the job latency alone costs when `tableConcurrency` tables are moved at once: each
 * table's jobs run one after the other. Snapshot and restore of consecutive batches overlap, so more tables than
 * that can be in flight; the worker's activity slots (STACK_MIGRATE_MAX_ACTIVITIES, 16) cap them.
 */
export function latencyLine(r: Result): string {
  const latency = r.jobDelayMs / 1000;
  const estimate = (r.tables * r.storageJobsPerTable * latency) / r.tableConcurrency;
  return [
    `  ${r.size}: wall ${r.wallSeconds.toFixed(1)} s; estimate ${r.tables} tables × ${r.storageJobsPerTable.toFixed(2)} storage jobs per table × ${latency.toFixed(1)} s / ${r.tableConcurrency} tables at once = ${estimate.toFixed(1)} s (wall ${((r.wallSeconds / estimate) * 100).toFixed(0)} % of it)`,
    `  ${r.size}: table concurrency ${r.tableConcurrency} (the migration's option; the limiter does not change it), ${inFlightText(r.tablesInFlight)}; stack limiter: ${limitersText(r.limiters)}`,
    '',
  ].join('\n');
}

export function manyTable(m: ManyResult): string {
  const completed = m.outcomes.filter((o) => o === 'completed').length;
  const failures = [...new Set(m.outcomes.filter((o) => o !== 'completed'))];
  const header = ['size', 'projects × tables×rows', 'configs each', 'data MB', 'wall s', 'MB/s', 'entities/s', 'per migration s min/median/max', 'peak RSS MB', 'raw copy s (all at once)', 'raw MB/s', 'outcome'];
  const row = [
    m.size,
    `${m.projects} × ${m.tables}×${m.rows}`,
    String(m.configurations),
    (m.dataBytes / 1e6).toFixed(1),
    m.wallSeconds.toFixed(1),
    m.mbPerSecond.toFixed(2),
    m.entitiesPerSecond.toFixed(1),
    `${m.migrationSeconds.min.toFixed(1)}/${m.migrationSeconds.median.toFixed(1)}/${m.migrationSeconds.max.toFixed(1)}`,
    m.workerPeakRssMb.toFixed(0),
    m.rawCopySeconds.toFixed(1),
    m.rawMbPerSecond.toFixed(2),
    [`${completed}/${m.projects} completed`, ...failures].join('; '),
  ];
  return [markdown(header, [row]), '', `  ${m.size}: ${inFlightText(m.tablesInFlight)} (all migrations); stack limiter: ${limitersText(m.limiters)}`, ''].join('\n');
}
