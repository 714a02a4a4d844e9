import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../workflows';
import type { MigrationStatus, MigrationStep } from '../../workflows/types';

/** Polls the workflow's `status` query until it reaches `step` (or fails the test after `timeoutMs`). */
export async function waitForStep(handle: WorkflowHandle, step: MigrationStep, timeoutMs = 60_000): Promise<MigrationStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: MigrationStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery).catch(() => undefined);
    if (last?.step === step) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`migration did not reach step ${step} within ${timeoutMs} ms; last step: ${last?.step ?? 'unknown'}`);
}
