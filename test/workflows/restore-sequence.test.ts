// The workflows' step sequence with stubbed activities (the Temporal samples' style): a real Temporal server, no
// stacks. What each step answers drives the status, the counts and the failures, so these tests pin the restore
// order of workflows/restore-steps.ts and the bookkeeping of MigrationRun.record.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { migration, outcome, ref, TABLES, useStubbedWorkers, validation, verified } from '../helpers/stub-activities';
import { migrateProject, restoreProject, statusQuery } from '../../workflows';
import { summarizeVerification } from '../../workflows/types';

/** The parent's own activities in order (children's calls per group of tables are left out: they run concurrently). */
const PER_TABLE = new Set(['splitTableBatch', 'snapshotTableGroup', 'fingerprintTableGroup', 'restoreTableGroup']);
const parentCalls = (calls: string[]) => calls.filter((name) => !PER_TABLE.has(name));
/** The configurations' calls: made while the tables move, so they interleave with the tables' own. */
const CONFIGURATION_CALLS = ['countSnapshotConfigurations', 'restoreConfigurations', 'verifyConfigurations'];
const besideTables = (calls: string[]) => calls.filter((name) => CONFIGURATION_CALLS.includes(name));
const inOrder = (calls: string[]) => parentCalls(calls).filter((name) => !CONFIGURATION_CALLS.includes(name));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const stubbed = useStubbedWorkers('steps');
const run = stubbed.run;

