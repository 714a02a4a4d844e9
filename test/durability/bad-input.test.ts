// Bad input, each refused at once with a named, non-retryable failure that says what to do: malformed input
// (through our client and through the real `temporal workflow start`), rejected and read-only tokens, the same
// project twice, a non-empty destination, a damaged snapshot, and a stack answer of an unexpected shape.
import { spawnSync } from 'node:child_process';
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { InputError, startMigration } from '../../client/commands/start';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { SEEDS_DIR } from '../../scripts/stack-pair';
import type { SeedFile } from '../../emulator/seed';
import { migrateProject, restoreProject, statusQuery } from '../../workflows';
import type { MigrationInputDraft } from '../../workflows/input';
import { useHarness } from '../helpers/harness';
import { injectFault } from '../../scripts/durability-tools';

// The destination seed with a second token that cannot manage buckets (the source seed has such a token too).
const destinationSeed = JSON.parse(readFileSync(path.join(SEEDS_DIR, 'destination-eu.json'), 'utf8')) as SeedFile;
const READ_ONLY_TOKEN = '201-destination-readonly-token';
destinationSeed.projects[0].tokens.push({ token: READ_ONLY_TOKEN, description: 'Limited token (read only)', isMasterToken: false, canManageBuckets: false, bucketPermissions: {} });

const h = useHarness({ jobDelayMs: 10, destinationSeed });

interface FailureInfo {
  types: string[];
  messages: string;
  nonRetryable: boolean;
}

/** The failure types along the cause chain (workflow → child → activity → application failure). */
function describeFailure(error: unknown): FailureInfo {
  const info: FailureInfo = { types: [], messages: '', nonRetryable: false };
  let current = error as (Error & { type?: string; nonRetryable?: boolean; cause?: unknown }) | undefined;
  while (current) {
    if (current.type) info.types.push(current.type);
    if (current.nonRetryable) info.nonRetryable = true;
    info.messages += `${current.message}\n`;
    current = current.cause as typeof current;
  }
  return info;
}

async function failureOf(client: Client, workflowId: string): Promise<FailureInfo> {
  const error = await client.workflow.getHandle(workflowId).result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return describeFailure(error);
}

/** The highest attempt of any activity in these workflows' histories: 1 means nothing was retried. */
async function maxAttempt(client: Client, workflowIds: string[]): Promise<number> {
  let max = 0;
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory().catch(() => undefined);
    for (const event of history?.events ?? []) max = Math.max(max, event.activityTaskStartedEventAttributes?.attempt ?? 0);
  }
  return max;
}

const draft = (extra: Partial<MigrationInputDraft> = {}): MigrationInputDraft => ({ source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false, ...extra });

