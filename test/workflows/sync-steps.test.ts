// A migration kept in sync with stubbed activities on a real Temporal server: the steps of a pass (only those its
// changes need), continueAsNew after each operation, a pass every N hours, a failed pass that blocks the cutover,
// and a cutover that fails after switching the source off (switched back on).
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { MigrationActivities } from '../../activities';
import { cutoverUpdate, migrateProject, statusQuery, syncUpdate } from '../../workflows';
import { NO_CHANGES, summarizeVerification, type MigrationStatus, type SwitchedSchedules } from '../../workflows/types';
import { migration, useStubbedWorkers } from '../helpers/stub-activities';

const stubbed = useStubbedWorkers('sync');
const run = stubbed.run;

const SWITCHED: SwitchedSchedules = { schedules: ['nightly'], orchestrations: ['11'], configurations: ['keboola.scheduler/nightly'] };

/** The sync activities, answering a pass that found a changed table, a removed one and an edited configuration. */
function syncStubs(switches: Array<{ stack: string; on: boolean }>, overrides: Partial<MigrationActivities> = {}): Partial<MigrationActivities> {
  return {
    planSyncPass: async () => ({
      changes: { ...NO_CHANGES, tablesChanged: 1, tablesRemoved: 1, configurationsChanged: 1, notificationsChanged: 1 },
      tablesToCopy: 1,
      copy: { orchestrations: false, triggers: false, notifications: true },
      removes: true,
      removedOrchestrations: [],
    }),
    removeFromDestination: async () => ({ removed: ['table in.c-a.gone'] }),
    splitSyncTableBatch: async () => ({ grouped: [{ id: 'in.c-a.one', change: 'data' as const }], alone: [] }),
    syncTableGroup: async ({ tables }) => {
      const fingerprint = { rows: 10, checksum: 'm3:00' };
      return { verification: summarizeVerification(tables.map((t) => ({ tableId: t.id, expected: fingerprint, actual: fingerprint, ok: true }))), bytes: 30 };
    },
    countSyncConfigurations: async () => 1,
    syncConfigurations: async () => ({ added: 0, updated: 1, skipped: [], secrets: [] }),
    measureSyncLag: async () => ({ checkedAt: '', changes: NO_CHANGES, total: 0 }),
    activeSchedulesOf: async () => SWITCHED,
    switchSchedules: async ({ stack, switched, on }) => {
      switches.push({ stack: stack.name!, on });
      return switched;
    },
    ...overrides,
  };
}

