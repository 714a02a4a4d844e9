/**
 * Records the event histories of real migrations, for the replay test that guards determinism
 * (test/durability/replay.test.ts, docs/architecture.md#determinism):
 *
 *   npx tsx scripts/record-history.ts            # writes test/histories/<scenario>--<workflowId>.json
 *   npx tsx scripts/record-history.ts --out DIR
 *
 * Each scenario runs on a real Temporal dev server (startDevServer) between two emulated stacks, with a worker
 * of the current workflow code. The histories are recorded WITHOUT the payload codec: replay then needs no key,
 * the committed files are readable in review, and nothing secret is in them (tokens never enter payloads: the
 * workflow carries `env:` references; the stack URLs are loopback addresses of throw-away emulators).
 *
 * Record again only for a new scenario or after a deliberate, `patched()`-guarded change, and keep the old files:
 * the point is that histories written by older code still replay.
 */
import { promises as fs, realpathSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { startMigration } from '../client/commands/start';
import { createMigrationWorker } from '../worker/create-worker';
import { approveSignal, rejectSignal, statusQuery } from '../workflows';
import type { MigrationStep } from '../workflows/types';
import { startStackPair, type StackPair } from './stack-pair';
import { startDevServer } from './temporal-server';

const DEFAULT_OUT = path.resolve(__dirname, '..', 'test', 'histories');
const ROOT = path.resolve(__dirname, '..');

/**
 * Failure stack traces in a history name files by absolute path (`/home/me/stack-migrate/activities/...`, or the
 * real folder of a symlinked node_modules). Committed histories keep them relative to the checkout instead: they
 * are data that replay never interprets, and the repository holds no machine's paths.
 */
function withoutCheckoutPaths(json: string): string {
  const prefixes = [`${ROOT}${path.sep}`];
  try {
    const modules = realpathSync(path.join(ROOT, 'node_modules'));
    prefixes.unshift(`${path.dirname(modules)}${path.sep}`);
  } catch {
    // no node_modules folder: nothing to map
  }
  return prefixes.reduce((text, prefix) => text.split(prefix).join(''), json);
}

interface Scenario {
  name: string;
  description: string;
  run(client: Client, taskQueue: string, stacks: StackPair): Promise<WorkflowHandle>;
}

async function waitForStep(handle: WorkflowHandle, step: MigrationStep): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await handle.query(statusQuery).catch(() => undefined))?.step === step) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${handle.workflowId} did not reach ${step}`);
}

const scenarios: Scenario[] = [
  {
    name: 'approved-completed',
    description: 'validate, wait for approval (signal), snapshot, restore tables in a child, aliases, configurations, report',
    async run(client, taskQueue, stacks) {
      const handle = await startMigration(client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef, requestedBy: 'recorder' });
      await waitForStep(handle, 'awaiting-approval');
      await handle.signal(approveSignal, { by: 'operator', comment: 'recorded for the replay test' });
      await handle.result();
      return handle;
    },
  },
  {
    name: 'rejected',
    description: 'validate, then rejected by an operator: nothing written',
    async run(client, taskQueue, stacks) {
      const handle = await startMigration(client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef });
      await waitForStep(handle, 'awaiting-approval');
      await handle.signal(approveSignal, { by: ' ' }); // invalid: ignored and recorded in the status
      await handle.signal(rejectSignal, { by: 'support', comment: 'wrong destination' });
      await handle.result();
      return handle;
    },
  },
  {
    name: 'retried-after-outage',
    description: 'no approval; a destination outage (503 + Retry-After) makes table activities retry, then it completes',
    async run(client, taskQueue, stacks) {
      await fetch(`${stacks.destination.url}/_emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'outage', forRequests: 6, retryAfterSeconds: 1, pathPattern: '^/v2/storage/tables/' }),
      });
      const handle = await startMigration(client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef, requireApproval: false, options: { tableConcurrency: 1 } });
      await handle.result();
      return handle;
    },
  },
  {
    name: 'cancelled-cleanup',
    description: 'cancelled during the restore, with clean-up of what it created',
    async run(client, taskQueue, stacks) {
      const handle = await startMigration(client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef, requireApproval: false, options: { cleanupOnCancel: true } });
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const response = await fetch(`${stacks.destination.url}/v2/storage/buckets`, { headers: { 'X-StorageApi-Token': stacks.tokens.destination } });
        if (((await response.json()) as unknown[]).length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await handle.cancel();
      await handle.result().catch(() => undefined);
      return handle;
    },
  },
];

async function main(argv: string[]): Promise<void> {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? path.resolve(argv[outIndex + 1]) : DEFAULT_OUT;
  const only = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--out');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  await fs.mkdir(out, { recursive: true });
  const server = await startDevServer({ headless: true });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace }); // no codec: see the header
  const snapshotRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'record-snapshots-'));
  try {
    for (const scenario of scenarios.filter((s) => only.length === 0 || only.includes(s.name))) {
      const stacks = await startStackPair({ jobDelayMs: 10 });
      const taskQueue = `record-${scenario.name}`;
      const worker = await createMigrationWorker({ connection: nativeConnection, namespace: server.namespace, taskQueue, snapshotRoot, dataConverter: {} });
      try {
        const handle = await worker.runUntil(scenario.run(client, taskQueue, stacks));
        const written: string[] = [];
        // `<scenario>--<workflowId>.json`: replay needs the real workflow ID (child workflow IDs derive from it).
        const save = async (workflowId: string) => {
          const history = await client.workflow.getHandle(workflowId).fetchHistory();
          const file = path.join(out, `${scenario.name}--${workflowId}.json`);
          await fs.writeFile(file, `${withoutCheckoutPaths(JSON.stringify(JSON.parse(historyToJSON(history)), null, 1))}\n`);
          written.push(`${path.basename(file)} (${history.events?.length ?? 0} events)`);
        };
        await save(handle.workflowId);
        // The children this run started (the table batches), found in its own history.
        const parent = await handle.fetchHistory();
        for (const event of parent.events ?? []) {
          const childId = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
          if (childId) await save(childId);
        }
        console.log(`${scenario.name}: ${scenario.description}\n  ${written.join('\n  ')}`);
      } finally {
        await stacks.close();
      }
    }
  } finally {
    await nativeConnection.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await server.stop();
    await fs.rm(snapshotRoot, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
