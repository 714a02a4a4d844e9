// Backups in Keboola's layout that this project did not write (docs/domain.md#the-snapshot-layout), restored as
// Keboola's own restore (keboola/php-kbc-project-restore) restores them: every form of table data, an empty table the
// source listed with rows, a stray file beside a table's data, and a primary key on a nullable typed column.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { WorkflowFailedError } from '@temporalio/client';
import type { MigrationReport } from '../../activities/report-model';
import { locateReport } from '../../client/commands/report';
import { startRestore } from '../../client/commands/restore';
import { restoreWorkflowId } from '../../workflows/restore-project';
import { exportTableRows } from '../../snapshot/table-rows';
import { readSeed } from '../../scripts/stack-pair';
import { useHarness } from '../helpers/harness';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'keboola-backup');
const h = useHarness();

type TableJson = Record<string, unknown>;

/** The fixture backup plus tables of bucket in.c-main, each with its files (name → content) next to the others. */
async function backupWith(tables: Array<{ name: string; columns: string[]; rowsCount: number; extra?: TableJson; files: Record<string, Buffer | string> }>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keboola-backup-forms-'));
  await fs.cp(FIXTURE, dir, { recursive: true });
  const listed = JSON.parse(await fs.readFile(path.join(dir, 'tables.json'), 'utf8')) as TableJson[];
  const bucket = (listed.find((t) => t.id === 'in.c-main.plain') as { bucket: unknown }).bucket;
  for (const table of tables) {
    listed.push({ id: `in.c-main.${table.name}`, name: table.name, displayName: table.name, primaryKey: [], columns: table.columns, rowsCount: table.rowsCount, isAlias: false, isTyped: false, metadata: [], columnMetadata: [], bucket, ...table.extra });
    for (const [file, content] of Object.entries(table.files)) await fs.writeFile(path.join(dir, 'in', 'c-main', file), content);
  }
  await fs.writeFile(path.join(dir, 'tables.json'), JSON.stringify(listed));
  return dir;
}

async function failureOf(snapshotDir: string): Promise<string> {
  return h.withWorker(async (taskQueue) => {
    const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error as WorkflowFailedError,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    return JSON.stringify(failure?.cause?.cause ?? failure?.cause);
  });
}

