// A migration kept in sync on a real Temporal server (docs/sync.md): a changing source followed through several
// passes, every copied table verified; a cutover that switches the source's schedules off and the destination's
// on, with its downtime; a rollback that switches them back; and the refusals of each update's validator.
import { promises as fs } from 'node:fs';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { startMigration } from '../../client/commands/start';
import { cutoverMigration, measureLag, rollbackMigration, syncMigration } from '../../client/commands/sync';
import { statusQuery } from '../../workflows';
import type { MigrationStatus } from '../../workflows/types';
import type { StackClient } from '../../stack';
import { useHarness, type Harness } from '../helpers/harness';
import { compareProjects } from '../../scripts/durability-tools';

const h = useHarness({ jobDelayMs: 10 });

const ORDERS = 'in.c-crm.orders';
const CUSTOMERS = 'in.c-crm.customers';
const REVENUE = 'out.c-reports.revenue_by_city';
const EVENTS = 'in.c-events.clicks';
const SCHEDULE = 'nightly-schedule';
const LEGACY_ORCHESTRATION = '123450001';

/** Loads a CSV (with its header) into a table: a full load replaces the rows, an incremental one adds them. */
async function load(client: StackClient, tableId: string, csv: string, incremental: boolean): Promise<void> {
  const file = await client.files.upload(`${tableId}.csv`, Buffer.from(csv));
  await client.tables.import(tableId, { dataFileId: file.id, incremental });
}

async function createTable(client: StackClient, bucketId: string, name: string, csv: string): Promise<void> {
  const file = await client.files.upload(`${name}.csv`, Buffer.from(csv));
  await client.tables.createFromFile(bucketId, { name, dataFileId: file.id, primaryKey: [] });
}

/** A schedule of the Flow, activated through the Scheduler service: what a cutover switches. */
async function addActiveSchedule(client: StackClient): Promise<void> {
  await client.configurations.create('keboola.scheduler', {
    configurationId: SCHEDULE,
    name: 'Nightly',
    configuration: { schedule: { cronTab: '0 3 * * *', timezone: 'UTC', state: 'enabled' }, target: { componentId: 'keboola.orchestrator', configurationId: 'daily-flow', mode: 'run' } },
  });
  await client.scheduler.activate(SCHEDULE);
}

async function waitForPhase(harness: Harness, workflowId: string, phase: string, timeoutMs = 120_000): Promise<MigrationStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: MigrationStatus | undefined;
  while (Date.now() < deadline) {
    last = await harness.client.workflow.getHandle(workflowId).query(statusQuery).catch(() => undefined);
    if (last?.sync?.phase === phase && !last.sync.running) return last;
    if (last?.step === 'failed') throw new Error(`the migration failed: ${JSON.stringify(last.failures)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the migration did not reach phase ${phase} within ${timeoutMs} ms: ${JSON.stringify(last?.sync ?? last?.step)}`);
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => {
      throw new Error('expected the update to be refused');
    },
    (e: unknown) => e as WorkflowUpdateFailedError,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  return error.cause?.message ?? '';
}

/** Cancels a migration kept in sync and waits until it has ended (the next test reuses its workflow ID). */
async function cancelled(workflowId: string): Promise<void> {
  const handle = h.client.workflow.getHandle(workflowId);
  await handle.cancel();
  await expect(handle.result()).rejects.toThrow();
}

const activeSchedules = async (client: StackClient) => (await client.scheduler.list()).map((s) => s.configurationId);
const orchestrationActive = async (client: StackClient, id: string) => (await client.orchestrator.get(id))?.active;

