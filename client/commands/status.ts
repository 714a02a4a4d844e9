import type { Client } from '@temporalio/client';
import { statusQuery } from '../../workflows';
import type { MigrationStatus } from '../../workflows/types';

export interface MigrationOverview {
  workflowId: string;
  execution: string;
  status?: MigrationStatus;
  /** Activities that are retrying, with why: what the operator sees while a stack is down. */
  waiting: Array<{ activity: string; attempt: number; lastFailure?: string; nextAttemptAt?: string }>;
}

export async function getMigrationStatus(client: Client, workflowId: string): Promise<MigrationOverview> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  const status = await handle.query(statusQuery).catch(() => undefined);
  const raw = description.raw.pendingActivities ?? [];
  return {
    workflowId,
    execution: description.status.name,
    status,
    waiting: raw
      .filter((activity) => (activity.attempt ?? 1) > 1 || activity.lastFailure)
      .map((activity) => ({
        activity: activity.activityType?.name ?? '?',
        attempt: activity.attempt ?? 1,
        lastFailure: activity.lastFailure?.message ?? undefined,
        nextAttemptAt: activity.nextAttemptScheduleTime?.seconds ? new Date(Number(activity.nextAttemptScheduleTime.seconds) * 1000).toISOString() : undefined,
      })),
  };
}

export function formatStatus(overview: MigrationOverview): string {
  const lines = [`${overview.workflowId}: ${overview.execution}${overview.status ? `, step ${overview.status.step}` : ''}`];
  const status = overview.status;
  if (status) {
    for (const [type, p] of Object.entries(status.progress)) if (p.total > 0 || p.done > 0) lines.push(`  ${type.padEnd(15)} ${p.done}/${p.total}${p.failed ? ` (${p.failed} failed)` : ''}`);
    if (status.approval) lines.push(`  ${status.approval.decision} by ${status.approval.by}${status.approval.comment ? `: ${status.approval.comment}` : ''}`);
    for (const finding of status.validation?.findings ?? []) lines.push(`  ${finding.severity.toUpperCase()} [${finding.code}] ${finding.entity ?? ''}: ${finding.message}. What to do: ${finding.action}.`);
    for (const failure of status.failures) lines.push(`  ! ${failure.entity}: ${failure.message}`);
    if (status.step === 'awaiting-approval') lines.push(`  waiting for approval: stack-migrate approve ${overview.workflowId} --by <you>`);
  }
  for (const waiting of overview.waiting) {
    lines.push(`  waiting: ${waiting.activity} attempt ${waiting.attempt}${waiting.lastFailure ? `, last failure: ${waiting.lastFailure}` : ''}${waiting.nextAttemptAt ? `, next try ${waiting.nextAttemptAt}` : ''}`);
  }
  return lines.join('\n');
}
