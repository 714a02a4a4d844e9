// End to end on a real Temporal dev server between two emulated stacks.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { createStackClient, type StackClient } from '../../stack';
import { createMigrationWorker } from '../../worker/create-worker';
import { startMigration } from '../../client/commands/start';
import { approveSignal, rejectSignal, statusQuery } from '../../workflows';
import { startStackPair, type StackPair } from '../../scripts/stack-pair';
import { startTestTemporal, TEMPORAL_STARTUP_TIMEOUT_MS, type TestTemporal } from '../helpers/temporal';
import { readTableRows } from '../helpers/table-data';
import { waitForStep } from '../helpers/migration';

let temporal: TestTemporal;
let snapshotRoot: string;

beforeAll(async () => {
  temporal = await startTestTemporal();
  snapshotRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'snapshots-'));
}, TEMPORAL_STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await temporal?.teardown();
});

async function withWorker<T>(fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `it-${randomUUID()}`;
  const worker = await createMigrationWorker({ connection: temporal.nativeConnection, namespace: temporal.namespace, taskQueue, snapshotRoot });
  return worker.runUntil(fn(taskQueue));
}

describe('migrateProject', () => {
  let stacks: StackPair;
  let source: StackClient;
  let destination: StackClient;

  beforeEach(async () => {
    stacks = await startStackPair({ jobDelayMs: 10 });
    source = createStackClient({ url: stacks.source.url, token: stacks.tokens.source });
    destination = createStackClient({ url: stacks.destination.url, token: stacks.tokens.destination });
  });
  afterEach(async () => {
    await stacks.close();
  });

  test('waits for approval, then copies buckets, tables with columns, primary keys, metadata and data, and aliases', async () => {
    await withWorker(async (taskQueue) => {
      const handle = await startMigration(temporal.client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef });
      const waiting = await waitForStep(handle, 'awaiting-approval');
      expect(waiting.validation?.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
      expect(waiting.validation?.plan.tables).toBeGreaterThan(0);
      expect(await destination.listBuckets()).toEqual([]); // nothing is written before the approval

      // A second start of the same migration finds the running one.
      const again = await startMigration(temporal.client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef });
      expect(again.firstExecutionRunId).toBe(handle.firstExecutionRunId);

      await handle.signal(approveSignal, { by: 'operator@example.com', comment: 'go' });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(result.status.approval).toMatchObject({ decision: 'approved', by: 'operator@example.com' });

      const sourceBuckets = (await source.listBuckets()).filter((b) => !b.sourceBucket && !b.isLinkedBucket);
      const destinationBuckets = await destination.listBuckets();
      expect(destinationBuckets.map((b) => b.id).sort()).toEqual(sourceBuckets.map((b) => b.id).sort());

      const sourceTables = (await source.listTables()).filter((t) => destinationBuckets.some((b) => b.id === t.bucket?.id));
      const destinationTables = new Map((await destination.listTables()).map((t) => [t.id, t]));
      expect([...destinationTables.keys()].sort()).toEqual(sourceTables.map((t) => t.id).sort());
      for (const table of sourceTables) {
        const copy = destinationTables.get(table.id)!;
        expect({ id: copy.id, columns: copy.columns, primaryKey: copy.primaryKey, isAlias: copy.isAlias, displayName: copy.displayName }).toEqual({
          id: table.id,
          columns: table.columns,
          primaryKey: table.primaryKey,
          isAlias: table.isAlias,
          displayName: table.displayName,
        });
        if (table.isAlias) {
          expect(copy.sourceTable?.id).toBe(table.sourceTable?.id);
        } else {
          expect(copy.isTyped ?? false).toBe(table.isTyped ?? false);
          expect(copy.rowsCount).toBe(table.rowsCount);
        }
        expect(await readTableRows(destination, table.id)).toEqual(await readTableRows(source, table.id));
        const userMetadata = (entries: typeof table.metadata) => (entries ?? []).filter((m) => m.provider !== 'storage').map((m) => [m.provider, m.key, m.value]);
        expect(userMetadata(copy.metadata)).toEqual(userMetadata(table.metadata));
      }
      expect(result.verification.length).toBe(sourceTables.filter((t) => !t.isAlias).length);
      expect(result.verification.every((v) => v.ok)).toBe(true);
      expect(result.counts.tables).toBe(sourceTables.filter((t) => !t.isAlias).length);
    });
  });

  test('a rejected migration writes nothing', async () => {
    await withWorker(async (taskQueue) => {
      const handle = await startMigration(temporal.client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef });
      await waitForStep(handle, 'awaiting-approval');
      await handle.signal(rejectSignal, { by: 'support', comment: 'wrong destination' });
      const result = await handle.result();
      expect(result.outcome).toBe('rejected');
      expect(await handle.query(statusQuery)).toMatchObject({ step: 'rejected', approval: { decision: 'rejected', by: 'support' } });
      expect(await destination.listBuckets()).toEqual([]);
    });
  });

  test('a destination that is not empty blocks the migration with a readable report', async () => {
    await destination.createBucket({ name: 'leftover', stage: 'in' });
    await withWorker(async (taskQueue) => {
      const handle = await startMigration(temporal.client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef });
      const failure = await handle.result().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const cause = (failure as WorkflowFailedError).cause as Error & { type?: string };
      expect(cause.type).toBe('ValidationBlocked');
      expect(cause.message).toContain('[DESTINATION_NOT_EMPTY]');
      expect(cause.message).toContain('What to do');
      expect((await handle.query(statusQuery)).step).toBe('blocked');
    });
  });
});
