// examples/support-tooling.ts works as shown: status, pause, resume and decide from TypeScript.
import { decide, pause, resume, status } from '../../examples/support-tooling';
import { startMigration } from '../../client/commands/start';
import { useHarness } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';
import { eventually, withOperator } from './helpers';

const h = useHarness({ jobDelayMs: 10 });

test('support tooling: decide under the four-eyes rule, pause, status, resume', async () => {
  await withOperator(h, async (op) => {
    const handle = await startMigration(op.client, op.taskQueue, {
      source: h.stacks.sourceRef,
      destination: h.stacks.destinationRef,
      requestedBy: 'alice',
      options: { fourEyes: true },
    });
    await waitForStep(handle, 'awaiting-approval');
    expect(await decide(op.client, handle.workflowId, 'approve', 'alice')).toEqual({ refused: expect.stringContaining('four-eyes rule') });

    await pause(op.client, handle.workflowId, 'support', 'destination maintenance');
    expect(await decide(op.client, handle.workflowId, 'approve', 'bob', 'plan checked')).toMatchObject({ decision: 'approved', by: 'bob' });
    const held = await eventually('the pause in the status', async () => {
      const s = await status(op.client, handle.workflowId);
      return s.paused ? s : undefined;
    });
    expect(held.paused).toMatchObject({ by: 'support', reason: 'destination maintenance' });
    expect(await h.destination.buckets.list()).toEqual([]);

    await resume(op.client, handle.workflowId, 'support');
    expect((await handle.result()).outcome).toBe('completed');
    expect((await status(op.client, handle.workflowId)).step).toBe('completed');
  });
});