describe('restoreProject reads a Keboola backup as Keboola restores it', () => {
  test('plain .csv with a header, plain .part_N.csv slices, and 1,005 gzipped slices in numeric order', async () => {
    const many = Object.fromEntries(Array.from({ length: 1005 }, (_, i) => [`many.part_${i}.csv.gz`, gzipSync(`"${i}","row ${i}"\n`)]));
    const snapshotDir = await backupWith([
      { name: 'plaincsv', columns: ['id', 'v'], rowsCount: 2, files: { 'plaincsv.csv': '"id","v"\n"1","a"\n"2","b"\n' } },
      { name: 'plainslices', columns: ['id', 'v'], rowsCount: 3, files: { 'plainslices.part_0.csv': '"1","x"\n', 'plainslices.part_1.csv': '"2","y"\n"3","z"\n' } },
      { name: 'many', columns: ['id', 'v'], rowsCount: 1005, files: many },
    ]);
    const result = await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false });
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    expect(result.verification.mismatches).toEqual([]);
    expect(await exportTableRows(h.destination, 'in.c-main.plaincsv')).toEqual([['1', 'a'], ['2', 'b']]);
    expect(await exportTableRows(h.destination, 'in.c-main.plainslices')).toEqual([['1', 'x'], ['2', 'y'], ['3', 'z']]);
    const rows = await exportTableRows(h.destination, 'in.c-main.many');
    expect(rows).toHaveLength(1005);
    expect(rows).toContainEqual(['1004', 'row 1004']);
  }, 300_000);

  test('a table the source listed with rows but whose data is missing is a mismatch, not "verified"', async () => {
    const snapshotDir = await backupWith([{ name: 'lost', columns: ['id'], rowsCount: 3, files: {} }]);
    const message = await failureOf(snapshotDir);
    expect(message).toContain('VerificationFailed');
    expect(message).toContain('in.c-main.lost');
    expect(message).toContain('the source listed 3 rows (tables.json), the destination has 0');
  });

  test('a file beside a table\'s data that is none of its forms fails the restore and is named', async () => {
    const snapshotDir = await backupWith([{ name: 'stray', columns: ['id'], rowsCount: 1, files: { 'stray.csv.gz': gzipSync('"id"\n"1"\n'), 'stray.csv.bak': 'old' } }]);
    const message = await failureOf(snapshotDir);
    expect(message).toContain('MalformedSnapshot');
    expect(message).toContain('stray.csv.bak');
    expect(await h.destination.buckets.list()).toEqual([]);
    // `stack-migrate report` of the failed restore names the root cause, not "Activity task failed"
    await expect(locateReport(h.client, restoreWorkflowId({ destination: h.stacks.destinationRef }))).rejects.toThrow(/ended failed before its report was written: .*stray\.csv\.bak.*\[MalformedSnapshot\]/);
  });

  test('a typed table whose primary key column is nullable is a validation blocker naming table and column', async () => {
    const storage = (key: string, value: string) => ({ key, value, provider: 'storage' });
    const snapshotDir = await backupWith([
      {
        name: 'nullpk',
        columns: ['id', 'v'],
        rowsCount: 0,
        extra: {
          isTyped: true,
          primaryKey: ['id'],
          columnMetadata: {
            id: [storage('KBC.datatype.type', 'VARCHAR'), storage('KBC.datatype.nullable', '1'), storage('KBC.datatype.basetype', 'STRING')],
            v: [storage('KBC.datatype.type', 'VARCHAR'), storage('KBC.datatype.nullable', '1'), storage('KBC.datatype.basetype', 'STRING')],
          },
        },
        files: {},
      },
    ]);
    const message = await failureOf(snapshotDir);
    expect(message).toContain('ValidationBlocked');
    expect(message).toContain('[PRIMARY_KEY_NULLABLE] table in.c-main.nullpk');
    expect(message).toContain('make id NOT NULL in the source table');
    expect(await h.destination.buckets.list()).toEqual([]);
  });

  test('--skip-component leaves a component out, and the report says so', async () => {
    const snapshotDir = await backupWith([]);
    const result = await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false, options: { skipComponents: ['keboola.app-tree'] } });
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    expect(await h.destination.configurations.get('keboola.app-tree', 'empty-app')).toBeNull();
    expect(await h.destination.configurations.get('keboola.ex-db-mysql', 'legacy-db')).not.toBeNull();
    const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as MigrationReport;
    expect(report.skipped).toContainEqual(expect.objectContaining({ entity: expect.stringContaining('keboola.app-tree/empty-app'), message: expect.stringContaining('--skip-component') }));
  });

  test('notifications.json and permanentFiles.json are restored; a permanent file without content and a legacy orchestration without orchestrations.json are reported', async () => {
    const snapshotDir = await backupWith([]);
    await fs.writeFile(
      path.join(snapshotDir, 'notifications.json'),
      JSON.stringify([{ id: 'a1b2', event: 'job-failed', filters: [{ field: 'branch.id', value: '9999', operator: '==' }, { field: 'job.component.id', value: 'keboola.ex-db-mysql', operator: '==' }], recipient: { channel: 'email', address: 'ops@acme.example' } }]),
    );
    await fs.writeFile(path.join(snapshotDir, 'permanentFiles.json'), JSON.stringify([{ id: 71, name: 'notes.txt', tags: ['docs'] }, { id: 72, name: 'gone.bin', tags: [] }]));
    await fs.mkdir(path.join(snapshotDir, 'files'), { recursive: true });
    await fs.writeFile(path.join(snapshotDir, 'files', 'notes.txt'), 'read me\n');
    // a legacy orchestration as Keboola's backup keeps it: a configuration of `orchestrator`, no orchestrations.json
    const index = JSON.parse(await fs.readFile(path.join(snapshotDir, 'configurations.json'), 'utf8')) as TableJson[];
    index.push({ id: 'orchestrator', type: 'other', name: 'Orchestrator', configurations: [{ id: '4455', name: 'Nightly' }] });
    await fs.writeFile(path.join(snapshotDir, 'configurations.json'), JSON.stringify(index));
    await fs.mkdir(path.join(snapshotDir, 'configurations', 'orchestrator'), { recursive: true });
    await fs.writeFile(path.join(snapshotDir, 'configurations', 'orchestrator', '4455.json'), JSON.stringify({ id: '4455', name: 'Nightly', description: '', configuration: {}, rows: [] }));
    const result = await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false });
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    const [subscription] = await h.destination.notifications.list();
    expect(subscription).toMatchObject({ event: 'job-failed', recipient: { channel: 'email', address: 'ops@acme.example' } });
    expect(subscription.filters).toContainEqual({ field: 'branch.id', value: await h.destination.branches.defaultBranchId(), operator: '==' });
    const permanent = (await h.destination.files.list()).filter((f) => f.maxAgeDays === null);
    expect(permanent.map((f) => [f.name, f.tags])).toEqual([['notes.txt', ['docs']]]);
    const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as MigrationReport;
    expect(report.skipped).toContainEqual(expect.objectContaining({ entity: 'permanent file gone.bin', message: expect.stringContaining('files/gone.bin') }));
    expect(report.skipped).toContainEqual(expect.objectContaining({ entity: 'orchestration orchestrator/4455', message: expect.stringContaining('recreate it as a Flow') }));
  });

  test('Snowflake buckets restore onto a BigQuery-only destination, typed columns mapped by base type', async () => {
    const destinationSeed = await readSeed('destination-eu');
    Object.assign(destinationSeed.projects[0], { defaultBackend: 'bigquery', backends: ['bigquery'] });
    await h.useStacks({ jobDelayMs: 10, destinationSeed });
    const snapshotDir = await backupWith([]);
    const result = await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false });
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    expect(result.status.validation?.findings).toContainEqual(expect.objectContaining({ code: 'BACKEND_DEFAULTED', severity: 'warning' }));
    expect(result.verification.mismatches).toEqual([]);
    const typed = (await h.destination.tables.get('in.c-main.typed'))!;
    expect(typed.definition?.columns?.map((c) => [c.name, c.definition.type, c.definition.length ?? null, c.definition.nullable])).toEqual([
      ['id', 'BIGNUMERIC', '38,0', false],
      ['day', 'DATE', null, true],
      ['amount', 'NUMERIC', '12,2', true],
    ]);
    expect((await h.destination.buckets.list()).every((b) => b.backend === 'bigquery')).toBe(true);
  });

  test('a typed column whose base type has no type on the destination backend is a blocker naming it', async () => {
    const destinationSeed = await readSeed('destination-eu');
    Object.assign(destinationSeed.projects[0], { defaultBackend: 'bigquery', backends: ['bigquery'] });
    await h.useStacks({ jobDelayMs: 10, destinationSeed });
    const storage = (key: string, value: string) => ({ key, value, provider: 'storage' });
    const snapshotDir = await backupWith([
      { name: 'events', columns: ['payload'], rowsCount: 0, extra: { isTyped: true, columnMetadata: { payload: [storage('KBC.datatype.type', 'VARIANT'), storage('KBC.datatype.nullable', '1'), storage('KBC.datatype.basetype', 'VARIANT')] } }, files: {} },
    ]);
    const message = await failureOf(snapshotDir);
    expect(message).toContain('[TYPE_NOT_MAPPABLE] table in.c-main.events');
    expect(message).toContain('payload (its base type VARIANT has no bigquery type)');
  });

  test('--verify rows compares row counts without reading the data again, and the result and report say so', async () => {
    const snapshotDir = await backupWith([]);
    const result = await h.withWorker(async (taskQueue) => {
      const handle = await startRestore(h.client, taskQueue, { destination: h.stacks.destinationRef, snapshotDir, requireApproval: false, options: { verify: 'rows' } });
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    expect(result.verification).toMatchObject({ mode: 'rows', tables: 4, ok: 4, mismatches: [] });
    const requests = (await (await fetch(`${h.stacks.destination.url}/_emulator/requests`)).json()) as Record<string, number>;
    expect(requests['POST /v2/storage/tables/{tableId}/import-async']).toBeGreaterThan(0); // the tables were imported ...
    expect(requests['POST /v2/storage/tables/{tableId}/export-async'] ?? 0).toBe(0); // ... and none exported again
    const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as MigrationReport;
    expect(report.verification.perTable.every((v) => v.mode === 'rows')).toBe(true);
    expect(await fs.readFile(result.report!.markdown, 'utf8')).toContain('by row count only (--verify rows: the contents were not compared)');
  });
});
