import type { Client } from '@temporalio/client';
import { statusQuery } from '../../workflows';
import { changeCount, ENTITIES, ENTITY_TYPES, type MigrationStatus, type SyncChanges, type SyncStatus } from '../../workflows/types';
import { formatDuration } from '../format';

export interface MigrationOverview {
  workflowId: string;
  execution: string;
  status?: MigrationStatus;
  /** Activities that are retrying, with why: what the operator sees while a stack is down. */
  waiting: Array<{ activity: string; attempt: number; lastFailure?: string; nextAttemptAt?: string }>;
  estimate?: Estimate;
}

/** How far the copy is and, from the pace so far, how long the rest may take. */
export interface Estimate {
  /** Units of work (entities, table exports and imports) done, 0..1. */
  fractionDone: number;
  /** Since the copy began: the approval, or the start when no approval was needed. */
  elapsedMs: number;
  /** Undefined until some progress was made, or while paused. */
  remainingMs?: number;
  note?: string;
}

const COPY_STEPS = new Set(['snapshotting', 'restoring', 'verifying', 'reporting']);

export function estimateRemaining(status: MigrationStatus, now = Date.now()): Estimate | undefined {
  const progress = Object.values(status.progress);
  const total = progress.reduce((sum, p) => sum + p.total, 0);
  const done = progress.reduce((sum, p) => sum + Math.min(p.done + p.failed + (p.skipped ?? 0), p.total), 0);
  if (status.step === 'completed') return { fractionDone: 1, elapsedMs: 0, remainingMs: 0 };
  if (!COPY_STEPS.has(status.step)) return undefined;
  const began = Date.parse(status.approval?.decision === 'approved' ? status.approval.at : status.startedAt);
  const elapsedMs = Math.max(0, now - began);
  const fractionDone = total > 0 ? done / total : 0;
  if (status.paused) return { fractionDone, elapsedMs, note: `paused by ${status.paused.by}: no estimate until it resumes` };
  if (fractionDone <= 0 || total === 0) return { fractionDone, elapsedMs, note: 'no progress yet to estimate from' };
  if (fractionDone >= 1) return { fractionDone, elapsedMs, remainingMs: 0, note: `finishing (${status.step})` };
  return { fractionDone, elapsedMs, remainingMs: Math.round((elapsedMs * (1 - fractionDone)) / fractionDone) };
}

export function formatEstimate(estimate: Estimate): string {
  const percent = `${Math.floor(estimate.fractionDone * 100)}% done`;
  const parts = [percent, `${formatDuration(estimate.elapsedMs)} elapsed`];
  if (estimate.remainingMs !== undefined && estimate.remainingMs > 0) parts.push(`about ${formatDuration(estimate.remainingMs)} left`);
  if (estimate.note) parts.push(estimate.note);
  return parts.join(', ');
}

export async function getMigrationStatus(client: Client, workflowId: string): Promise<MigrationOverview> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const status = await handle.query(statusQuery).catch(() => undefined);
  // Tables move in child workflows: a table activity that waits out an outage is pending in a child, not here.
  const raw = [...(description.raw.pendingActivities ?? []).map((activity) => ({ activity, owner: '' }))];
  for (const child of description.raw.pendingChildren ?? []) {
    if (!child.workflowId) continue;
    const childDescription = await client.workflow.getHandle(child.workflowId).describe().catch(() => undefined);
    for (const activity of childDescription?.raw.pendingActivities ?? []) raw.push({ activity, owner: `${child.workflowId}: ` });
  }
  return {
    workflowId,
    execution: description.status.name,
    status,
    estimate: status && description.status.name === 'RUNNING' ? estimateRemaining(status) : undefined,
    waiting: raw
      .filter(({ activity }) => (activity.attempt ?? 1) > 1 || activity.lastFailure)
      .map(({ activity, owner }) => ({
        activity: `${owner}${activity.activityType?.name ?? '?'}`,
        attempt: activity.attempt ?? 1,
        lastFailure: activity.lastFailure?.message ?? undefined,
        nextAttemptAt: activity.nextAttemptScheduleTime?.seconds ? new Date(Number(activity.nextAttemptScheduleTime.seconds) * 1000).toISOString() : undefined,
      })),
  };
}

