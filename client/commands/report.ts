import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { openSnapshotStore } from '../../snapshot/stores';
import { statusQuery } from '../../workflows';
import type { MigrationResult, ReportLocation } from '../../workflows/types';

export interface ReportFiles {
  json: string;
  markdown: string;
  html: string;
  checklistItems: number;
}

/** The report's paths are on the worker's machine; this CLI reads them only when it can reach that folder. */
export class ReportUnreachableError extends Error {
  override name = 'ReportUnreachableError';
}

export class ReportNotReadyError extends Error {
  override name = 'ReportNotReadyError';
}

/** The innermost cause of a workflow's failure, with where it happened (`restoreAliases: ... [NotFound]`), not "Activity task failed". */
export function rootCause(error: unknown): string {
  if (error instanceof WorkflowFailedError && error.cause) return rootCause(error.cause);
  if (error instanceof ActivityFailure && error.cause) return `${error.activityType}: ${rootCause(error.cause)}`;
  if (error instanceof ChildWorkflowFailure && error.cause) return `${error.execution?.workflowId ?? error.workflowType}: ${rootCause(error.cause)}`;
  if (error instanceof ApplicationFailure && error.type) return `${error.message} [${error.type}]`;
  return error instanceof Error ? error.message : String(error);
}

/** Where the worker wrote the report: from the result of a completed migration, else from its `status` query. */
export async function locateReport(client: Client, workflowId: string): Promise<ReportFiles> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  let location: (ReportLocation & { html?: string }) | undefined;
  if (description.status.name === 'COMPLETED') {
    location = ((await handle.result()) as MigrationResult).report;
  }
  if (!location && ['FAILED', 'TERMINATED', 'TIMED_OUT', 'CANCELLED'].includes(description.status.name)) {
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    throw new ReportNotReadyError(
      `${workflowId} ended ${description.status.name.toLowerCase()} before its report was written: ${rootCause(failure)}. \`stack-migrate status ${workflowId}\` lists what was done and what failed`,
    );
  }
  if (!location) {
    const status = await handle.query(statusQuery).catch((error: Error) => {
      throw new ReportNotReadyError(`cannot ask ${workflowId} for its report (${error.message}): is a worker running?`);
    });
    location = status.report;
    if (!location) throw new ReportNotReadyError(`${workflowId} has no report yet (step ${status.step}): the report is written after the restore`);
  }
  return { ...location, html: location.html ?? path.join(path.dirname(location.json), 'report.html') };
}

/** Reads a report file: a path on this machine, or an object-store URL (with this machine's SDK environment). */
export async function readReportFile(file: string): Promise<string> {
  try {
    if (/^(s3|gs|azure):\/\//.test(file)) {
      const { folder, name } = { folder: file.slice(0, file.lastIndexOf('/')), name: file.slice(file.lastIndexOf('/') + 1) };
      const text = await openSnapshotStore(folder, process.env).readText(name);
      if (text === undefined) throw Object.assign(new Error('no such object'), { code: 'ENOENT' });
      return text;
    }
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ReportUnreachableError(
      `the report is on the worker's machine at ${file}, which this machine cannot read (${code}): read it there, or run the CLI where the worker's snapshot folder (STACK_MIGRATE_SNAPSHOT_ROOT) is mounted`,
    );
  }
}

/** Checks the HTML report is reachable; copies it to `target` when given. Returns the path to open. */
export async function htmlReport(files: ReportFiles, target?: string): Promise<string> {
  const html = await readReportFile(files.html);
  if (!target) return files.html;
  await fs.writeFile(target, html);
  return path.resolve(target);
}
