// Exactly once for what the stack gives a new ID (docs/domain.md#exactly-once): legacy orchestrations, triggers and
// their tokens, workspaces, GoodData projects. A retry cannot ask "did my create happen?" by ID, so
//   1. every such entity carries a marker naming the migration's source and the source entity, in a field the
//      stack keeps (a token's description, a project's summary), and a retry looks for it before it creates;
//   2. a create whose answer was lost (the connection closed, a timeout, a 5xx) may still land later, after the
//      retry created another: it is noted as in doubt in the snapshot's working area, and the step waits out the
//      late-write grace after it before its last look, when it removes every copy beyond the first;
//   3. the verification looks once more (verifyCreatedEntities), for writes later still.
import * as path from 'node:path';
import { StackError, stackHost } from '../stack';
import { files } from '../snapshot/layout';
import type { SnapshotReader } from '../snapshot/reader';
import { heartbeat } from './heartbeat';

/** How long a request whose answer was lost may still reach the stack: the client's timeout and a margin. */
export const DEFAULT_LATE_WRITE_GRACE_MS = 90_000;

const inDoubtRecord = (step: string) => path.posix.join('.stack-migrate', 'in-doubt', `${step}.json`);
/** Copies removed because a late write made them duplicates, for the report. */
export const DUPLICATES_REMOVED_FILE = path.posix.join('.stack-migrate', 'results', 'duplicates-removed.json');

export interface RemovedDuplicate {
  entity: string;
  kept: string;
  removed: string;
  at: string;
}

/**
 * Whose migration this is: the snapshot's source project (`host/projectId`), from its manifest or, for a sync pass'
 * snapshot (which has none), from its plan: a pass finds what the first copy created by the same markers. A Keboola
 * backup names none; the destination of its restore was empty, so `backup` is enough there.
 */
export async function migrationIdentity(reader: SnapshotReader): Promise<string> {
  const source = (await reader.manifest())?.source ?? (await reader.record<{ source?: { url: string; projectId: number } }>(files.syncPlan))?.source;
  return source ? `${stackHost(source.url)}/${source.projectId}` : 'backup';
}

/** The marker of one entity: `[stack-migrate us-east4.gcp.keboola.com/101 trigger 45]`. */
export const markerOf = (identity: string, type: string, sourceId: string | number): string => `[stack-migrate ${identity} ${type} ${sourceId}]`;

/** Whether a failed request may still have been carried out (and so may land after the retry). */
export function answerMayBeLost(error: unknown): boolean {
  return error instanceof StackError && (error.kind === 'network' || error.kind === 'timeout' || error.kind === 'server');
}

/** Runs a create; when its answer may be lost, notes the step as in doubt (durably) before failing the attempt. */
export async function createNoting<T>(reader: SnapshotReader, step: string, create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (answerMayBeLost(error)) {
      const record = (await reader.record<{ lostAt: number[] }>(inDoubtRecord(step))) ?? { lostAt: [] };
      await reader.write(inDoubtRecord(step), { lostAt: [...record.lostAt, Date.now()] });
    }
    throw error;
  }
}

/**
 * Waits until every create of `step` that was in doubt is past the late-write grace (heartbeating), so that what
 * the step lists next shows any copy they made. Answers whether there was anything to wait for.
 */
export async function awaitLateWrites(reader: SnapshotReader, step: string, graceMs: number): Promise<boolean> {
  const record = await reader.record<{ lostAt: number[] }>(inDoubtRecord(step));
  if (!record?.lostAt.length) return false;
  const until = Math.max(...record.lostAt) + graceMs;
  while (Date.now() < until) {
    heartbeat({ awaitingLateWrites: step, untilMs: until });
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, until - Date.now())));
  }
  return true;
}

/** After the step's last look: nothing of it is in doubt any more. */
export async function settleLateWrites(reader: SnapshotReader, step: string): Promise<void> {
  if (await reader.record(inDoubtRecord(step))) await reader.write(inDoubtRecord(step), { lostAt: [] });
}

/**
 * The copies beyond the kept one of each group (`keep` picks it, the lowest ID by default), each removed with
 * `remove` and recorded for the report.
 */
export async function removeDuplicates<T>(
  reader: SnapshotReader,
  entity: string,
  groups: Map<string, T[]>,
  idOf: (item: T) => string,
  remove: (item: T) => Promise<void>,
  keep: (items: T[], key: string) => T = (items) => [...items].sort((a, b) => compareIds(idOf(a), idOf(b)))[0]!,
): Promise<RemovedDuplicate[]> {
  const removed: RemovedDuplicate[] = [];
  for (const [key, items] of groups) {
    if (items.length < 2) continue;
    const kept = keep(items, key);
    for (const item of items) {
      if (item === kept) continue;
      await remove(item);
      removed.push({ entity: key ? `${entity} ${key}` : entity, kept: idOf(kept), removed: idOf(item), at: new Date().toISOString() });
    }
  }
  if (removed.length) await recordRemoved(reader, removed);
  return removed;
}

/** Removes what a late create left behind unused (a marked token no entity runs with), recorded for the report. */
export async function removeOrphans<T>(reader: SnapshotReader, entity: string, items: T[], idOf: (item: T) => string, remove: (item: T) => Promise<void>): Promise<RemovedDuplicate[]> {
  const removed: RemovedDuplicate[] = [];
  for (const item of items) {
    await remove(item);
    removed.push({ entity, kept: '(none: unused)', removed: idOf(item), at: new Date().toISOString() });
  }
  if (removed.length) await recordRemoved(reader, removed);
  return removed;
}

async function recordRemoved(reader: SnapshotReader, removed: RemovedDuplicate[]): Promise<void> {
  const earlier = (await reader.record<RemovedDuplicate[]>(DUPLICATES_REMOVED_FILE)) ?? [];
  await reader.write(DUPLICATES_REMOVED_FILE, [...earlier, ...removed]);
}

/** Numeric IDs in number order, others as text. */
export function compareIds(a: string, b: string): number {
  const [x, y] = [Number(a), Number(b)];
  return Number.isFinite(x) && Number.isFinite(y) ? x - y : a.localeCompare(b);
}

/** Items grouped by a key (items without one are left out). */
export function groupBy<T>(items: T[], keyOf: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key !== undefined) groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}