describe('migrateProject with stubbed activities', () => {
  test('runs the restore steps in their order and shows every entity type in the status', async () => {
    const calls: string[] = [];
    const result = await run(calls, {}, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration({ manageTokenRef: 'env:MANAGE_TOKEN' })] }),
    );
    expect(inOrder(calls)).toEqual([
      'validateMigration',
      'snapshotProjectMetadata',
      'restoreBranchMetadata',
      'restoreBuckets',
      'snapshotOrchestrations',
      'finalizeSnapshot',
      'restoreAliases',
      'restoreOrchestrations',
      'rewriteOrchestrationReferences',
      'restoreTriggers',
      'restoreNotifications',
      'restorePermanentFiles',
      'provisionSnowflakeWriters',
      'moveGoodDataProjects',
      'migrateSecrets',
      'verifyCreatedEntities',
      'writeReport',
    ]);
    // after the buckets, beside the tables; verified before the aliases' step, and so before anything refers to them
    expect(besideTables(calls)).toEqual(CONFIGURATION_CALLS);
    expect(calls.indexOf('countSnapshotConfigurations')).toBeGreaterThan(calls.indexOf('restoreBuckets'));
    expect(calls.indexOf('verifyConfigurations')).toBeLessThan(calls.indexOf('restoreAliases'));
    expect(result.outcome).toBe('completed');
    const { progress } = result.status;
    expect(progress.buckets).toMatchObject({ total: 3, done: 2, skipped: 1 });
    expect(progress.tables).toMatchObject({ total: 3, done: 3 });
    expect(progress.tableData).toMatchObject({ total: 6, done: 6 });
    expect(progress.configurations).toMatchObject({ total: 2, done: 1, skipped: 1 });
    expect(progress.orchestrations).toMatchObject({ done: 1 });
    // the triggers' step got the new orchestration IDs: one trigger created, one skipped with its reason
    expect(progress.triggers).toMatchObject({ total: 2, done: 1, skipped: 1 });
    // the notifications' step too: its subscription on the orchestration could be brought over
    expect(progress.notifications).toMatchObject({ done: 1 });
    expect(progress.permanentFiles).toMatchObject({ done: 1, skipped: 1 });
    expect(progress.snowflakeWriters.done).toBe(1);
    expect(progress.gooddataProjects.done).toBe(1);
    expect(progress.secrets).toMatchObject({ done: 1, skipped: 1 });
    expect(result.status.idMap.map((e) => `${e.type}:${e.oldId}->${e.newId}`)).toEqual([
      'orchestration:11->901',
      'GoodData project (keboola.gooddata-writer/g1):old-pid->new-pid',
    ]);
    expect(result.status.failures).toEqual([
      { entity: 'bucket in.c-shared', message: 'skipped: linked bucket: link it again' },
      { entity: 'configuration kds-team.app-gone/2', message: 'skipped: the component does not exist on the destination stack' },
      { entity: 'trigger 7', message: 'skipped: its table in.c-x.gone is not in the destination' },
      { entity: 'permanent file big.bin', message: 'skipped: the snapshot holds no content for it' },
      { entity: 'secrets of keboola.ex-db-mysql/m2', message: 'not re-encrypted: cannot be decrypted' },
    ]);
    expect(result.counts).toMatchObject({ buckets: 2, tables: 3, aliases: 1, configurations: 1, orchestrations: 1, triggers: 1 });
  });

  test('without a Manage token no secrets are re-encrypted', async () => {
    const calls: string[] = [];
    await run(calls, {}, (taskQueue) => stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] }));
    expect(calls).not.toContain('migrateSecrets');
    expect(calls).toContain('moveGoodDataProjects');
  });

  test('a validation blocker stops before anything is written', async () => {
    const calls: string[] = [];
    const failure = await run(calls, { validateMigration: async () => validation(1) }, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] }).catch((e: unknown) => e),
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'ValidationBlocked', message: expect.stringContaining('[DESTINATION_NOT_EMPTY] bucket 0: not empty') });
    expect(calls).toEqual(['validateMigration']);
  });

  test('configurations that differ stop the run before anything refers to them', async () => {
    const calls: string[] = [];
    const failure = await run(calls, { verifyConfigurations: async () => ({ checked: 1, mismatches: [{ configuration: 'keboola.ex-http/1', difference: 'state', repairable: false }] }) }, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] }).catch((e: unknown) => e),
    );
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'VerificationFailed', message: expect.stringContaining('keboola.ex-http/1 (state)') });
    expect(calls).not.toContain('restoreOrchestrations');
    expect(calls).not.toContain('writeReport');
  });

  test('configurations with something missing are restored again, and verified again, before anything refers to them', async () => {
    const calls: string[] = [];
    const lostRow = { configuration: 'keboola.ex-http/1', difference: '1 row(s) missing: r1', repairable: true };
    let verified = 0;
    const result = await run(calls, { verifyConfigurations: async () => ({ checked: 1, mismatches: verified++ === 0 ? [lostRow] : [] }) }, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] }),
    );
    expect(result.outcome).toBe('completed');
    const configurationCalls = calls.filter((name) => [...CONFIGURATION_CALLS, 'repairConfigurations', 'restoreOrchestrations'].includes(name));
    expect(configurationCalls).toEqual([...CONFIGURATION_CALLS, 'repairConfigurations', 'verifyConfigurations', 'restoreOrchestrations']);
  });

  test('configurations that stay incomplete after the bounded repairs stop the run', async () => {
    const calls: string[] = [];
    const lostRow = { configuration: 'keboola.ex-http/1', difference: '1 row(s) missing: r1', repairable: true };
    const failure = await run(calls, { verifyConfigurations: async () => ({ checked: 1, mismatches: [lostRow] }) }, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] }).catch((e: unknown) => e),
    );
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'VerificationFailed', message: expect.stringContaining('keboola.ex-http/1 (1 row(s) missing: r1)') });
    expect(calls.filter((name) => name === 'repairConfigurations')).toHaveLength(2);
    expect(calls).not.toContain('restoreOrchestrations');
  });

  test('small tables move together, a large one alone; a table that stays different after its repairs stops the run by name', async () => {
    const calls: string[] = [];
    const groups: Array<{ tableIds: string[]; lanes: number }> = [];
    const fingerprint = { rows: 10, checksum: 'm3:00' };
    const failure = await run(
      calls,
      {
        restoreTableGroup: async ({ tableIds, lanes }) => {
          groups.push({ tableIds, lanes });
          const verifications = tableIds.map((tableId) => ({ tableId, expected: fingerprint, actual: tableId === 'in.c-b.three' ? { rows: 9, checksum: 'm3:11' } : fingerprint, ok: tableId !== 'in.c-b.three' }));
          return summarizeVerification(verifications);
        },
      },
      (taskQueue) =>
        stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration({ options: { tableConcurrency: 3 } })] }).catch((e: unknown) => e),
    );
    // the small tables (the stubs' first two) in one activity with every lane, then the large one alone
    expect(groups).toEqual([
      { tableIds: ['in.c-a.one', 'in.c-a.two'], lanes: 3 },
      { tableIds: ['in.c-b.three'], lanes: 1 },
    ]);
    expect(calls.filter((c) => c === 'snapshotTableGroup')).toHaveLength(2);
    expect((failure as WorkflowFailedError).cause).toMatchObject({ type: 'VerificationFailed', message: expect.stringContaining('1 table(s) whose data differs from the source: in.c-b.three') });
  });

  test('a failed step shows its root cause in the status, not "Activity task failed"', async () => {
    const calls: string[] = [];
    const notFound = ApplicationFailure.create({ message: 'POST buckets/in.c-b/table-aliases: 404 storage.buckets.notFound', type: 'NotFound', nonRetryable: true });
    await run(calls, { restoreAliases: async () => Promise.reject(notFound) }, async (taskQueue) => {
      const handle = await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] });
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const status = await handle.query(statusQuery);
      expect(status.step).toBe('failed');
      expect(status.failures).toContainEqual({ entity: 'migration', message: 'restoreAliases: POST buckets/in.c-b/table-aliases: 404 storage.buckets.notFound [NotFound]' });
    });
  });

  test('a cancellation during the configurations lets the batches in flight finish, starts no other, and cleans up after them', async () => {
    const calls: string[] = [];
    const events: string[] = [];
    const overrides: Parameters<typeof run>[1] = {
      countSnapshotConfigurations: async () => 200, // 4 batches of 50, 2 at a time
      restoreConfigurations: async ({ batchNumber }) => {
        events.push(`start ${batchNumber}`);
        await sleep(batchNumber === 0 ? 1_000 : 3_000); // batch 0's lane is free while batch 1 still writes
        events.push(`end ${batchNumber}`);
        return outcome([`keboola.ex-http/${batchNumber}`]);
      },
      cleanupDestination: async () => {
        events.push('cleanup');
        return { deletedBuckets: [], deletedConfigurations: [], destinationEmpty: true, remaining: [] };
      },
    };
    await run(calls, overrides, async (taskQueue) => {
      const handle = await stubbed.temporal.client.workflow.start(migrateProject, {
        taskQueue,
        workflowId: `steps-${randomUUID()}`,
        args: [migration({ options: { cleanupOnCancel: true, configurationConcurrency: 2 } })],
      });
      for (let i = 0; i < 200 && !events.includes('start 1'); i++) await sleep(25);
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      expect((await handle.query(statusQuery)).step).toBe('cancelled');
    });
    expect(events.slice(0, 2).sort()).toEqual(['start 0', 'start 1']); // dispatched together, in either order
    expect(events.slice(2)).toEqual(['end 0', 'end 1', 'cleanup']);
  });

  test('configurations are restored while the tables move', async () => {
    const calls: string[] = [];
    // three batches of tables (one table at a time), each restore taking a while
    const result = await run(calls, { restoreTableGroup: async ({ tableIds }) => (await sleep(300), verified(tableIds)) }, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration({ options: { tableConcurrency: 1 } })] }),
    );
    expect(result.outcome).toBe('completed');
    expect(calls.filter((name) => name === 'restoreTableGroup')).toHaveLength(6); // 3 batches × the stubs' 2 groups
    expect(calls.indexOf('verifyConfigurations')).toBeLessThan(calls.lastIndexOf('restoreTableGroup'));
  });

  test('a failure of the configurations stops the tables at their next batch, and is answered once the batch in flight has ended', async () => {
    const calls: string[] = [];
    const events: string[] = [];
    const overrides: Parameters<typeof run>[1] = {
      restoreTableGroup: async ({ tableIds }) => {
        events.push('tables start');
        await sleep(1_000);
        events.push('tables end');
        return verified(tableIds);
      },
      restoreConfigurations: async () => {
        for (let i = 0; i < 200 && !events.includes('tables start'); i++) await sleep(25);
        events.push('configurations fail');
        throw ApplicationFailure.create({ message: 'POST components/keboola.ex-http/configs: 400 invalid configuration', type: 'BadRequest', nonRetryable: true });
      },
    };
    await run(calls, overrides, async (taskQueue) => {
      const handle = await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration({ options: { tableConcurrency: 1 } })] });
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      events.push('workflow failed');
      const status = await handle.query(statusQuery);
      expect(status.failures).toContainEqual({ entity: 'migration', message: 'restoreConfigurations: POST components/keboola.ex-http/configs: 400 invalid configuration [BadRequest]' });
    });
    // batch 0's two groups end before the run fails; batch 1, already being taken into the snapshot when the
    // configurations failed, is not restored; batch 2 is not even taken; nothing after the failed step runs
    expect(events.filter((e) => e !== 'tables start')).toEqual(['configurations fail', 'tables end', 'tables end', 'workflow failed']);
    expect(calls.filter((name) => name === 'restoreTableGroup')).toHaveLength(2);
    expect(calls.filter((name) => name === 'snapshotTableGroup')).toHaveLength(4);
    expect(calls).not.toContain('verifyConfigurations');
    expect(calls).not.toContain('restoreAliases');
  });

  test('the status query shows a step in flight', async () => {
    const calls: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await run(calls, { restoreAliases: async () => (await held, outcome(['in.c-b.alias'])) }, async (taskQueue) => {
      const handle = await stubbed.temporal.client.workflow.start(migrateProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [migration()] });
      for (let i = 0; i < 100 && !calls.includes('restoreAliases'); i++) await new Promise((r) => setTimeout(r, 100));
      const status = await handle.query(statusQuery);
      expect(status.step).toBe('restoring');
      expect(status.progress.buckets).toMatchObject({ done: 2, skipped: 1 });
      expect(status.progress.tables.done).toBe(3);
      expect(status.progress.aliases.done).toBe(0);
      release();
      await handle.result();
    });
  });
});

