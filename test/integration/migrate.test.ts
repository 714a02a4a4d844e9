// End to end on a real Temporal dev server between two emulated stacks.
import { promises as fs } from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import type { MigrationReport } from '../../activities/report-model';
import { startMigration } from '../../client/commands/start';
import { approveSignal, rejectSignal, statusQuery } from '../../workflows';
import { useHarness } from '../helpers/harness';
import { readSeed } from '../../scripts/stack-pair';
import { exportTableRows as readTableRows } from '../../snapshot/table-rows';
import { waitForStep } from '../helpers/migration';

const h = useHarness();

describe('migrateProject', () => {
  test('waits for approval, then copies buckets, tables with columns, primary keys, metadata and data, and aliases', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef });
      const waiting = await waitForStep(handle, 'awaiting-approval');
      expect(waiting.validation?.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
      expect(waiting.validation?.plan.tables).toBeGreaterThan(0);
      expect(await h.destination.buckets.list()).toEqual([]); // nothing is written before the approval

      // A second start of the same migration finds the running one.
      const again = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef });
      expect(again.firstExecutionRunId).toBe(handle.firstExecutionRunId);

      await handle.signal(approveSignal, { by: 'operator@example.com', comment: 'go' });
      const result = await handle.result();
      expect(result.outcome).toBe('completed');
      expect(result.status.approval).toMatchObject({ decision: 'approved', by: 'operator@example.com' });

      const sourceBuckets = (await h.source.buckets.list()).filter((b) => !b.sourceBucket && !b.isLinkedBucket);
      const destinationBuckets = await h.destination.buckets.list();
      expect(destinationBuckets.map((b) => b.id).sort()).toEqual(sourceBuckets.map((b) => b.id).sort());

      const sourceTables = (await h.source.tables.list()).filter((t) => destinationBuckets.some((b) => b.id === t.bucket?.id));
      const destinationTables = new Map((await h.destination.tables.list()).map((t) => [t.id, t]));
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
        expect(await readTableRows(h.destination, table.id)).toEqual(await readTableRows(h.source, table.id));
        const userMetadata = (entries: typeof table.metadata) => (entries ?? []).filter((m) => m.provider !== 'storage').map((m) => [m.provider, m.key, m.value]);
        expect(userMetadata(copy.metadata)).toEqual(userMetadata(table.metadata));
      }
      expect(result.verification).toMatchObject({ tables: sourceTables.filter((t) => !t.isAlias).length, mismatches: [] });
      expect(result.verification.ok).toBe(result.verification.tables);
      expect(result.counts.tables).toBe(sourceTables.filter((t) => !t.isAlias).length);

      // The report: counts, the old→new ID map, what was skipped, and the operator's checklist.
      const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as MigrationReport;
      expect(await fs.readFile(result.report!.markdown, 'utf8')).toContain('## Checklist for the destination project');
      expect(report.counts.tables).toBe(result.counts.tables);
      expect(report.verification).toMatchObject({ tables: result.verification.tables, ok: result.verification.tables, rows: result.verification.rows, mismatches: [] });
      expect(report.verification.perTable.map((v) => v.tableId)).toEqual(sourceTables.filter((t) => !t.isAlias).map((t) => t.id).sort());
      expect(report.idMap.filter((e) => e.type === 'orchestration')).toHaveLength(3);

      // Notification subscriptions, through the destination's Notification service; branch.id names its own default branch.
      const destinationBranch = await h.destination.branches.defaultBranchId();
      const subscriptions = await h.destination.notifications.list();
      expect(subscriptions.map((s) => [s.event, s.recipient.channel]).sort()).toEqual([['job-failed', 'email'], ['job-processing-long', 'webhook']]);
      const failed = subscriptions.find((s) => s.event === 'job-failed')!;
      expect(failed.filters).toContainEqual({ field: 'branch.id', value: destinationBranch, operator: '==' });
      expect(failed.filters).toContainEqual({ field: 'job.configuration.id', value: 'daily-flow', operator: '==' });
      expect(destinationBranch).not.toBe(await h.source.branches.defaultBranchId());
      expect(result.counts.notifications).toBe(2);

      // Permanent files, with their tags and content.
      const permanent = (await h.destination.files.list()).filter((f) => f.maxAgeDays === null);
      expect(permanent.map((f) => [f.name, [...(f.tags ?? [])].sort()]).sort()).toEqual([
        ['customer-segments.csv', ['marketing', 'segments']],
        ['logo.svg', ['branding']],
      ]);
      const segments = permanent.find((f) => f.name === 'customer-segments.csv')!;
      const [url] = await h.destination.files.sliceUrls(segments);
      const chunks: Buffer[] = [];
      for await (const chunk of h.destination.files.openSlice(segments, url)) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('segment,min_revenue\nbronze,0\nsilver,1000\ngold,10000\n');
      expect(report.skipped.map((s) => s.entity)).toContain('bucket in.c-shared-marketing');
      const checklist = report.checklist;
      expect(checklist.reauthorize.map((i) => i.configuration)).toContain('keboola.ex-google-drive/gdrive-budget');
      expect(checklist.secrets).toEqual(expect.arrayContaining([{ configuration: 'keboola.ex-db-mysql/mysql-crm', path: 'parameters.db.#password' }]));
      expect(checklist.sshTunnels.map((i) => i.configuration)).toContain('keboola.ex-db-mysql/mysql-crm');
      expect(checklist.enable.map((i) => i.configuration)).toContain('keboola.orchestrator/daily-flow');
      expect(checklist.ipWhitelists).toContain(h.stacks.destination.url);
      const destinationIps = (await readSeed('destination-eu')).stack.outboundIpAddresses;
      expect(destinationIps.length).toBeGreaterThan(0);
      for (const ip of destinationIps) expect(checklist.ipWhitelists).toContain(ip);
      expect(checklist.usersToInvite).toContain('invite the users');
      expect(checklist.notes.join(' ')).toContain('migration date as its internal timestamp');
      expect(checklist.notes.join(' ')).toContain('Configuration creation dates and authors');
    });
  });

  test('a rejected migration writes nothing', async () => {
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef });
      await waitForStep(handle, 'awaiting-approval');
      await handle.signal(rejectSignal, { by: 'support', comment: 'wrong destination' });
      const result = await handle.result();
      expect(result.outcome).toBe('rejected');
      expect(await handle.query(statusQuery)).toMatchObject({ step: 'rejected', approval: { decision: 'rejected', by: 'support' } });
      expect(await h.destination.buckets.list()).toEqual([]);
    });
  });

  test('a destination that is not empty blocks the migration with a readable report', async () => {
    await h.destination.buckets.create({ name: 'leftover', stage: 'in' });
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef });
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