async function statusWhen(client: Client, workflowId: string, ready: (s: MigrationStatus) => boolean): Promise<MigrationStatus> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await client.workflow.getHandle(workflowId).query(statusQuery).catch(() => undefined);
    if (status && ready(status)) return status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${workflowId} did not reach the awaited status`);
}

const PER_TABLE = new Set(['splitTableBatch', 'snapshotTableGroup', 'restoreTableGroup', 'splitSyncTableBatch', 'syncTableGroup']);

describe('migrateProject kept in sync, with stubbed activities', () => {
  test('sync, cutover and rollback are refused with a reason before the first copy is verified', async () => {
    await run([], syncStubs([]), async (taskQueue) => {
      const workflowId = `sync-${randomUUID()}`;
      await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [migration({ keepInSync: true, requireApproval: true })] });
      await statusWhen(stubbed.temporal.client, workflowId, (s) => s.step === 'awaiting-approval');
      const handle = stubbed.temporal.client.workflow.getHandle(workflowId);
      const refused = await handle.executeUpdate(syncUpdate, { args: [{ by: 'ops' }] }).catch((e: WorkflowUpdateFailedError) => e);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toBe('cannot run a sync pass: the migration is awaiting-approval; sync passes begin once its first copy is verified');
      await handle.terminate('test over');
    });
  }, 120_000);

  test("a pass runs only the steps its changes need, in order, and the migration continues as new after it", async () => {
    const calls: string[] = [];
    await run(calls, syncStubs([]), async (taskQueue) => {
      const workflowId = `sync-${randomUUID()}`;
      const handle = await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [migration({ keepInSync: true })] });
      await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.phase === 'in-sync');
      calls.length = 0;
      const pass = await stubbed.temporal.client.workflow.getHandle(workflowId).executeUpdate(syncUpdate, { args: [{ by: 'ops' }] });
      expect(pass).toMatchObject({ pass: 1, by: 'ops', verification: { tables: 1, ok: 1 } });
      expect(calls.filter((c) => !PER_TABLE.has(c))).toEqual([
        'snapshotProjectMetadata',
        'snapshotOrchestrations',
        'planSyncPass',
        'removeFromDestination', // a table was removed
        // no restoreBuckets (no new bucket), no restoreAliases (no alias added, no table retyped)
        'countSyncConfigurations',
        'syncConfigurations',
        'rewriteOrchestrationReferences', // the first copy mapped a legacy orchestration
        'verifyConfigurations',
        // no restoreOrchestrations, no restoreTriggers: none changed
        'restoreNotifications',
      ]);
      expect(calls.filter((c) => PER_TABLE.has(c))).toEqual(['splitSyncTableBatch', 'syncTableGroup']);
      const after = await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.passes === 1 && !s.sync.running);
      expect(after.idMap).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'orchestration', oldId: '11', newId: '901' })]));
      const description = await stubbed.temporal.client.workflow.getHandle(workflowId).describe();
      expect(description.runId).not.toBe(handle.firstExecutionRunId); // continued as new
      await stubbed.temporal.client.workflow.getHandle(workflowId).terminate('test over');
    });
  }, 120_000);

  test('a pass runs every syncEveryHours without being asked', async () => {
    const calls: string[] = [];
    await run(calls, syncStubs([]), async (taskQueue) => {
      const workflowId = `sync-${randomUUID()}`;
      await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [migration({ keepInSync: true, syncEveryHours: 0.0005 })] }); // 1.8 s
      const status = await statusWhen(stubbed.temporal.client, workflowId, (s) => (s.sync?.passes ?? 0) >= 2);
      expect(status.sync?.recentPasses.map((p) => p.by).slice(0, 2)).toEqual(['schedule', 'schedule']);
      await stubbed.temporal.client.workflow.getHandle(workflowId).terminate('test over');
    });
  }, 120_000);

  test('a failed pass is recorded, moves nothing on, and the cutover is refused until a pass succeeds', async () => {
    const calls: string[] = [];
    let fail = true;
    const stubs = syncStubs([], {
      syncConfigurations: async () => {
        if (fail) throw ApplicationFailure.nonRetryable('POST configs: 400 the body is refused', 'BadRequest');
        return { added: 0, updated: 1, skipped: [], secrets: [] };
      },
    });
    await run(calls, stubs, async (taskQueue) => {
      const workflowId = `sync-${randomUUID()}`;
      await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [migration({ keepInSync: true })] });
      const before = await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.phase === 'in-sync');
      const handle = stubbed.temporal.client.workflow.getHandle(workflowId);
      const failed = await handle.executeUpdate(syncUpdate, { args: [{ by: 'ops' }] }).catch((e: WorkflowUpdateFailedError) => e);
      expect(failed).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((failed as WorkflowUpdateFailedError).cause?.message).toContain('sync pass 1 failed: syncConfigurations: POST configs: 400 the body is refused');
      const status = await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.lastPassFailure !== undefined && !s.sync.running);
      expect(status.sync).toMatchObject({ passes: 0, lastSnapshotDir: before.sync!.lastSnapshotDir });
      expect(status.sync?.notReady.join(' ')).toContain('sync pass 1 failed');
      const refused = await handle.executeUpdate(cutoverUpdate, { args: [{ by: 'bob' }] }).catch((e: WorkflowUpdateFailedError) => e);
      expect((refused as WorkflowUpdateFailedError).cause?.message).toContain('not ready to cut over');
      fail = false;
      expect((await handle.executeUpdate(syncUpdate, { args: [{ by: 'ops' }] })).pass).toBe(1);
      expect((await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.passes === 1)).sync?.notReady).toEqual([]);
      await handle.terminate('test over');
    });
  }, 120_000);

  test('a cutover that fails after switching the source off switches it back on and returns to in-sync', async () => {
    const calls: string[] = [];
    const switches: Array<{ stack: string; on: boolean }> = [];
    const stubs = syncStubs(switches, {
      switchSchedules: async ({ stack, switched, on }) => {
        switches.push({ stack: stack.name!, on });
        if (stack.name === 'eu' && on) throw ApplicationFailure.nonRetryable('POST /schedules: 400 the configuration is invalid', 'BadRequest');
        return switched;
      },
    });
    await run(calls, stubs, async (taskQueue) => {
      const workflowId = `sync-${randomUUID()}`;
      await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [migration({ keepInSync: true })] });
      await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.phase === 'in-sync');
      const handle = stubbed.temporal.client.workflow.getHandle(workflowId);
      const failed = await handle.executeUpdate(cutoverUpdate, { args: [{ by: 'bob' }] }).catch((e: WorkflowUpdateFailedError) => e);
      expect((failed as WorkflowUpdateFailedError).cause?.message).toContain('the cutover failed: switchSchedules: POST /schedules: 400 the configuration is invalid');
      expect((failed as WorkflowUpdateFailedError).cause?.message).toContain('the source was switched back on');
      expect(switches).toEqual([
        { stack: 'us', on: false },
        { stack: 'eu', on: true }, // fails half-way
        { stack: 'eu', on: false }, // so what it may have switched on goes off
        { stack: 'us', on: true },
      ]);
      const status = await statusWhen(stubbed.temporal.client, workflowId, (s) => s.sync?.phase === 'in-sync' && !s.sync.running);
      expect(status.sync?.cutover?.failed).toContain('the source was switched back on');
      expect(status.sync?.passes).toBe(1); // the final pass itself succeeded
      await handle.terminate('test over');
    });
  }, 120_000);
});
