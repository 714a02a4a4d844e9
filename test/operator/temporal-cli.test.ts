// The README's Temporal CLI examples, run with the real `temporal` binary against the test server: a migration
// started with `temporal workflow start` and plain JSON input (the worker's codec passes unencrypted payloads
// through), found by `temporal workflow list --query "MigrationStep='awaiting-approval'"`, approved with
// `temporal workflow signal --name approve`, and its status read with `temporal workflow query` through the
// codec server.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { createCodecServer } from '../../worker/codec-server';
import { AesGcmPayloadCodec } from '../../temporal/payload-codec';
import { useHarness } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';
import { eventually, withOperator } from './helpers';

const run = promisify(execFile);
const h = useHarness({ jobDelayMs: 10 });

describe('Temporal CLI', () => {
  test('start with --input, list by MigrationStep, signal approve, query status through the codec server', async () => {
    const temporal = await resolveTemporalCli({ build: false });
    await withOperator(h, async (op) => {
      const connection = ['--address', h.temporal.address, '--namespace', h.temporal.namespace];
      const workflowId = `migrate-us-${h.stacks.sourceRef.projectId}-to-eu`;
      const input = { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requestedBy: 'cli-user' };
      await run(temporal, [
        'workflow', 'start', ...connection,
        '--type', 'migrateProject',
        '--task-queue', op.taskQueue,
        '--workflow-id', workflowId,
        '--input', JSON.stringify(input),
      ]);
      const handle = op.client.workflow.getHandle(workflowId);
      await waitForStep(handle, 'awaiting-approval');

      // The workflow keeps its search attributes current, so plain visibility queries find it.
      const listed = await eventually('the migration in `temporal workflow list`', async () => {
        const { stdout } = await run(temporal, ['workflow', 'list', ...connection, '--query', "MigrationStep='awaiting-approval'", '--output', 'json']);
        const rows = stdout.trim() ? (JSON.parse(stdout) as Array<{ execution: { workflowId: string } }>) : [];
        return rows.find((r) => r.execution.workflowId === workflowId);
      });
      expect(listed).toBeDefined();
      const bySource = await eventually('the migration by SourceStack and SourceProjectId', async () => {
        const query = `SourceStack='us' AND DestinationStack='eu' AND SourceProjectId='${h.stacks.sourceRef.projectId}' AND ExecutionStatus='Running'`;
        const { stdout } = await run(temporal, ['workflow', 'list', ...connection, '--query', query, '--output', 'json']);
        return stdout.includes(workflowId) ? stdout : undefined;
      });
      expect(bySource).toContain(workflowId);

      // Query results are encrypted: the CLI reads them through the codec server, like the Web UI.
      const codecServer = createCodecServer(new AesGcmPayloadCodec(Buffer.from(op.codecKey, 'base64')));
      await new Promise<void>((resolve) => codecServer.listen(0, '127.0.0.1', resolve));
      try {
        const codec = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;
        const { stdout } = await run(temporal, ['workflow', 'query', ...connection, '--workflow-id', workflowId, '--name', 'status', '--codec-endpoint', codec, '--output', 'json']);
        expect(stdout).toContain('"step": "awaiting-approval"');
        const { stdout: raw } = await run(temporal, ['workflow', 'query', ...connection, '--workflow-id', workflowId, '--name', 'status', '--output', 'json']);
        expect(raw).not.toContain('awaiting-approval'); // without the codec server: ciphertext only
      } finally {
        codecServer.close();
      }

      await run(temporal, ['workflow', 'signal', ...connection, '--workflow-id', workflowId, '--name', 'approve', '--input', JSON.stringify({ by: 'cli-operator', comment: 'via temporal CLI' })]);
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(result.status.approval).toMatchObject({ decision: 'approved', by: 'cli-operator', comment: 'via temporal CLI' });

      const done = await eventually('the completed migration by MigrationStep', async () => {
        const { stdout } = await run(temporal, ['workflow', 'list', ...connection, '--query', `MigrationStep='completed' AND WorkflowId='${workflowId}'`, '--output', 'json']);
        return stdout.includes(workflowId) ? stdout : undefined;
      });
      expect(done).toContain(workflowId);
    });
  });

  test('a start with invalid input fails at once with a readable error', async () => {
    const temporal = await resolveTemporalCli({ build: false });
    await withOperator(h, async (op) => {
      const connection = ['--address', h.temporal.address, '--namespace', h.temporal.namespace];
      const workflowId = `bad-input-${Date.now()}`;
      const input = { source: { ...h.stacks.sourceRef, tokenRef: 'the-token-itself' }, destination: h.stacks.destinationRef };
      await run(temporal, ['workflow', 'start', ...connection, '--type', 'migrateProject', '--task-queue', op.taskQueue, '--workflow-id', workflowId, '--input', JSON.stringify(input)]);
      await expect(op.client.workflow.getHandle(workflowId).result()).rejects.toMatchObject({
        cause: { message: expect.stringContaining('source.tokenRef: must be a token reference') },
      });
    });
  });
});