/** A migration kept in sync: its phase, last pass, how far behind the destination is, and whether it can cut over. */
function syncLines(workflowId: string, sync: SyncStatus): string[] {
  const last = sync.lastPass;
  const lines = [`  phase ${sync.phase}: ${sync.passes} sync pass(es) since the first copy; last at ${sync.lastPassAt}${last ? ` (pass ${last.pass}: ${changeCount(last.changes)} change(s), ${last.seconds} s, ${last.verification.ok} of ${last.verification.tables} table(s) verified)` : ''}`];
  if (sync.running) lines.push(`  running: ${sync.running}`);
  if (sync.lag) lines.push(`  behind: ${sync.lag.total} change(s) in the source since the last pass (${describeChanges(sync.lag.changes)}), checked ${sync.lag.checkedAt}`);
  if (sync.lastPassFailure) lines.push(`  ! sync pass ${sync.lastPassFailure.pass} failed at ${sync.lastPassFailure.at}: ${sync.lastPassFailure.message}`);
  if (sync.phase === 'in-sync') {
    lines.push(sync.notReady.length ? `  not ready to cut over: ${sync.notReady.join('; ')}` : `  ready to cut over: stack-migrate cutover ${workflowId} --by <you>`);
  }
  const c = sync.cutover;
  if (c?.finishedAt && !c.rollback) lines.push(`  cut over by ${c.by} at ${c.finishedAt}, downtime ${c.downtimeSeconds} s (undo: stack-migrate rollback ${workflowId} --by <you>)`);
  if (c?.rollback) lines.push(`  rolled back by ${c.rollback.by} at ${c.rollback.at}`);
  if (c?.failed) lines.push(`  ! the last cutover failed: ${c.failed}`);
  return lines;
}

function describeChanges(changes: SyncChanges): string {
  const parts = Object.entries(changes).flatMap(([key, value]) => {
    const n = Array.isArray(value) ? value.length : (value as number);
    return n ? [`${key} ${n}`] : [];
  });
  return parts.join(', ') || 'nothing';
}

export function formatStatus(overview: MigrationOverview): string {
  const lines = [`${overview.workflowId}: ${overview.execution}${overview.status ? `, step ${overview.status.step}` : ''}`];
  const status = overview.status;
  if (status) {
    for (const type of ENTITY_TYPES) {
      const p = status.progress[type];
      if (!p || (p.total === 0 && p.done === 0)) continue;
      const notes = [p.failed ? `${p.failed} failed` : '', p.skipped ? `${p.skipped} skipped` : ''].filter(Boolean);
      lines.push(`  ${ENTITIES[type].label.padEnd(22)} ${p.done}/${p.total}${notes.length ? ` (${notes.join(', ')})` : ''}`);
    }
    if (status.approval) lines.push(`  ${status.approval.decision} by ${status.approval.by}${status.approval.comment ? `: ${status.approval.comment}` : ''}`);
    for (const finding of status.validation?.findings ?? []) lines.push(`  ${finding.severity.toUpperCase()} [${finding.code}] ${finding.entity ?? ''}: ${finding.message}. What to do: ${finding.action}.`);
    for (const failure of status.failures) lines.push(`  ! ${failure.entity}: ${failure.message}`);
    if (overview.estimate) lines.push(`  ${formatEstimate(overview.estimate)}`);
    if (status.paused) lines.push(`  paused by ${status.paused.by}${status.paused.reason ? `: ${status.paused.reason}` : ''} (resume: stack-migrate resume ${overview.workflowId})`);
    if (status.report) lines.push(`  report: ${status.report.markdown} (stack-migrate report ${overview.workflowId}); ${status.report.checklistItems} checklist item(s) need a person`);
    if (status.step === 'awaiting-approval') lines.push(`  waiting for approval: stack-migrate approve ${overview.workflowId} --by <you>`);
    if (status.sync) lines.push(...syncLines(overview.workflowId, status.sync));
  }
  for (const waiting of overview.waiting) {
    lines.push(`  waiting: ${waiting.activity} attempt ${waiting.attempt}${waiting.lastFailure ? `, last failure: ${waiting.lastFailure}` : ''}${waiting.nextAttemptAt ? `, next try ${waiting.nextAttemptAt}` : ''}`);
  }
  return lines.join('\n');
}
