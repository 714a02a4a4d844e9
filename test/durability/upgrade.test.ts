// Workers upgraded under running migrations, with Worker Deployment Versioning on a real Temporal server: a
// migration started on build 1 waits for approval while build 2 (changed workflow code) becomes current; new
// migrations start on build 2, and the waiting one, approved later, finishes on build 1.
import { randomUUID } from 'node:crypto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import { startMigration } from '../../client/commands/start';
import { decideMigration } from '../../client/commands/decide';
import { describeDeployment, formatDeployment, setCurrentBuild } from '../../client/commands/deployment';
import { createMigrationWorker } from '../../worker/create-worker';
import { readSeed } from '../../scripts/stack-pair';
import { useHarness } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';

const h = useHarness({ jobDelayMs: 10 });
const SECOND_TOKEN = '202-second-destination-token';
process.env.STACK_MIGRATE_UPGRADE_SECOND_TOKEN = SECOND_TOKEN;

async function runningWorker(connection: NativeConnection, taskQueue: string, deployment: { deploymentName: string; buildId: string }, workflowsPath?: string) {
  const worker: Worker = await createMigrationWorker({ connection, namespace: h.temporal.namespace, taskQueue, snapshotRoot: h.snapshotRoot, dataConverter: h.dataConverter, deployment, workflowsPath });
  const running = worker.run();
  return { stop: async () => (worker.shutdown(), await running) };
}

/** The build of every workflow task the migration completed, and whether the changed code's timer is in its history. */
const CHANGED_BUILD_TIMER_MS = 1357; // test/fixtures/workflows-v2.ts (a workflow module: not imported here)
const timerMs = (timeout: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(timeout?.seconds ?? 0) * 1000 + (timeout?.nanos ?? 0) / 1e6;

async function buildsOf(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  const builds = new Set(events.flatMap((e) => (e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes.deploymentVersion?.buildId ?? 'unversioned'] : [])));
  const description = await h.client.workflowService.describeWorkflowExecution({ namespace: h.temporal.namespace, execution: { workflowId: handle.workflowId } });
  const versioning = description.workflowExecutionInfo?.versioningInfo;
  return {
    builds: [...builds].sort(),
    pinned: versioning?.behavior === temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED,
    timer: events.some((e) => e.timerStartedEventAttributes && timerMs(e.timerStartedEventAttributes.startToFireTimeout) === CHANGED_BUILD_TIMER_MS),
  };
}

test('a migration waiting for approval on build 1 finishes on build 1 after build 2 became current; new ones start on build 2', async () => {
  // A second empty destination project, for the migration started after the upgrade.
  const project = { ...(await readSeed('destination-eu')).projects[0]!, id: 202, name: 'Acme Analytics (EU, second)' };
  project.tokens = [{ ...project.tokens[0]!, token: SECOND_TOKEN }];
  const created = await fetch(`${h.stacks.destination.url}/_emulator/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(project) });
  expect(created.status).toBe(201);
  const secondDestination = { url: h.stacks.destinationRef.url, projectId: 202, tokenRef: 'env:STACK_MIGRATE_UPGRADE_SECOND_TOKEN', name: 'eu-second' };

  const deploymentName = `stack-migrate-${randomUUID()}`;
  const taskQueue = `upgrade-${randomUUID()}`;
  const v1 = await runningWorker(h.temporal.nativeConnection, taskQueue, { deploymentName, buildId: '1' });
  const v2Connection = await NativeConnection.connect({ address: h.temporal.address });
  let v2: Awaited<ReturnType<typeof runningWorker>> | undefined;
  try {
    await setCurrentBuild(h.client, deploymentName, '1');
    const waiting = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: true });
    await waitForStep(waiting, 'awaiting-approval');

    v2 = await runningWorker(v2Connection, taskQueue, { deploymentName, buildId: '2' }, require.resolve('../fixtures/workflows-v2'));
    expect(await setCurrentBuild(h.client, deploymentName, '2')).toEqual({ previous: '1' });

    const fresh = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: secondDestination, requireApproval: false });
    expect((await fresh.result()).outcome).toBe('completed');
    expect(await buildsOf(fresh)).toEqual({ builds: ['2'], pinned: true, timer: true });

    await decideMigration(h.client, waiting.workflowId, 'approve', { by: 'operator' });
    expect((await waiting.result()).outcome).toBe('completed');
    expect(await buildsOf(waiting)).toEqual({ builds: ['1'], pinned: true, timer: false });

    const overview = await describeDeployment(h.client, deploymentName);
    expect(overview.current).toBe('2');
    expect(overview.builds.map((b) => b.buildId).sort()).toEqual(['1', '2']);
    expect(formatDeployment(overview)).toMatch(new RegExp(`^deployment ${deploymentName}: new migrations start on build 2\\n.*\\b1  \\w+`, 's'));
  } finally {
    await v2?.stop();
    await v1.stop();
    await v2Connection.close();
  }
});