describe('bad input', () => {
  test('a malformed stack URL: the CLI refuses it, and a workflow started around the CLI fails at once with InvalidInput', async () => {
    const bad = draft({ source: { ...h.stacks.sourceRef, url: 'connection keboola com' } });
    await expect(startMigration(h.client, 'unused', bad)).rejects.toThrow(InputError);
    await expect(startMigration(h.client, 'unused', bad)).rejects.toThrow(/source\.url: must be a URL such as https:\/\/connection\.keboola\.com/);
    await expect(startMigration(h.client, 'unused', draft({ destination: { ...h.stacks.destinationRef, url: `${h.stacks.destination.url}/v2/storage` } }))).rejects.toThrow(/must be the stack root/);

    await h.withWorker(async (taskQueue) => {
      const workflowId = `bad-url-${randomUUID()}`;
      const started = Date.now();
      await h.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [bad] });
      const failure = await failureOf(h.client, workflowId);
      expect(failure.types).toEqual(['InvalidInput']);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.messages).toContain('source.url: must be a URL');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await maxAttempt(h.client, [workflowId])).toBe(0); // no activity ran
    });
  });

  test('the same project as source and destination is refused before anything runs', async () => {
    const same = draft({ destination: { ...h.stacks.sourceRef, name: 'other-name' } });
    await expect(startMigration(h.client, 'unused', same)).rejects.toThrow(/destination: source and destination are the same project/);
    await h.withWorker(async (taskQueue) => {
      const workflowId = `same-project-${randomUUID()}`;
      await h.client.workflow.start(migrateProject, { taskQueue, workflowId, args: [same] });
      const failure = await failureOf(h.client, workflowId);
      expect(failure.types).toEqual(['InvalidInput']);
      expect(failure.messages).toContain('choose a new, empty project');
    });
  });

  test('`temporal workflow start` (the real CLI) with input of the wrong shape fails at once with InvalidInput; JSON that does not parse is refused by the CLI', async () => {
    const cli = await resolveTemporalCli({ build: false });
    await h.withWorker(async (taskQueue) => {
      const workflowId = `cli-bad-input-${randomUUID()}`;
      const common = ['--address', h.temporal.address, '--namespace', h.temporal.namespace, '--task-queue', taskQueue, '--type', 'migrateProject'];
      const started = spawnSync(cli, ['workflow', 'start', ...common, '--workflow-id', workflowId, '--input', '{"source": {"url": "https://connection.keboola.com", "projectId": "abc"}, "destination": 7}'], { encoding: 'utf8' });
      expect(started.status).toBe(0);
      const failure = await failureOf(h.client, workflowId);
      expect(failure.types).toEqual(['InvalidInput']);
      expect(failure.nonRetryable).toBe(true);
      // zod's own English message, from the workflow bundle that leaves its other languages out
      expect(failure.messages).toMatch(/invalid migration input: .*source\.projectId: Invalid input: expected number, received NaN/);
      expect(failure.messages).toContain('source.tokenRef');

      const notJson = spawnSync(cli, ['workflow', 'start', ...common, '--workflow-id', `${workflowId}-syntax`, '--input', '{"source": '], { encoding: 'utf8' });
      expect(notJson.status).not.toBe(0);
      await expect(h.client.workflow.getHandle(`${workflowId}-syntax`).describe()).rejects.toThrow(/not found/i);
    });
  });

  test('an input over the documented size: our CLI refuses it before it starts, and `temporal workflow start` gets InvalidInput naming the field', async () => {
    const skipComponents = Array.from({ length: 3000 }, (_, i) => `kds-team.app-component-number-${i}`);
    const big = draft({ options: { skipComponents } });
    await expect(startMigration(h.client, 'unused', big)).rejects.toThrow(InputError);
    await expect(startMigration(h.client, 'unused', big)).rejects.toThrow(/more than the 64 KiB accepted; the biggest field is options\.skipComponents/);
    // 40 MB: what Temporal would refuse with its own blob-size or gRPC error is refused here, with the limit
    await expect(startMigration(h.client, 'unused', draft({ requestedBy: 'x'.repeat(40 * 1024 * 1024) }))).rejects.toThrow(/the biggest field is requestedBy/);

    const cli = await resolveTemporalCli({ build: false });
    await h.withWorker(async (taskQueue) => {
      const workflowId = `cli-big-input-${randomUUID()}`;
      const inputFile = path.join(h.snapshotRoot, `${workflowId}.json`);
      await fs.writeFile(inputFile, JSON.stringify(big));
      const common = ['--address', h.temporal.address, '--namespace', h.temporal.namespace, '--task-queue', taskQueue, '--type', 'migrateProject'];
      const started = spawnSync(cli, ['workflow', 'start', ...common, '--workflow-id', workflowId, '--input-file', inputFile], { encoding: 'utf8' });
      expect(started.status).toBe(0);
      const failure = await failureOf(h.client, workflowId);
      expect(failure.types).toEqual(['InvalidInput']);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.messages).toMatch(/invalid migration input: the input is \d+ KiB, more than the 64 KiB accepted; the biggest field is options\.skipComponents/);
      expect(await maxAttempt(h.client, [workflowId])).toBe(0);
    });
  });

  test('a rejected source token blocks the migration with SOURCE_TOKEN_INVALID; nothing is retried or written', async () => {
    process.env.DURABILITY_BAD_TOKEN = '101-this-token-does-not-exist';
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, draft({ source: { ...h.stacks.sourceRef, tokenRef: 'env:DURABILITY_BAD_TOKEN' } }));
      const failure = await failureOf(h.client, handle.workflowId);
      expect(failure.types).toEqual(['ValidationBlocked']);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.messages).toContain('[SOURCE_TOKEN_INVALID]');
      expect(failure.messages).toContain('What to do');
      expect(await maxAttempt(h.client, [handle.workflowId])).toBe(1);
      expect(await h.destination.buckets.list()).toEqual([]);
    });
  });

  test('a destination token that cannot manage buckets blocks the migration with DESTINATION_TOKEN_READ_ONLY', async () => {
    process.env.DURABILITY_READ_ONLY_TOKEN = READ_ONLY_TOKEN;
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, draft({ destination: { ...h.stacks.destinationRef, tokenRef: 'env:DURABILITY_READ_ONLY_TOKEN' } }));
      const failure = await failureOf(h.client, handle.workflowId);
      expect(failure.types).toEqual(['ValidationBlocked']);
      expect(failure.messages).toContain('[DESTINATION_TOKEN_READ_ONLY]');
      expect(failure.messages).toContain('use a master token');
      expect((await handle.query(statusQuery)).step).toBe('blocked');
    });
  });

  test('a non-empty destination blocks the migration with DESTINATION_NOT_EMPTY, without retries', async () => {
    await h.destination.buckets.create({ name: 'leftover', stage: 'out' });
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, draft());
      const failure = await failureOf(h.client, handle.workflowId);
      expect(failure.types).toEqual(['ValidationBlocked']);
      expect(failure.messages).toContain('[DESTINATION_NOT_EMPTY]');
      expect(await maxAttempt(h.client, [handle.workflowId])).toBe(1);
    });
  });

  test('a stack that answers 200 with a body of the wrong shape fails with UnexpectedResponse, not retried', async () => {
    await injectFault(h.stacks.destination.url, { kind: 'garbage', method: 'GET', pathPattern: '^/v2/storage/tokens/verify$' });
    await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, draft());
      const failure = await failureOf(h.client, handle.workflowId);
      expect(failure.types).toEqual(['UnexpectedResponse']);
      expect(failure.nonRetryable).toBe(true);
      expect(failure.messages).toMatch(/answered GET \/v2\/storage\/tokens\/verify with an unexpected shape/);
      expect(await maxAttempt(h.client, [handle.workflowId])).toBe(1);
    });
  });

  describe('a snapshot damaged between the snapshot and the restore fails with MalformedSnapshot', () => {
    /**
     * Takes a complete snapshot with a real migration, copies it, damages the copy, and restores the copy
     * (restoreProject) into a new, empty project of the destination stack.
     */
    async function restoreDamaged(damage: (snapshotDir: string) => Promise<void>): Promise<{ failure: FailureInfo; attempts: number; target: number }> {
      return h.withWorker(async (taskQueue) => {
        const migration = await startMigration(h.client, taskQueue, draft());
        const { snapshotDir } = await migration.result();
        const copy = await fs.mkdtemp(path.join(h.snapshotRoot, 'damaged-'));
        await fs.cp(snapshotDir!, copy, { recursive: true });
        await damage(copy);
        const target = 200 + Math.floor(Math.random() * 1000) + 10;
        const token = `${target}-restore-target-token`;
        const created = await fetch(`${h.stacks.destination.url}/_emulator/projects`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: target, name: 'Restore target', defaultBackend: 'snowflake', backends: ['snowflake'], tokens: [{ token, description: 'master', isMasterToken: true }] }),
        });
        expect(created.status).toBe(201);
        process.env.DURABILITY_RESTORE_TOKEN = token;
        const workflowId = `restore-damaged-${randomUUID()}`;
        await h.client.workflow.start(restoreProject, {
          taskQueue,
          workflowId,
          args: [{ destination: { url: h.stacks.destination.url, projectId: target, tokenRef: 'env:DURABILITY_RESTORE_TOKEN', name: 'eu' }, snapshotDir: copy, requireApproval: false }],
        });
        const failure = await failureOf(h.client, workflowId);
        const children = [`${workflowId}-fingerprint-tables-0`, `${workflowId}-restore-tables-0`];
        return { failure, attempts: await maxAttempt(h.client, [workflowId, ...children]), target };
      });
    }

    test('tables.json cut in the middle', async () => {
      const { failure, attempts } = await restoreDamaged(async (dir) => {
        const file = path.join(dir, 'tables.json');
        const text = await fs.readFile(file, 'utf8');
        await fs.writeFile(file, text.slice(0, Math.floor(text.length / 2)));
      });
      expect(failure.types).toContain('MalformedSnapshot');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.messages).toMatch(/tables\.json is not valid JSON: the snapshot is truncated or corrupted/);
      expect(attempts).toBe(1);
    }, 180_000);

    test('a table data file (gzip) truncated', async () => {
      let damaged = '';
      const { failure, attempts, target } = await restoreDamaged(async (dir) => {
        const [file] = (await fs.readdir(path.join(dir, 'in', 'c-crm'))).filter((f) => f.startsWith('customers') && f.endsWith('.csv.gz'));
        damaged = file;
        const full = path.join(dir, 'in', 'c-crm', file);
        const data = await fs.readFile(full);
        await fs.writeFile(full, data.subarray(0, Math.floor(data.length / 2)));
      });
      expect(failure.types).toContain('MalformedSnapshot');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.messages).toContain(damaged);
      expect(attempts).toBe(1);
      // nothing half-imported: the damaged table holds no rows in the restore target
      const tables = (await fetch(`${h.stacks.destination.url}/v2/storage/tables`, { headers: { 'X-StorageApi-Token': `${target}-restore-target-token` } }).then((r) => r.json())) as Array<{ id: string; rowsCount?: number }>;
      expect(tables.find((t) => t.id === 'in.c-crm.customers')?.rowsCount ?? 0).toBe(0);
    }, 180_000);
  });
});