describe('kept in sync', () => {
  test('follows a changing source through passes, cuts over with a measured downtime, and rolls back', async () => {
    await addActiveSchedule(h.source);
    await h.withWorker(async (taskQueue) => {
      const { workflowId } = await startMigration(h.client, taskQueue, {
        source: h.stacks.sourceRef,
        destination: h.stacks.destinationRef,
        requireApproval: false,
        requestedBy: 'alice',
        keepInSync: true,
        options: { fourEyes: true },
      });
      const inSync = await waitForPhase(h, workflowId, 'in-sync');
      expect(inSync.step).toBe('completed');
      expect(inSync.sync).toMatchObject({ passes: 0, notReady: [] });
      // The first copy leaves the destination's schedules off: only the cutover switches them on.
      expect(await activeSchedules(h.destination)).toEqual([]);

      // Changes in the source: rows appended, a table replaced, a column added, a configuration edited, one deleted,
      // a new bucket with a table.
      await load(h.source, ORDERS, 'id,customer_id,amount,status,created_at\n9001,1,10.5,paid,2026-12-01\n9002,2,99,new,2026-12-01\n', true);
      await h.source.tables.delete(REVENUE);
      await createTable(h.source, 'out.c-reports', 'revenue_by_city', 'city,revenue,orders_count\nPrague,1,1\nBrno,2,2\n');
      await h.source.tables.addColumn(CUSTOMERS, { name: 'segment' });
      const customers = await h.source.tables.get(CUSTOMERS);
      await load(h.source, CUSTOMERS, `${customers!.columns.join(',')}\n1,Ann,ann@example.com,Prague,,2026-12-01,vip\n`, false);
      await h.source.configurations.update('keboola.ex-google-drive', 'gdrive-budget', { description: 'edited after the first copy' });
      await h.source.configurations.delete('keboola.app-tree', 'tree-categories');
      await h.source.buckets.create({ name: 'events', stage: 'in' });
      await createTable(h.source, 'in.c-events', 'clicks', 'id,url\n1,/a\n2,/b\n3,/c\n');
      // ... a legacy orchestration renamed, the trigger removed, a notification subscription added.
      await h.source.orchestrator.update(LEGACY_ORCHESTRATION, { name: 'CRM extraction (renamed)' });
      for (const trigger of await h.source.triggers.list()) await h.source.triggers.delete(trigger.id);
      await h.source.notifications.create({ event: 'job-failed', filters: [{ field: 'job.component.id', value: 'keboola.ex-db-mysql', operator: '==' }], recipient: { channel: 'email', address: 'oncall@acme.example' } });
      const destinationTriggers = (await h.destination.triggers.list()).length;
      expect(destinationTriggers).toBeGreaterThan(0);

      const behind = await measureLag(h.client, workflowId);
      expect(behind.changes).toMatchObject({ bucketsAdded: 1, tablesAdded: 1, configurationsChanged: 1, configurationsRemoved: 1 });
      expect(behind.changes.tablesChanged + behind.changes.tablesAltered).toBe(3);

      const first = await syncMigration(h.client, taskQueue, workflowId, { by: 'alice' });
      expect(first).toMatchObject({ pass: 1, by: 'alice' });
      expect(first.changes).toMatchObject({ bucketsAdded: 1, tablesAdded: 1, tablesAltered: 1, configurationsChanged: 1, configurationsRemoved: 1, configurationsAdded: 0 });
      expect(first.changes.tablesChanged + first.changes.tablesAltered).toBe(3); // orders (data), revenue (replaced), customers (column)
      expect(first.verification).toMatchObject({ tables: 4, ok: 4, mismatches: [] });
      expect(first.bytes).toBeGreaterThan(0);
      expect(first.changes).toMatchObject({ orchestrationsChanged: 1, triggersChanged: destinationTriggers, notificationsChanged: 1, needsAPerson: [] });
      const renamed = inSync.idMap.find((e) => e.type === 'orchestration' && e.oldId === LEGACY_ORCHESTRATION)!.newId;
      expect((await h.destination.orchestrator.get(renamed))?.name).toBe('CRM extraction (renamed)');
      expect(await h.destination.triggers.list()).toEqual([]);
      expect((await h.destination.notifications.list()).filter((n) => n.recipient.channel === 'email' && n.recipient.address === 'oncall@acme.example')).toHaveLength(1);

      expect((await h.destination.tables.get(ORDERS))?.rowsCount).toBe((await h.source.tables.get(ORDERS))?.rowsCount);
      expect((await h.destination.tables.get(CUSTOMERS))?.columns).toContain('segment');
      expect((await h.destination.tables.get(REVENUE))?.rowsCount).toBe(2);
      expect((await h.destination.tables.get(EVENTS))?.rowsCount).toBe(3);
      expect((await h.destination.configurations.get('keboola.ex-google-drive', 'gdrive-budget'))?.description).toBe('edited after the first copy');
      expect(await h.destination.configurations.get('keboola.app-tree', 'tree-categories')).toBeNull();
      const compared = await compareProjects(h.source, h.destination);
      expect(compared.duplicates).toEqual([]);
      expect(compared.mismatches).toEqual([]);

      // A second pass: only what changed since the first.
      await load(h.source, EVENTS, 'id,url\n4,/d\n', true);
      const second = await syncMigration(h.client, taskQueue, workflowId, { by: 'alice' });
      expect(second.pass).toBe(2);
      expect(second.changes).toMatchObject({ tablesChanged: 1, tablesAdded: 0, tablesAltered: 0, configurationsChanged: 0, bucketsAdded: 0 });
      expect(second.verification).toMatchObject({ tables: 1, ok: 1 });
      expect((await h.destination.tables.get(EVENTS))?.rowsCount).toBe(4);

      const status = await h.client.workflow.getHandle(workflowId).query(statusQuery);
      expect(status.sync).toMatchObject({ phase: 'in-sync', passes: 2, notReady: [] });
      expect(status.sync?.recentPasses.map((p) => p.pass)).toEqual([1, 2]);
      expect(status.progress.tables.done).toBe(inSync.progress.tables.done); // the first copy's counts survive continueAsNew

      // The cutover: the starter cannot approve it (four eyes); rollback needs a cutover first.
      expect(await refusal(cutoverMigration(h.client, workflowId, { by: 'Alice' }))).toContain('four-eyes rule');
      expect(await refusal(rollbackMigration(h.client, workflowId, { by: 'bob' }))).toContain('is in-sync');
      expect(await orchestrationActive(h.source, LEGACY_ORCHESTRATION)).toBe(true);
      const newOrchestration = status.idMap.find((e) => e.type === 'orchestration' && e.oldId === LEGACY_ORCHESTRATION)!.newId;
      expect(await orchestrationActive(h.destination, newOrchestration)).toBe(false);

      const runningInSource = (await h.source.orchestrator.list()).filter((o) => o.active).map((o) => String(o.id)).sort();
      expect(runningInSource).toContain(LEGACY_ORCHESTRATION);
      const newIdOf = (id: string) => status.idMap.find((e) => e.type === 'orchestration' && e.oldId === id)!.newId;
      await load(h.source, EVENTS, 'id,url\n5,/e\n', true); // a last change, copied by the final pass
      const cutover = await cutoverMigration(h.client, workflowId, { by: 'bob', comment: 'planned window' });
      expect(cutover.sourceSwitchedOff).toEqual({ schedules: [SCHEDULE], orchestrations: runningInSource, configurations: [] });
      expect(cutover.destinationSwitchedOn?.schedules).toEqual([SCHEDULE]);
      expect(cutover.destinationSwitchedOn?.orchestrations).toEqual(runningInSource.map(newIdOf));
      expect(cutover.destinationSwitchedOn?.configurations).toEqual(expect.arrayContaining(['keboola.orchestrator/daily-flow', `keboola.scheduler/${SCHEDULE}`]));
      expect(cutover.finalPass).toBe(3);
      expect(cutover.downtimeSeconds).toBeGreaterThanOrEqual(0);
      expect(Date.parse(cutover.destinationSwitchedOnAt!)).toBeGreaterThanOrEqual(Date.parse(cutover.sourceSwitchedOffAt!));
      expect((await h.destination.tables.get(EVENTS))?.rowsCount).toBe(5);
      expect(await activeSchedules(h.source)).toEqual([]);
      expect(await activeSchedules(h.destination)).toEqual([SCHEDULE]);
      expect(await orchestrationActive(h.source, LEGACY_ORCHESTRATION)).toBe(false);
      expect(await orchestrationActive(h.destination, newOrchestration)).toBe(true);
      expect((await h.destination.configurations.get('keboola.orchestrator', 'daily-flow'))?.isDisabled).toBe(false);
      const cutOver = await waitForPhase(h, workflowId, 'cut-over');
      expect(cutOver.sync?.cutover?.downtimeSeconds).toBe(cutover.downtimeSeconds);
      const report = await fs.readFile(cutOver.report!.markdown, 'utf8'); // rewritten with the passes and the cutover
      expect(report).toContain('## Kept in sync');
      expect(report).toContain(`- downtime: ${cutover.downtimeSeconds} s`);
      expect(report).toMatch(/\| 3 \| cutover \|/);
      expect(await refusal(syncMigration(h.client, taskQueue, workflowId, { by: 'alice' }))).toContain('is cut-over');

      const rolledBack = await rollbackMigration(h.client, workflowId, { by: 'bob', comment: 'the destination misbehaves' });
      expect(rolledBack.rollback).toMatchObject({ by: 'bob' });
      expect(await activeSchedules(h.source)).toEqual([SCHEDULE]);
      expect(await activeSchedules(h.destination)).toEqual([]);
      expect(await orchestrationActive(h.source, LEGACY_ORCHESTRATION)).toBe(true);
      expect(await orchestrationActive(h.destination, newOrchestration)).toBe(false);
      expect((await h.destination.configurations.get('keboola.orchestrator', 'daily-flow'))?.isDisabled).toBe(true);
      await waitForPhase(h, workflowId, 'in-sync');
      await cancelled(workflowId);
    });
  }, 300_000);

  test('a migration that completed without --keep-in-sync is kept in sync by `sync` (Update-with-Start)', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false });
      expect((await handle.result()).outcome).toBe('completed');
      await load(h.source, ORDERS, 'id,customer_id,amount,status,created_at\n9100,1,1,paid,2026-12-02\n', true);
      const pass = await syncMigration(h.client, taskQueue, handle.workflowId, { by: 'support' });
      expect(pass).toMatchObject({ pass: 1, changes: expect.objectContaining({ tablesChanged: 1 }), verification: expect.objectContaining({ tables: 1, ok: 1 }) });
      expect((await h.destination.tables.get(ORDERS))?.rowsCount).toBe((await h.source.tables.get(ORDERS))?.rowsCount);
      expect((await waitForPhase(h, handle.workflowId, 'in-sync')).sync?.passes).toBe(1);
      await cancelled(handle.workflowId);
    });
  }, 300_000);
});
