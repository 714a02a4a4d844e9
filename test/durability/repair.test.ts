// Verification separates "retry" from "stop" on a real Temporal server: what the destination lost after its step
// wrote it (a configuration, a configuration row, a table's rows) is restored again before the migration goes on;
// a difference a repeated restore cannot repair (a configuration edited by someone else) stops it, terminally.
import { WorkflowFailedError } from '@temporalio/client';
import { startMigration } from '../../client/commands/start';
import { compareProjects } from '../../scripts/durability-tools';
import { useHarness } from '../helpers/harness';
import { holdActivity } from '../helpers/migration';
import { Api } from '../emulator/util';

const h = useHarness({ jobDelayMs: 10 });
const CONFIGS = '/v2/storage/branch/default/components';

function start(taskQueue: string) {
  return startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false });
}

/** Runs a migration that is held before the first run of `activityType`, while `meanwhile` changes the destination. */
async function migrateWithChange(activityType: string, meanwhile: (destination: Api) => Promise<void>) {
  const hold = holdActivity(activityType, 'before');
  return h.withWorker(
    async (taskQueue) => {
      const handle = await start(taskQueue);
      await hold.reached;
      await meanwhile(new Api(h.stacks.destination.url, h.stacks.tokens.destination));
      hold.release();
      return handle.result();
    },
    { activityInterceptors: [hold.interceptor] },
  );
}

describe('verification repairs what a retry can repair', () => {
  test('a configuration and a configuration row lost after the restore are restored again; the migration completes', async () => {
    const result = await migrateWithChange('verifyConfigurations', async (destination) => {
      expect((await destination.del(`${CONFIGS}/keboola.ex-db-mysql/configs/mysql-crm/rows/orders`)).status).toBe(204);
      // gone for good, as a write the stack lost is (the first delete only moves it to the trash)
      for (let i = 0; i < 2; i++) expect((await destination.del(`${CONFIGS}/keboola.app-tree/configs/tree-categories`)).status).toBe(204);
    });
    expect(result.outcome).toBe('completed');
    const rows = (await h.destination.configurations.get('keboola.ex-db-mysql', 'mysql-crm'))?.rows?.map((r) => r.id).sort();
    expect(rows).toEqual(['customers', 'orders']);
    expect(await h.destination.configurations.get('keboola.app-tree', 'tree-categories')).not.toBeNull();
    expect((await compareProjects(h.source, h.destination)).mismatches).toEqual([]);
  });

  test('a table whose rows the destination lost after its import is imported again; the migration completes', async () => {
    const destination = new Api(h.stacks.destination.url, h.stacks.tokens.destination);
    // The verification's export of the orders table is held at the stack for 3 s: time to overwrite the table first.
    const held = { kind: 'latency', latencyMs: 3000, method: 'POST', pathPattern: '/tables/in\\.c-crm\\.orders/export-async$', forSeconds: 600 };
    const fault = (await destination.post('/_emulator/faults', held)).body as { id: string };
    const exportsOfOrders = async () => ((await destination.get('/_emulator/faults')).body as Array<{ id: string; hits: number }>).find((f) => f.id === fault.id)?.hits ?? 0;
    try {
      const result = await h.withWorker(async (taskQueue) => {
        const handle = await start(taskQueue);
        for (let i = 0; i < 600 && (await exportsOfOrders()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
        // the orders table is imported and its verification's export on its way: it now holds one row instead of its data
        const fileId = await destination.upload('one-row.csv', Buffer.from('"id","customer_id","amount","status","created_at"\n"1","1","1","paid","2024-01-01"\n'));
        const job = await destination.job('POST', 'tables/in.c-crm.orders/import-async', { dataFileId: fileId, incremental: 0 });
        expect(job.status).toBe('success');
        return handle.result();
      });
      expect(result.outcome).toBe('completed');
      expect(result.verification).toMatchObject({ mismatches: [], ok: result.verification.tables });
      expect(await exportsOfOrders()).toBe(2); // verified, imported again, verified again
      expect((await compareProjects(h.source, h.destination)).mismatches).toEqual([]);
    } finally {
      await destination.del('/_emulator/faults');
    }
  });

  test('a configuration edited in the destination during the migration stops it, naming the difference', async () => {
    const failure = await migrateWithChange('verifyConfigurations', async (destination) => {
      const renamed = await destination.put(`${CONFIGS}/keboola.app-tree/configs/tree-categories`, { name: 'Renamed by someone else' });
      expect(renamed.status).toBe(200);
    }).then(
      () => undefined,
      (error: unknown) => error as WorkflowFailedError,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(failure!.cause).toMatchObject({ type: 'VerificationFailed', message: expect.stringContaining('keboola.app-tree/tree-categories (name)') });
  });
});
