// The operator's CLI end to end on a real Temporal server and two emulated stacks: the dry run, the runbook
// (start → approve → watch → report), pause/resume, cancel, list, exit codes and configuration errors.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { useHarness } from '../helpers/harness';
import { waitForStep } from '../helpers/migration';
import { stackFlags, withOperator, eventually } from './helpers';

const h = useHarness({ jobDelayMs: 10 });
const WORKFLOW_ID = 'migrate-us-'; // + project IDs: the business key of the harness's stacks

describe('stack-migrate CLI', () => {
  test('validate is a dry run: plan with counts and bytes per entity type, nothing written, exit 0', async () => {
    await withOperator(h, async (op) => {
      const text = await op.cli(['validate', ...stackFlags(h)]);
      expect(text.stderr).toBe('');
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/plan \(nothing was written\)/);
      expect(text.stdout).toMatch(/buckets\s+\d+/);
      expect(text.stdout).toMatch(/tables\s+[1-9]\d*\s+\d+ rows, [\d.]+ (B|KB|MB)/);
      expect(text.stdout).toContain('no blockers');

      const json = await op.cli(['validate', ...stackFlags(h), '--json']);
      const report = JSON.parse(json.stdout);
      expect(report.plan.tables).toBeGreaterThan(0);
      expect(report.plan.bytes).toBeGreaterThan(0);
      expect(report.findings.filter((f: { severity: string }) => f.severity === 'blocker')).toEqual([]);
      expect(await h.destination.buckets.list()).toEqual([]);
      // the dry run is its own short workflow, never a migration
      const migrations = await op.cli(['list', '--json']);
      expect(JSON.parse(migrations.stdout).filter((m: { workflowId: string; status: string }) => m.workflowId.startsWith(WORKFLOW_ID) && m.status === 'RUNNING')).toEqual([]);
    });
  });

  test('validate with a blocker prints it with what to do and exits 1', async () => {
    await withOperator(h, async (op) => {
      const run = await op.cli(['validate', ...stackFlags(h, { destinationProject: '424242' })]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/BLOCKER \[DESTINATION_PROJECT_MISMATCH\]/);
      expect(run.stdout).toContain('What to do:');
      expect(run.stdout).toContain('the migration cannot start until they are fixed');
    });
  });

  test('invalid input and invalid configuration exit 2 and name the wrong value; other errors exit 1', async () => {
    await withOperator(h, async (op) => {
      const badUrl = await op.bin(['start', ...stackFlags(h).map((a) => (a === h.stacks.sourceRef.url ? 'not-a-url' : a))]);
      expect(badUrl.code).toBe(2);
      expect(badUrl.stderr).toContain('source.url: must be a URL');

      const badToken = await op.cli(['validate', ...stackFlags(h).map((a) => (a === h.stacks.destinationRef.tokenRef ? 'secret-token-itself' : a))]);
      expect(badToken.code).toBe(2);
      expect(badToken.stderr).toContain('destination.tokenRef: must be a token reference');

      const badAddress = await op.bin(['list'], { TEMPORAL_ADDRESS: 'localhost' });
      expect(badAddress.code).toBe(2);
      expect(badAddress.stderr).toContain('TEMPORAL_ADDRESS="localhost": must be host:port');

      const badFlag = await op.cli(['--namespace', 'no spaces allowed', 'list']);
      expect(badFlag.code).toBe(2);
      expect(badFlag.stderr).toContain('--namespace="no spaces allowed"');

      const unknownOption = await op.cli(['status', 'x', '--frobnicate']);
      expect(unknownOption.code).toBe(2);

      const badNumber = await op.cli(['start', ...stackFlags(h), '--table-concurrency', 'many']);
      expect(badNumber.code).toBe(2);
      expect(badNumber.stderr).toContain('--table-concurrency "many": must be a whole number');
      const badVerify = await op.cli(['start', ...stackFlags(h), '--verify', 'maybe']);
      expect(badVerify.code).toBe(2);
      expect(badVerify.stderr).toContain('options.verify');
      const badHeartbeat = await op.cli(['start', ...stackFlags(h), '--heartbeat-timeout', '2']);
      expect(badHeartbeat.code).toBe(2);
      expect(badHeartbeat.stderr).toContain('options.heartbeatTimeoutSeconds');

      const missing = await op.bin(['status', 'migrate-nobody-1-to-nowhere']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no such migration');
    });
  });

  test('the runbook: start, list, pause, approve, resume, watch, status, report in Markdown, JSON and HTML', async () => {
    await withOperator(h, async (op) => {
      const started = await op.cli(['start', ...stackFlags(h), '--json']);
      expect(started.code).toBe(0);
      const { workflowId } = JSON.parse(started.stdout);
      expect(workflowId).toMatch(/^migrate-us-\d+-to-eu$/);
      const handle = op.client.workflow.getHandle(workflowId);
      await waitForStep(handle, 'awaiting-approval');

      const listed = await eventually('the migration in the list', async () => {
        const run = await op.cli(['list', '--query', "MigrationStep='awaiting-approval'", '--json']);
        return JSON.parse(run.stdout).find((m: { workflowId: string }) => m.workflowId === workflowId);
      });
      expect(listed).toMatchObject({ status: 'RUNNING', step: 'awaiting-approval' });

      const waiting = await op.cli(['status', workflowId]);
      expect(waiting.stdout).toContain(`waiting for approval: stack-migrate approve ${workflowId}`);

      expect((await op.cli(['pause', workflowId, '--by', 'support', '--reason', 'maintenance window'])).code).toBe(0);
      const approved = await op.cli(['approve', workflowId, '--by', 'lead', '--comment', 'plan checked', '--json']);
      expect(approved.code).toBe(0);
      expect(JSON.parse(approved.stdout)).toMatchObject({ decision: 'approved', by: 'lead', comment: 'plan checked' });
      const again = await op.cli(['reject', workflowId, '--by', 'someone']);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('refused: already approved by lead');

      const paused = JSON.parse((await op.cli(['status', workflowId, '--json'])).stdout);
      expect(paused.status.paused).toMatchObject({ by: 'support', reason: 'maintenance window' });
      expect((await op.cli(['status', workflowId])).stdout).toContain('paused by support: maintenance window');

      expect((await op.cli(['resume', workflowId, '--by', 'support'])).code).toBe(0);
      const watched = await op.cli(['watch', workflowId, '--json', '--interval', '200']);
      expect(watched.code).toBe(0);
      const lines = watched.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.at(-1)).toMatchObject({ execution: 'COMPLETED', step: 'completed' });
      expect(new Set(lines.map((l) => l.step)).size).toBeGreaterThanOrEqual(2);

      const status = await op.cli(['status', workflowId]);
      expect(status.stdout).toContain('COMPLETED, step completed');
      expect(status.stdout).toMatch(/tables\s+\d+\/\d+/);

      const markdown = await op.cli(['report', workflowId]);
      expect(markdown.code).toBe(0);
      expect(markdown.stdout).toContain(`# Migration report: ${workflowId}`);
      expect(markdown.stdout).toContain('Approved by lead');
      const json = JSON.parse((await op.cli(['report', workflowId, '--json'])).stdout);
      expect(json).toMatchObject({ workflowId, approval: { by: 'lead' } });
      const htmlPath = (await op.cli(['report', workflowId, '--html'])).stdout.trim();
      expect(htmlPath).toMatch(/\.stack-migrate\/report\.html$/);
      expect(await fs.readFile(htmlPath, 'utf8')).toContain('<h2>Checklist for the destination project</h2>');
      const copy = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'report-')), 'migration.html');
      expect((await op.cli(['report', workflowId, '--html', copy])).stdout.trim()).toBe(copy);
      expect((await fs.stat(copy)).size).toBeGreaterThan(1000);
    });
  });

  test('report says so when the file is on another machine', async () => {
    await withOperator(h, async (op) => {
      const { workflowId } = JSON.parse((await op.cli(['start', ...stackFlags(h), '--no-approval', '--json'])).stdout);
      await op.client.workflow.getHandle(workflowId).result();
      const reportDir = path.dirname((await op.client.workflow.getHandle(workflowId).result()).report!.json);
      await fs.rename(reportDir, `${reportDir}.elsewhere`); // as if the folder were only on the worker's machine
      try {
        const run = await op.cli(['report', workflowId]);
        expect(run.code).toBe(1);
        expect(run.stderr).toContain("the report is on the worker's machine at");
        expect(run.stderr).toContain('which this machine cannot read (ENOENT)');
      } finally {
        await fs.rename(`${reportDir}.elsewhere`, reportDir);
      }
    });
  });

  test('start --wait follows the migration with progress bars and exits 0 when it completes', async () => {
    await withOperator(h, async (op) => {
      const run = await op.cli(['start', ...stackFlags(h), '--no-approval', '--wait']);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/overall\s+\|[█░]+\|/);
      expect(run.stderr).toMatch(/tables\s+\|[█░]+\| \d+\/\d+/);
      expect(run.stderr).toMatch(/configurations\s+\|/);
      expect(run.stdout).toContain('COMPLETED, step completed');
    });
  });

  test('cancel requests cancellation and --wait prints how it ended', async () => {
    await withOperator(h, async (op) => {
      const { workflowId } = JSON.parse((await op.cli(['start', ...stackFlags(h), '--cleanup', '--json'])).stdout);
      await waitForStep(op.client.workflow.getHandle(workflowId), 'awaiting-approval');
      const run = await op.cli(['cancel', workflowId, '--wait']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${workflowId}: CANCELLED, step cancelled`);
      expect(await h.destination.buckets.list()).toEqual([]);
    });
  });

  test("restore --from-snapshot restores a Keboola-format backup into the empty project", async () => {
    const snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-backup-'));
    await fs.cp(path.resolve(__dirname, '..', 'fixtures', 'keboola-backup'), snapshotDir, { recursive: true });
    await withOperator(h, async (op) => {
      const d = h.stacks.destinationRef;
      const started = await op.cli([
        'restore', '--from-snapshot', snapshotDir,
        '--destination-url', d.url, '--destination-project', String(d.projectId), '--destination-token-ref', d.tokenRef, '--destination-name', d.name!,
        '--no-approval', '--json',
      ]);
      expect(started.code).toBe(0);
      const { workflowId } = JSON.parse(started.stdout);
      expect(workflowId).toBe(`restore-snapshot-to-${d.name}-${d.projectId}`);
      const result = await op.cli(['result', workflowId, '--json']);
      expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'completed', verification: { tables: 4, ok: 4, mismatches: [] } });
      expect((await h.destination.buckets.list()).map((b) => b.id).sort()).toEqual(['in.c-main', 'out.c-out']);

      const relative = await op.cli(['restore', '--from-snapshot', 'backups/mine', '--destination-url', d.url, '--destination-project', '1', '--destination-token-ref', d.tokenRef]);
      expect(relative.code).toBe(2);
      expect(relative.stderr).toContain('snapshotDir: must be an absolute path on the worker');
    });
  });
});
