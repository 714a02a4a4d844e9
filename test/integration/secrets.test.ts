// No stack token ever reaches Temporal: the workflow carries token references, payloads are encrypted at rest,
// and neither the history nor the worker's logs contain a token.
import { startMigration } from '../../client/commands/start';
import { decideMigration } from '../../client/commands/decide';
import { useHarness, workerLogLines } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';

const h = useHarness();

test('the history of a finished migration and the worker logs hold no token, and payloads are ciphertext', async () => {
  await h.withWorker(async (taskQueue) => {
    const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef });
    await waitForStep(handle, 'awaiting-approval');
    await decideMigration(h.client, handle.workflowId, 'approve', { by: 'auditor' });
    expect((await handle.result()).outcome).toBe('completed');

    // The server's view: the raw history, as stored, read without the codec.
    const raw = JSON.stringify(await h.temporal.client.workflow.getHandle(handle.workflowId).fetchHistory());
    const secrets = [h.stacks.tokens.source, h.stacks.tokens.destination];
    for (const secret of secrets) expect(raw).not.toContain(secret);
    expect(raw).toContain('YmluYXJ5L2VuY3J5cHRlZA'); // base64 of the "binary/encrypted" encoding
    expect(raw).not.toContain(Buffer.from('in.c-crm').toString('base64').slice(0, 10)); // no readable table ID
    expect(raw).not.toContain('in.c-crm');

    // The operator's view: decoded with the codec, the history shows references, never the tokens.
    const history = await h.client.workflow.getHandle(handle.workflowId).fetchHistory();
    const payloads = (history.events ?? []).flatMap((event) => [
      ...(event.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
      ...(event.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
      ...(event.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
    ]);
    const decoded = await h.dataConverter.payloadCodecs![0].decode(payloads);
    const text = decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8')).join('\n');
    expect(text).toContain('env:STACK_MIGRATE_SOURCE_TOKEN');
    for (const secret of secrets) expect(text).not.toContain(secret);

    expect(workerLogLines.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(workerLogLines.join('\n')).not.toContain(secret);
  });
});