describe('restoreProject with stubbed activities', () => {
  test('fingerprints the backup, restores in the same order, and moves no writer (there is no source stack)', async () => {
    const calls: string[] = [];
    const result = await run(calls, {}, (taskQueue) =>
      stubbed.temporal.client.workflow.execute(restoreProject, { taskQueue, workflowId: `steps-${randomUUID()}`, args: [{ destination: ref('eu'), snapshotDir: '/snap', requireApproval: false }] }),
    );
    expect(inOrder(calls)).toEqual([
      'inspectSnapshot',
      'validateRestore',
      'restoreBranchMetadata',
      'restoreBuckets',
      'restoreAliases',
      'restoreOrchestrations',
      'rewriteOrchestrationReferences',
      'restoreTriggers',
      'restoreNotifications',
      'restorePermanentFiles',
      'verifyCreatedEntities',
      'writeReport',
    ]);
    expect(besideTables(calls)).toEqual(CONFIGURATION_CALLS);
    expect(calls.indexOf('verifyConfigurations')).toBeLessThan(calls.indexOf('restoreAliases'));
    expect(calls.filter((c) => c === 'fingerprintTableGroup')).toHaveLength(2); // the stubs' two groups
    expect(result.status.progress.tables.done).toBe(TABLES.length);
    expect(result.status.progress.snowflakeWriters.done).toBe(0);
  });
});
