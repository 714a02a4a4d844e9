// `start --resume` is re-entrant on a real Temporal server: a migration cancelled at any step boundary, or one that
// completed, started again with resume verifies against what it wrote itself (the new orchestration IDs in Flows and
// schedules, the writers' workspaces and GoodData projects, re-encrypted secrets), completes, and leaves the
// destination as one clean run does: nothing twice, nothing missing, and after completion nothing changed at all.
import { WorkflowFailedError } from '@temporalio/client';
import { startMigration } from '../../client/commands/start';
import type { StackClient } from '../../stack';
import { statusQuery } from '../../workflows';
import { clearFaults, compareProjects, injectFault, sleep } from '../../scripts/durability-tools';
import { useHarness } from '../helpers/harness';
import { holdActivity } from '../helpers/migration';

const h = useHarness({ jobDelayMs: 10 });
process.env.STACK_MIGRATE_RESUME_MANAGE_TOKEN = 'us-manage-token-stack-migrate';

function start(taskQueue: string, resume: boolean) {
  return startMigration(h.client, taskQueue, {
    source: h.stacks.sourceRef,
    destination: h.stacks.destinationRef,
    requireApproval: false,
    resume,
    manageTokenRef: 'env:STACK_MIGRATE_RESUME_MANAGE_TOKEN',
  });
}

/** The destination's entities with the IDs they got, and configuration bodies: what a re-run must not change. */
async function fingerprint(client: StackClient) {
  const configurations = (await client.components.list()).flatMap((c) =>
    (c.configurations ?? []).map((cfg) => ({ id: `${c.id}/${cfg.id}`, configuration: cfg.configuration, rows: (cfg.rows ?? []).map((r) => ({ id: r.id, configuration: r.configuration })) })),
  );
  return {
    buckets: (await client.buckets.list()).map((b) => b.id).sort(),
    tables: (await client.tables.list()).map((t) => `${t.id}:${t.rowsCount}`).sort(),
    configurations: configurations.sort((a, b) => a.id.localeCompare(b.id)),
    orchestrations: (await client.orchestrator.list()).map((o) => `${o.id}:${o.name}`).sort(),
    triggers: (await client.triggers.list()).map((t) => String(t.id)).sort(),
    workspaces: (await client.workspaces.list()).map((w) => String(w.id)).sort(),
    goodDataProjects: (await client.gooddata.listProjects()).map((p) => p.pid).sort(),
    notifications: (await client.notifications.list()).map((n) => n.id).sort(),
    tokens: (await client.tokens.list()).map((t) => t.description).sort(),
  };
}

/** Entities with new IDs, counted: one per source entity. */
async function newIdCounts(client: StackClient) {
  return {
    orchestrations: (await client.orchestrator.list()).length,
    triggers: (await client.triggers.list()).length,
    goodDataProjects: (await client.gooddata.listProjects()).length,
    notifications: (await client.notifications.list()).length,
  };
}

async function expectLikeOneCleanRun() {
  const comparison = await compareProjects(h.source, h.destination);
  expect({ duplicates: comparison.duplicates, mismatches: comparison.mismatches }).toEqual({ duplicates: [], mismatches: [] });
  const sourceGoodData = (await h.source.gooddata.listProjects()).length;
  expect(await newIdCounts(h.destination)).toEqual({
    orchestrations: (await h.source.orchestrator.list()).length,
    triggers: (await h.source.triggers.list()).length,
    goodDataProjects: Math.min(sourceGoodData, 1), // the one writer's project moves; the source's others stay
    notifications: (await h.source.notifications.list()).length,
  });
}

describe('start --resume', () => {
  test('after a completed migration: verifies against its own edits, completes, and changes nothing', async () => {
    await h.withWorker(async (taskQueue) => {
      expect((await (await start(taskQueue, false)).result()).outcome).toBe('completed');
      const before = await fingerprint(h.destination);
      const again = await (await start(taskQueue, true)).result();
      expect(again.outcome).toBe('completed');
      expect(await fingerprint(h.destination)).toEqual(before);
      await expectLikeOneCleanRun();
    });
  });

  // The last activity of each restore step (finalizeSnapshot ends the tables step in a migration); the boundary
  // after the last one comes before verifyCreatedEntities, and the completed case above covers the end.
  test.each([
    'restoreBranchMetadata',
    'restoreBuckets',
    'finalizeSnapshot',
    'restoreAliases',
    'verifyConfigurations',
    'rewriteOrchestrationReferences',
    'restoreTriggers',
    'restoreNotifications',
    'restorePermanentFiles',
    'provisionSnowflakeWriters',
    'moveGoodDataProjects',
    'migrateSecrets',
  ])('after a cancel at the boundary after %s: completes like one clean run', async (activityType) => {
    const hold = holdActivity(activityType, 'after');
    await h.withWorker(
      async (taskQueue) => {
        const first = await start(taskQueue, false);
        await hold.reached;
        await first.cancel();
        await sleep(500); // the cancellation is seen before the held activity's result
        hold.release();
        await expect(first.result()).rejects.toThrow(WorkflowFailedError);
        expect((await first.query(statusQuery)).step).toBe('cancelled');

        const resumed = await (await start(taskQueue, true)).result();
        expect(resumed.outcome).toBe('completed');
        expect(resumed.verification.ok).toBe(resumed.verification.tables);
        await expectLikeOneCleanRun();
      },
      { activityInterceptors: [hold.interceptor] },
    );
  });

  // A stack answering a shape no documented endpoint has fails the migration at once (not retryable).
  test.each([
    ['triggers', '/v2/storage/triggers$'],
    ['GoodData projects', '/gdc/projects$'],
  ])('after a failure in the %s step: completes like one clean run', async (_step, pathPattern) => {
    await h.withWorker(async (taskQueue) => {
      await injectFault(h.stacks.destination.url, { kind: 'garbage', method: 'POST', pathPattern, forRequests: 1 });
      await expect((await start(taskQueue, false)).result()).rejects.toThrow(WorkflowFailedError);
      await clearFaults(h.stacks.destination.url);
      const resumed = await (await start(taskQueue, true)).result();
      expect(resumed.outcome).toBe('completed');
      await expectLikeOneCleanRun();
    });
  });
});
