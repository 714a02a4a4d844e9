// Stack outages in the middle of a migration, on a real Temporal server: the migration waits them out with no
// operator action (retries honour Retry-After), `status` says what it waits for and why, and nothing is
// duplicated. The outages here last 60 s; `npm run chaos -- --long-outage` proves one of more than 10 minutes.
import { startMigration } from '../../client/commands/start';
import { formatStatus, getMigrationStatus, type MigrationOverview } from '../../client/commands/status';
import { useHarness } from '../helpers/harness';
import type { migrateProject } from '../../workflows';
import { compareProjects, countRequests, injectFault, waitUntil } from '../../scripts/durability-tools';

const h = useHarness({ jobDelayMs: 10 });
const OUTAGE_SECONDS = 60;
const RETRY_AFTER_SECONDS = 15;

async function rideOut(side: 'source' | 'destination', trigger: RegExp, expectedSteps: string[]): Promise<void> {
  const stackUrl = side === 'source' ? h.stacks.source.url : h.stacks.destination.url;
  await h.withWorker(async (taskQueue) => {
    // Slow job polls keep the tables in flight, one at a time, so the outage lands in the middle of the step.
    await injectFault(stackUrl, { kind: 'latency', latencyMs: 300, pathPattern: '^/v2/storage/jobs/' });
    const handle = await startMigration(h.client, taskQueue, {
      source: h.stacks.sourceRef,
      destination: h.stacks.destinationRef,
      requireApproval: false,
      options: { tableConcurrency: 1 },
    });
    try {
      await during(handle.workflowId);
    } finally {
      // A failed assertion must not leave this migration running: the next test starts the same business key.
      await h.client.workflow.getHandle(handle.workflowId).terminate('test ended').catch(() => undefined);
    }
  });

  async function during(workflowId: string): Promise<void> {
    const handle = h.client.workflow.getHandle<typeof migrateProject>(workflowId);
    await waitUntil(`the first table to reach ${trigger}`, async () => (await countRequests(stackUrl, trigger)) >= 1, 60_000, 20);
    const outageStart = Date.now();
    await injectFault(stackUrl, { kind: 'outage', forSeconds: OUTAGE_SECONDS, retryAfterSeconds: RETRY_AFTER_SECONDS, pathPattern: '^/v2/storage' });

    // During the outage the operator sees that the migration waits, in which activity, and why.
    const seen = await waitUntil<MigrationOverview>(
      'status to show the wait',
      async () => {
        const overview = await getMigrationStatus(h.client, handle.workflowId);
        return overview.waiting.some((w) => /under maintenance/.test(w.lastFailure ?? '')) ? overview : undefined;
      },
      (OUTAGE_SECONDS - 10) * 1000,
      500,
    );
    expect(Date.now() - outageStart).toBeLessThan(OUTAGE_SECONDS * 1000);
    expect(seen.execution).toBe('RUNNING');
    expect(expectedSteps).toContain(seen.status?.step);
    const waiting = seen.waiting.find((w) => /under maintenance/.test(w.lastFailure ?? ''))!;
    expect(waiting.attempt).toBeGreaterThan(1);
    expect(waiting.nextAttemptAt).toBeDefined();
    expect(formatStatus(seen)).toMatch(/waiting: .+ attempt \d+, last failure: .+under maintenance.+retry in \d+ s/);

    const result = await handle.result();
    const elapsed = Date.now() - outageStart;
    expect(result.outcome).toBe('completed');
    expect(elapsed).toBeGreaterThanOrEqual(OUTAGE_SECONDS * 1000); // it really waited the outage out
    expect(result.verification.ok).toBe(result.verification.tables);
    const comparison = await compareProjects(h.source, h.destination);
    expect(comparison.duplicates).toEqual([]);
    expect(comparison.mismatches).toEqual([]);
    console.log(`${side} outage of ${OUTAGE_SECONDS} s during ${seen.status?.step}: completed ${Math.round(elapsed / 1000)} s after it began; ` +
      `status during it: ${waiting.activity} attempt ${waiting.attempt}; destination ${JSON.stringify(comparison.counts)}`);
  }
}

describe('outages', () => {
  test(`a destination outage (${OUTAGE_SECONDS} s, 503 + Retry-After) after the first table import is waited out; nothing is duplicated`, async () => {
    await rideOut('destination', /^POST \S+\/import-async$/, ['restoring', 'snapshotting']); // snapshotting: if the restore overlaps the snapshot
  }, 240_000);

  test(`a source outage (${OUTAGE_SECONDS} s) in the middle of the snapshot is waited out; the data is right`, async () => {
    await rideOut('source', /^POST \S+\/export-async$/, ['snapshotting']);
  }, 240_000);
});
