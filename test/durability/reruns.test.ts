// Re-runs on a real Temporal server: the CLI started twice gives the migration that exists, and creates whose
// request or answer is lost (the activity retries without knowing whether the first try succeeded) leave
// exactly one copy of each entity in the destination.
import { promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { createDataConverter } from '../../temporal/payload-codec';
import { createMigrationWorker } from '../../worker/create-worker';
import { startMigration } from '../../client/commands/start';
import { statusQuery } from '../../workflows';
import { useHarness } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';
import { compareProjects, injectFault, PROJECT_ROOT, waitUntil } from '../../scripts/durability-tools';

const h = useHarness({ jobDelayMs: 10 });

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npx', ['tsx', 'client/main.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}


describe('re-runs', () => {
  test('`stack-migrate start` run twice (two CLI processes) gives the one migration that exists', async () => {
    const codecKey = randomBytes(32).toString('base64');
    const dataConverter = await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey });
    const client = new Client({ connection: h.temporal.client.connection, namespace: h.temporal.namespace, dataConverter });
    const taskQueue = `cli-${randomUUID()}`;
    const worker = await createMigrationWorker({ connection: h.temporal.nativeConnection, namespace: h.temporal.namespace, taskQueue, snapshotRoot: h.snapshotRoot, dataConverter });
    await worker.runUntil(async () => {
      const env = { TEMPORAL_ADDRESS: h.temporal.address, TEMPORAL_NAMESPACE: h.temporal.namespace, STACK_MIGRATE_TASK_QUEUE: taskQueue, STACK_MIGRATE_CODEC_KEY: codecKey };
      const { sourceRef, destinationRef } = h.stacks;
      const args = [
        'start', '--json',
        '--source-url', sourceRef.url, '--source-project', String(sourceRef.projectId), '--source-token-ref', sourceRef.tokenRef, '--source-name', sourceRef.name!,
        '--destination-url', destinationRef.url, '--destination-project', String(destinationRef.projectId), '--destination-token-ref', destinationRef.tokenRef, '--destination-name', destinationRef.name!,
      ];
      const [first, second] = [await runCli(args, env), await runCli(args, env)];
      // Whatever the assertions say, leave no running migration behind for the next test (same business key).
      const migrationId = `migrate-${sourceRef.name}-${sourceRef.projectId}-to-${destinationRef.name}`;
      try {
        await assertOneRun(first, second);
      } finally {
        await client.workflow.getHandle(migrationId).terminate('test cleanup').catch(() => undefined);
      }
    });

    async function assertOneRun(first: { code: number | null; stdout: string }, second: { code: number | null; stdout: string }) {
      expect(first.code).toBe(0);
      expect(second.code).toBe(0);
      const answer = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as { workflowId: string; runId?: string };
      const { workflowId, runId } = answer(first.stdout);
      expect(answer(second.stdout).workflowId).toBe(workflowId);
      if (runId) expect(answer(second.stdout).runId).toBe(runId); // the same run, not a second one

      const handle = client.workflow.getHandle(workflowId);
      await waitForStep(handle, 'awaiting-approval');
      const runs = await waitUntil('the execution in visibility', async () => {
        const found: string[] = [];
        for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) found.push(execution.runId);
        return found.length > 0 ? found : undefined;
      }, 30_000, 500);
      expect(runs).toHaveLength(1);
    }
  });

  test('creates that reach the stack after their activity was retried leave one orchestration, trigger and GoodData project each', async () => {
    const destination = h.stacks.destination.url;
    // Each first create lands 3 s after its client gave up; Temporal retries the activity after 1 s, which creates
    // again before it lands. The steps wait out the (shortened) late-write grace and remove the late copies.
    for (const pathPattern of ['^/_services/orchestrator/orchestrations$', '^/v2/storage/triggers$', '/gdc/projects$']) {
      await injectFault(destination, { kind: 'late-write', method: 'POST', pathPattern, latencyMs: 3000, forRequests: 1 });
    }
    process.env.STACK_MIGRATE_LATE_WRITE_GRACE_SECONDS = '6';
    try {
      await h.withWorker(async (taskQueue) => {
        const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false });
        const result = await handle.result();
        expect(result.outcome).toBe('completed');
        const comparison = await compareProjects(h.source, h.destination);
        expect(comparison.duplicates).toEqual([]);
        expect(comparison.mismatches).toEqual([]);
        expect(await h.destination.orchestrator.list()).toHaveLength((await h.source.orchestrator.list()).length);
        expect(await h.destination.gooddata.listProjects()).toHaveLength(1);
        const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as { lateCopiesRemoved: Array<{ entity: string }> };
        expect(report.lateCopiesRemoved.map((r) => r.entity.split(' ')[0]).sort()).toEqual(['GoodData', 'orchestration', 'trigger']);
      });
    } finally {
      delete process.env.STACK_MIGRATE_LATE_WRITE_GRACE_SECONDS;
    }
  });

  test('creates whose request is dropped or whose answer is lost are retried and leave exactly one copy of each entity', async () => {
    const destination = h.stacks.destination.url;
    // One create of each kind goes wrong once: a bucket create never reaches the stack; a table create, a data
    // import, a configuration create and a configuration row create are carried out but their answer is lost.
    // (One of each keeps the retries' backoff short; every activity retried must find what it created.)
    await injectFault(destination, { kind: 'drop', method: 'POST', pathPattern: '^/v2/storage/buckets$', forRequests: 1 });
    for (const pathPattern of ['/tables-(async|definition)$', '/import-async$', '/configs$', '/configs/[^/]+/rows$']) {
      await injectFault(destination, { kind: 'lose-response', method: 'POST', pathPattern, forRequests: 1 });
    }
    // Both bucket faults count the first (dropped) request: the second bucket create is the one whose answer is lost.
    await injectFault(destination, { kind: 'lose-response', method: 'POST', pathPattern: '^/v2/storage/buckets$', forRequests: 2 });
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false, options: { tableConcurrency: 1, configurationConcurrency: 1 } });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      const retried: string[] = [];
      for (const id of [handle.workflowId, `${handle.workflowId}-restore-tables-0`]) {
        for (const event of (await h.client.workflow.getHandle(id).fetchHistory()).events ?? []) {
          if ((event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retried.push(String(event.activityTaskStartedEventAttributes?.attempt));
        }
      }
      expect(retried.length).toBeGreaterThan(0); // the faults did make activities retry
      const comparison = await compareProjects(h.source, h.destination);
      expect(comparison.duplicates).toEqual([]);
      expect(comparison.mismatches).toEqual([]);
      expect((await handle.query(statusQuery)).step).toBe('completed');
      console.log(`lost creates: ${retried.length} activity retries; destination ${JSON.stringify(comparison.counts)}`);
    });
  }, 240_000);
});
