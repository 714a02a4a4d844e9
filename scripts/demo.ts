// `npm run demo`: one whole migration on this machine. Starts a Temporal dev server (or uses $TEMPORAL_ADDRESS),
// two emulated stacks (US with the sample project, EU with an empty project) and a worker; starts the migration,
// approves it (unless --interactive), follows its progress and prints the summary.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createMigrationWorker } from '../worker/create-worker';
import { startMigration } from '../client/commands/start';
import { formatStatus, getMigrationStatus } from '../client/commands/status';
import { decideMigration } from '../client/commands/decide';
import { startDevServer, type DevServer } from './temporal-server';
import { startStackPair } from './stack-pair';
import { createDataConverter } from '../temporal/payload-codec';

async function main() {
  const opts = new Command('npm run demo --')
    .option('--interactive', 'ask before approving, like an operator would')
    .option('--data <dir>', 'where the demo keeps its state', '.data/demo')
    .parse()
    .opts<{ interactive?: boolean; data: string }>();

  const dataDir = path.resolve(opts.data);
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.mkdir(dataDir, { recursive: true });

  let server: DevServer | undefined;
  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    console.log('starting a Temporal dev server (the first run may build the Temporal CLI, which takes a few minutes)...');
    server = await startDevServer({ dbFile: path.join(dataDir, 'temporal.sqlite'), log: (m) => console.log(`  ${m}`) });
    address = server.address;
    console.log(`Temporal ${address}${server.uiUrl ? `, Web UI ${server.uiUrl}` : ''}`);
  }
  const stacks = await startStackPair({ dataDir: path.join(dataDir, 'stacks'), jobDelayMs: 100 });
  console.log(`source stack (US) ${stacks.source.url}, project ${stacks.sourceRef.projectId}, files on ${stacks.source.fileProvider}`);
  console.log(`destination stack (EU) ${stacks.destination.url}, project ${stacks.destinationRef.projectId}, files on ${stacks.destination.fileProvider}`);
  const s3 = stacks.objectStores.aws;
  if (s3) console.log(`S3 (the Versity S3 Gateway behind both AWS stacks) ${s3.endpoint}, objects in ${s3.dir}`);

  const nativeConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const dataConverter = await createDataConverter();
  const client = new Client({ connection, dataConverter });
  const taskQueue = 'stack-migrate-demo';
  const worker = await createMigrationWorker({ connection: nativeConnection, taskQueue, snapshotRoot: path.join(dataDir, 'snapshots'), dataConverter });
  try {
    await worker.runUntil(async () => {
      const handle = await startMigration(client, taskQueue, { source: stacks.sourceRef, destination: stacks.destinationRef });
      console.log(`\nmigration ${handle.workflowId} started`);
      let approved = false;
      const resultPromise = handle.result();
      let done = false;
      resultPromise.finally(() => (done = true)).catch(() => undefined);
      let lastPrinted = '';
      while (!done) {
        const overview = await getMigrationStatus(client, handle.workflowId);
        const text = formatStatus(overview);
        if (text !== lastPrinted) console.log(`\n${text}`);
        lastPrinted = text;
        if (overview.status?.step === 'awaiting-approval' && !approved) {
          approved = true;
          let decision: 'approve' | 'reject' = 'approve';
          if (opts.interactive) {
            const rl = createInterface({ input: process.stdin, output: process.stdout });
            const answer = await rl.question('\napprove this migration? [y/N] ');
            rl.close();
            decision = /^y(es)?$/i.test(answer.trim()) ? 'approve' : 'reject';
          }
          await decideMigration(client, handle.workflowId, decision, { by: 'demo-operator', comment: 'npm run demo' });
          console.log(`\n${decision === 'approve' ? 'approved' : 'rejected'} by demo-operator`);
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const result = await resultPromise;
      console.log(`\n=== migration ${result.outcome} ===`);
      const { verification } = result;
      console.log(JSON.stringify({ counts: result.counts, verification: `${verification.ok} of ${verification.tables} tables match the source (${verification.rows} rows)`, snapshot: result.snapshotDir, report: result.report }, null, 2));
    });
  } finally {
    await nativeConnection.close();
    await connection.close();
    await stacks.close();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
