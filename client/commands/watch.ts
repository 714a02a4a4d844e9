import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Client } from '@temporalio/client';
import { ENTITIES, ENTITY_TYPES, type EntityType, type Progress } from '../../workflows/types';
import { formatEstimate, getMigrationStatus, type MigrationOverview } from './status';

export interface WatchOptions {
  /** Where the bars (or JSON lines) go. */
  stream: Writable;
  /** One JSON object per change (newline-delimited), for tooling, instead of bars. */
  json?: boolean;
  intervalMs?: number;
  /** Draw bars even when the stream is not a terminal (one frame per interval). */
  forceBars?: boolean;
}


/**
 * A migration kept in sync stays open for weeks: watching it ends once it is idle in sync (or cut over), between
 * its operations.
 */
export function idleInSync(overview: MigrationOverview): boolean {
  const sync = overview.status?.sync;
  return overview.execution === 'RUNNING' && sync !== undefined && !sync.running && (sync.phase === 'in-sync' || sync.phase === 'cut-over');
}

function syncHeadline(overview: MigrationOverview): string {
  const sync = overview.status?.sync;
  return sync ? `, phase ${sync.phase}${sync.running ? ` (${sync.running} running)` : ''}, ${sync.passes} sync pass(es)` : '';
}

/**
 * Follows a migration until it closes (or, kept in sync, is idle): a progress bar per entity type (cli-progress) with the step and the
 * estimate above them, or JSON lines. Returns the last overview.
 */
export async function watchMigration(client: Client, workflowId: string, options: WatchOptions): Promise<MigrationOverview> {
  const interval = options.intervalMs ?? 1000;
  const write = (line: string) => options.stream.write(`${line}\n`);
  let overview = await getMigrationStatus(client, workflowId);
  if (options.json) {
    let last = '';
    for (;;) {
      const sync = overview.status?.sync;
      const line = JSON.stringify({
        workflowId,
        execution: overview.execution,
        step: overview.status?.step,
        progress: overview.status?.progress,
        paused: overview.status?.paused,
        estimate: overview.estimate,
        waiting: overview.waiting,
        ...(sync ? { sync: { phase: sync.phase, running: sync.running, passes: sync.passes, lastPassAt: sync.lastPassAt } } : {}),
      });
      if (line !== last) write(line);
      last = line;
      if (overview.execution !== 'RUNNING' || idleInSync(overview)) return overview;
      await sleep(interval);
      overview = await getMigrationStatus(client, workflowId);
    }
  }

  const tty = Boolean((options.stream as Writable & { isTTY?: boolean }).isTTY);
  const bars = new cliProgress.MultiBar(
    {
      stream: options.stream,
      format: ' {label} |{bar}| {value}/{total}{extra}',
      barsize: 30,
      hideCursor: tty ? true : null,
      clearOnComplete: false,
      stopOnComplete: false,
      noTTYOutput: options.forceBars ?? !tty,
      notTTYSchedule: interval,
      emptyOnZero: true,
      gracefulExit: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const byType = new Map<EntityType, cliProgress.SingleBar>();
  let overall: cliProgress.SingleBar | undefined;
  let lastHeadline = '';
  try {
    for (;;) {
      const status = overview.status;
      const hint =
        status?.step === 'awaiting-approval' && !status.approval
          ? ` - waiting for approval: stack-migrate approve ${workflowId} --by <you>`
          : status?.paused
            ? ` - paused by ${status.paused.by}: stack-migrate resume ${workflowId}`
            : '';
      const headline = `${workflowId}: ${overview.execution}${status ? `, step ${status.step}` : ''}${syncHeadline(overview)}${hint}`;
      if (headline !== lastHeadline) bars.log(`${headline}\n`);
      lastHeadline = headline;
      if (status) {
        const all = Object.values(status.progress);
        const total = all.reduce((sum, p) => sum + p.total, 0);
        const done = all.reduce((sum, p) => sum + settled(p), 0);
        const payload = { label: 'overall'.padEnd(22), extra: overview.estimate ? `  ${formatEstimate(overview.estimate)}` : '' };
        if (total > 0 && !overall) overall = bars.create(total, done, payload);
        else if (overall) {
          overall.setTotal(total);
          overall.update(done, payload);
        }
      }
      for (const type of ENTITY_TYPES) {
        const p = status?.progress[type];
        if (!p || (p.total === 0 && p.done === 0)) continue;
        const notes = [p.failed ? `${p.failed} failed` : '', p.skipped ? `${p.skipped} skipped` : ''].filter(Boolean);
        const payload = { label: ENTITIES[type].label.padEnd(22), extra: notes.length ? `  (${notes.join(', ')})` : '' };
        const bar = byType.get(type);
        if (!bar) byType.set(type, bars.create(p.total, settled(p), payload));
        else {
          bar.setTotal(p.total);
          bar.update(settled(p), payload);
        }
      }
      if (overview.execution !== 'RUNNING' || idleInSync(overview)) break;
      await sleep(interval);
      overview = await getMigrationStatus(client, workflowId);
    }
  } finally {
    bars.update();
    bars.stop();
  }
  return overview;
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Entities done or left out on purpose: either way the step is through with them. */
function settled(p: Progress): number {
  return Math.min(p.done + (p.skipped ?? 0), p.total);
}
