import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { validateProject } from '../../workflows';
import { describeIssues, migrationInputSchema, migrationWorkflowId, type MigrationInputDraft } from '../../workflows/input';
import type { Plan, ValidationReport } from '../../workflows/types';
import { formatBytes } from '../format';
import { InputError } from './start';

/**
 * The dry run: validation and the plan, writing nothing. Tokens live only on the worker, so the check runs there,
 * as the short `validateProject` workflow (no approval, no snapshot), and the CLI waits for its answer.
 */
export async function validateMigrationDryRun(client: Client, taskQueue: string, draft: MigrationInputDraft, timeout: Duration = '15m'): Promise<ValidationReport> {
  const parsed = migrationInputSchema.safeParse(draft);
  if (!parsed.success) throw new InputError(`the migration input is invalid: ${describeIssues(parsed.error)}`);
  return client.workflow.execute(validateProject, {
    taskQueue,
    workflowId: `validate-${migrationWorkflowId(parsed.data).replace(/^migrate-/, '')}-${randomUUID().slice(0, 8)}`,
    args: [parsed.data],
    workflowExecutionTimeout: timeout,
    memo: { summary: 'dry run: validation and plan, nothing written' },
  });
}

export function blockersOf(report: ValidationReport) {
  return report.findings.filter((f) => f.severity === 'blocker');
}

/** Counts and bytes per entity type, as the migration would move them. */
export function planRows(plan: Plan): Array<{ type: string; count: number; detail: string }> {
  return [
    { type: 'buckets', count: plan.buckets, detail: '' },
    { type: 'tables', count: plan.tables, detail: `${plan.rows} rows, ${formatBytes(plan.bytes)}` },
    { type: 'aliases', count: plan.aliases, detail: 'no data of their own' },
    { type: 'configurations', count: plan.configurations, detail: `${plan.configurationRows} rows` },
  ];
}

export function formatValidation(report: ValidationReport): string {
  const blockers = blockersOf(report);
  const warnings = report.findings.filter((f) => f.severity === 'warning');
  const s = report.sourceProject;
  const d = report.destinationProject;
  const lines = [
    `source      project ${s.id} (${s.name})${s.region ? `, ${s.region}` : ''}${s.backend ? `, ${s.backend}` : ''}`,
    `destination project ${d.id} (${d.name})${d.region ? `, ${d.region}` : ''}${d.backend ? `, ${d.backend}` : ''}`,
    '',
    'plan (nothing was written):',
    ...planRows(report.plan).map((r) => `  ${r.type.padEnd(15)} ${String(r.count).padStart(6)}  ${r.detail}`),
    `  ${'total data'.padEnd(15)} ${formatBytes(report.plan.bytes).padStart(6)}`,
    '',
  ];
  for (const f of [...blockers, ...warnings]) {
    lines.push(`${f.severity.toUpperCase()} [${f.code}] ${f.entity ? `${f.entity}: ` : ''}${f.message}. What to do: ${f.action}.`);
  }
  lines.push(
    blockers.length
      ? `\n${blockers.length} blocker(s): the migration cannot start until they are fixed.`
      : `\nno blockers${warnings.length ? `, ${warnings.length} warning(s)` : ''}: the migration can start (stack-migrate start ...).`,
  );
  return lines.join('\n');
}
