import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
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

/**
 * Holds the first run of `activityType` (whose input `matches`, when given) until `release()`, `before` it starts or
 * `after` it succeeded: the test acts meanwhile (cancels the migration, changes the destination) at an exact moment
 * of the run.
 */
export function holdActivity(activityType: string, when: 'before' | 'after', matches: (input: Record<string, unknown>) => boolean = () => true) {
  let reached!: () => void;
  let release!: () => void;
  const atHold = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  const hold = async (input: Record<string, unknown>) => {
    if (held || Context.current().info.activityType !== activityType || !matches(input)) return;
    held = true;
    reached();
    await released;
  };
  const interceptor: ActivityInterceptorsFactory = () => ({
    inbound: {
      async execute(input, next) {
        const args = (input.args[0] ?? {}) as Record<string, unknown>;
        if (when === 'before') await hold(args);
        const result = await next(input);
        if (when === 'after') await hold(args);
        return result;
      },
    },
  });
  return { interceptor, reached: atHold, release };
}
