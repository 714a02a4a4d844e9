// Operator and support-tooling controls on a real Temporal server: the decide update with its validator and the
// four-eyes rule, invalid signals, pause/resume, and cancellation with clean-up.
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { startMigration } from '../../client/commands/start';
import { decideMigration } from '../../client/commands/decide';
import { approveSignal, pauseSignal, resumeSignal, statusQuery } from '../../workflows';
import { useHarness } from '../helpers/harness';
import { holdActivity, waitForStep } from '../helpers/migration';

const h = useHarness({ jobDelayMs: 10 });

function start(taskQueue: string, extra: Record<string, unknown> = {}) {
  return startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, ...extra });
}

type Failure = Error & { cause?: Error & { type?: string } };

async function failureOf(promise: Promise<unknown>): Promise<Failure> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Failure,
  );
}

describe('controls', () => {
  test('the decide update refuses the starter under the four-eyes rule and a second decision, with reasons', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await start(taskQueue, { requestedBy: 'alice', options: { fourEyes: true } });
      await waitForStep(handle, 'awaiting-approval');

      const own = await failureOf(decideMigration(h.client, handle.workflowId, 'approve', { by: 'Alice' }));
      expect(own).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(own.cause?.message).toContain('four-eyes rule');

      const approval = await decideMigration(h.client, handle.workflowId, 'approve', { by: 'bob', comment: 'checked the plan' });
      expect(approval).toMatchObject({ decision: 'approved', by: 'bob', comment: 'checked the plan' });

      const again = await failureOf(decideMigration(h.client, handle.workflowId, 'reject', { by: 'carol' }));
      expect(again.cause?.message).toContain('already approved by bob');
      expect((await handle.result()).outcome).toBe('completed');
    });
  });

  test('a signal with an invalid payload is ignored and shown in the status; the migration keeps waiting', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await start(taskQueue);
      await waitForStep(handle, 'awaiting-approval');
      await handle.signal(approveSignal, { by: '   ' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const status = await handle.query(statusQuery);
      expect(status.step).toBe('awaiting-approval');
      expect(status.approval).toBeUndefined();
      expect(status.failures.map((f) => f.message).join('\n')).toContain('ignored approve signal: invalid decision: by: say who decides');
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow(WorkflowFailedError); // closed before the next test starts the same migration
      expect((await handle.query(statusQuery)).step).toBe('cancelled');
    });
  });

  test('pause holds the migration at the next entity boundary and resume lets it finish', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await start(taskQueue);
      await waitForStep(handle, 'awaiting-approval');
      await handle.signal(pauseSignal, { by: 'support', reason: 'destination maintenance tonight' });
      await decideMigration(h.client, handle.workflowId, 'approve', { by: 'operator' });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const paused = await handle.query(statusQuery);
      expect(paused.paused).toMatchObject({ by: 'support', reason: 'destination maintenance tonight' });
      expect(paused.step).toBe('awaiting-approval'); // approved, but held at the boundary before the snapshot
      expect(await h.destination.buckets.list()).toEqual([]);
      await handle.signal(resumeSignal, { by: 'support' });
      expect((await handle.result()).outcome).toBe('completed');
    });
  });

  test('cancellation stops at a boundary and the clean-up leaves the destination empty again', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await start(taskQueue, { requireApproval: false, options: { cleanupOnCancel: true } });
      // Cancel once the restore has written something to the destination.
      const deadline = Date.now() + 60_000;
      while ((await h.destination.buckets.list()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect((await h.destination.buckets.list()).length).toBeGreaterThan(0);
      await handle.cancel();
      const failure = await failureOf(handle.result());
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const status = await handle.query(statusQuery);
      expect(status.step).toBe('cancelled');
      expect(status.cleanup).toMatchObject({ destinationEmpty: true, remaining: [] });
      expect(status.cleanup!.deletedBuckets.length).toBeGreaterThan(0);
      expect(await h.destination.buckets.list()).toEqual([]);
      expect((await h.destination.components.list()).flatMap((c) => c.configurations ?? [])).toEqual([]);
      // The branch metadata restored before the buckets is the run's too: gone, and said so.
      expect(await h.destination.branches.listMetadata()).toEqual([]);
      expect(status.cleanup!.deletedOther).toContain('branch metadata KBC.projectDescription');
    });
  });

  test('cancellation with clean-up after the writer steps also removes what got new IDs: orchestrations, triggers, their tokens, workspaces, GoodData projects', async () => {
    const hold = holdActivity('moveGoodDataProjects', 'after');
    await h.withWorker(
      async (taskQueue) => {
        const handle = await start(taskQueue, { requireApproval: false, options: { cleanupOnCancel: true } });
        await hold.reached;
        expect((await h.destination.orchestrator.list()).length).toBeGreaterThan(0);
        expect((await h.destination.workspaces.list()).length).toBeGreaterThan(0);
        expect((await h.destination.gooddata.listProjects()).length).toBeGreaterThan(0);
        await handle.cancel();
        await new Promise((resolve) => setTimeout(resolve, 500)); // the cancellation is seen before the held result
        hold.release();
        expect(await failureOf(handle.result())).toBeInstanceOf(WorkflowFailedError);
        const status = await handle.query(statusQuery);
        expect(status.step).toBe('cancelled');
        expect(status.cleanup).toMatchObject({ destinationEmpty: true, remaining: [] });
        expect(status.cleanup!.deletedOther).toEqual(expect.arrayContaining([expect.stringMatching(/^orchestration /), expect.stringMatching(/^trigger /), expect.stringMatching(/^token /), expect.stringMatching(/^workspace /), expect.stringMatching(/^GoodData project /)]));
        expect(await h.destination.orchestrator.list()).toEqual([]);
        expect(await h.destination.triggers.list()).toEqual([]);
        expect(await h.destination.workspaces.list()).toEqual([]);
        expect(await h.destination.gooddata.listProjects()).toEqual([]);
        expect((await h.destination.tokens.list()).map((t) => t.description)).toEqual(['Master token of the destination project']);
      },
      { activityInterceptors: [hold.interceptor] },
    );
  });

  test('a cancelled migration resumed into the same destination finishes without duplicates', async () => {
    await h.withWorker(async (taskQueue) => {
      const first = await start(taskQueue, { requireApproval: false });
      const deadline = Date.now() + 60_000;
      while ((await h.destination.buckets.list()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await first.cancel();
      await expect(first.result()).rejects.toThrow(WorkflowFailedError);
      expect((await h.destination.buckets.list()).length).toBeGreaterThan(0); // partial destination, no clean-up

      const blocked = await start(taskQueue, { requireApproval: false });
      await expect(blocked.result()).rejects.toThrow(WorkflowFailedError); // without resume, a non-empty destination blocks

      const resumed = await start(taskQueue, { requireApproval: false, resume: true });
      const result = await resumed.result();
      expect(result.outcome).toBe('completed');
      expect(result.status.validation?.findings.map((f) => f.code)).toContain('DESTINATION_RESUMED');
      expect(result.verification.ok).toBe(result.verification.tables);

      // Legacy orchestrations get new IDs (docs/domain.md#restore-order): they are compared by count; everything else by ID and rows.
      const describe = async (client: typeof h.source) =>
        (await client.components.list()).flatMap((c) => (c.configurations ?? []).map((cfg) => (c.id === 'orchestrator' ? 'orchestrator' : `${c.id}/${cfg.id}:${cfg.rows?.length ?? 0}`)));
      expect((await describe(h.destination)).sort()).toEqual((await describe(h.source)).sort());
      const sourceTables = new Map((await h.source.tables.list()).map((t) => [t.id, t.rowsCount]));
      for (const table of await h.destination.tables.list()) expect(table.rowsCount).toBe(sourceTables.get(table.id));
    });
  });
});
