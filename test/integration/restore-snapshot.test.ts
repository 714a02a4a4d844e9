// Restores a snapshot in the layout of Keboola's own backup app into an empty project, on a real Temporal server.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { MigrationReport } from '../../activities/report-model';
import { startRestore } from '../../client/commands/restore';
import { decideMigration } from '../../client/commands/decide';
import { statusQuery } from '../../workflows';
import { useHarness } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';
import { exportTableRows as readTableRows } from '../../snapshot/table-rows';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'keboola-backup');
const h = useHarness();

async function copyFixture(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keboola-backup-'));
  await fs.cp(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('restoreProject from a Keboola backup', () => {
  test('restores sliced, plain, empty and typed tables, an alias, configurations with rows and metadata', async () => {
    const snapshotDir = await copyFixture();
    await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir });
      await waitForStep(handle, 'awaiting-approval');
      await decideMigration(h.client, handle.workflowId, 'approve', { by: 'support' });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(result.verification).toEqual({ tables: 4, ok: 4, rows: 32, mismatches: [], mode: 'checksum' });
      const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as MigrationReport;
      expect(report.verification.perTable.map((v) => [v.tableId, v.actual.rows, v.ok])).toEqual([
        ['in.c-main.empty', 0, true],
        ['in.c-main.plain', 4, true],
        ['in.c-main.sliced', 25, true],
        ['in.c-main.typed', 3, true],
      ]);
    });

    const d = h.destination;
    const buckets = await d.buckets.list();
    expect(buckets.map((b) => b.id).sort()).toEqual(['in.c-main', 'out.c-out']);
    expect(buckets.find((b) => b.id === 'in.c-main')?.metadata?.map((m) => [m.provider, m.key, m.value])).toEqual([['user', 'KBC.description', 'Main input data']]);

    const sliced = (await d.tables.get('in.c-main.sliced'))!;
    expect(sliced).toMatchObject({ columns: ['id', 'name', 'note'], primaryKey: ['id'], displayName: 'Sliced table', rowsCount: 25 });
    expect(sliced.metadata?.filter((m) => m.provider !== 'storage').map((m) => [m.provider, m.key])).toEqual(
      expect.arrayContaining([['user', 'KBC.description'], ['system', 'KBC.createdBy.component.id']]),
    );
    expect(sliced.columnMetadata?.name?.map((m) => m.value)).toContain('Full name');
    expect((await readTableRows(d, 'in.c-main.sliced')).find((r) => r[0] === '3')).toEqual(['3', 'name 3', 'x,y']);
    expect(await readTableRows(d, 'in.c-main.plain')).toEqual([
      ['a1', 'paid', '10'],
      ['a2', 'open', '20'],
      ['a3', 'paid', '30'],
      ['a4', 'void', '0'],
    ]);
    expect((await d.tables.get('in.c-main.empty'))?.rowsCount).toBe(0);

    const typed = (await d.tables.get('in.c-main.typed'))!;
    expect(typed.isTyped).toBe(true);
    expect(typed.columnMetadata?.amount?.find((m) => m.key === 'KBC.datatype.type')?.value).toBe('NUMBER');
    // The backup says "" for the primary key column: NOT NULL, as Keboola's restore reads it and the Storage API shows it.
    expect(typed.definition?.columns?.find((c) => c.name === 'id')?.definition.nullable).toBe(false);
    expect(typed.columnMetadata?.id?.find((m) => m.key === 'KBC.datatype.nullable')?.value).toBe('');
    expect(typed.definition?.columns?.find((c) => c.name === 'amount')?.definition.nullable).toBe(true);

    const alias = (await d.tables.get('out.c-out.paid'))!;
    expect(alias).toMatchObject({ isAlias: true, columns: ['order_id', 'amount'], aliasFilter: { column: 'status', values: ['paid'] } });
    expect(alias.sourceTable?.id).toBe('in.c-main.plain');
    expect(await readTableRows(d, 'out.c-out.paid')).toEqual([
      ['a1', '10'],
      ['a3', '30'],
    ]);

    const mysql = (await d.configurations.get('keboola.ex-db-mysql', 'legacy-db'))!;
    expect(mysql.configuration).toEqual({ parameters: { db: { host: 'db.example.com', port: 3306, user: 'reader', '#password': '' } } });
    expect(mysql.state).toEqual({ component: { lastRun: '2024-01-01' } });
    expect(mysql.rowsSortOrder).toEqual(['orders', 'customers']);
    expect(mysql.rows?.map((r) => [r.id, r.isDisabled, r.state])).toEqual(
      expect.arrayContaining([
        ['customers', false, {}],
        ['orders', true, { component: { lastFetchedRow: '1041' } }],
      ]),
    );
    expect((await d.configurations.listMetadata('keboola.ex-db-mysql', 'legacy-db')).map((m) => [m.key, m.value])).toEqual([['KBC.configuration.folderName', 'Shop']]);
    expect((await d.configurations.get('keboola.app-tree', 'empty-app'))?.configuration).toEqual({});
    expect((await d.branches.listMetadata()).map((m) => [m.key, m.value])).toEqual([['KBC.projectDescription', 'Restored from a Keboola backup']]);
  });

  test('a truncated slice fails the restore before anything is written, with MalformedSnapshot', async () => {
    const snapshotDir = await copyFixture();
    const slice = path.join(snapshotDir, 'in/c-main/sliced.part_1.csv.gz');
    const bytes = await fs.readFile(slice);
    await fs.writeFile(slice, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false });
      const failure = await handle.result().then(
        () => undefined,
        (error: unknown) => error as WorkflowFailedError,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const message = JSON.stringify(failure?.cause?.cause ?? failure?.cause);
      expect(message).toContain('MalformedSnapshot');
      expect(message).toContain('sliced.part_1.csv.gz');
      expect((await handle.query(statusQuery)).step).toBe('failed');
    });
    expect(await h.destination.buckets.list()).toEqual([]);
  });
});
