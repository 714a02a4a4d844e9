// `stack-migrate <command>`: the operator's CLI over Temporal. Each command is a small module in commands/.
import { Command, Option } from 'commander';
import { connectClient, targetFromEnv } from './connection';
import { startMigration, InputError } from './commands/start';
import { formatStatus, getMigrationStatus } from './commands/status';
import { decideMigration } from './commands/decide';

const program = new Command('stack-migrate').description('Migrate a Keboola Connection project to another stack, durably, on Temporal');
const target = targetFromEnv();
const json = new Option('--json', 'print JSON for tooling');

program
  .command('start')
  .description('validate and start a migration (it then waits for approval unless --no-approval)')
  .requiredOption('--source-url <url>', 'source stack URL, e.g. https://connection.keboola.com')
  .requiredOption('--source-project <id>', 'source project ID')
  .requiredOption('--source-token-ref <ref>', 'where the worker finds the source token: env:NAME or file:/path')
  .requiredOption('--destination-url <url>', 'destination stack URL')
  .requiredOption('--destination-project <id>', 'destination project ID (a new, empty project)')
  .requiredOption('--destination-token-ref <ref>', 'where the worker finds the destination token: env:NAME or file:/path')
  .option('--source-name <name>', 'short name of the source stack (default: its host)')
  .option('--destination-name <name>', 'short name of the destination stack (default: its host)')
  .option('--no-approval', 'start without waiting for an approval')
  .option('--table-concurrency <n>', 'tables copied at once', (v) => Number(v))
  .addOption(json)
  .action(async (opts) => {
    const client = await connectClient(target);
    const handle = await startMigration(client, target.taskQueue, {
      source: { url: opts.sourceUrl, projectId: opts.sourceProject, tokenRef: opts.sourceTokenRef, name: opts.sourceName },
      destination: { url: opts.destinationUrl, projectId: opts.destinationProject, tokenRef: opts.destinationTokenRef, name: opts.destinationName },
      requireApproval: opts.approval,
      options: opts.tableConcurrency ? { tableConcurrency: opts.tableConcurrency } : undefined,
    });
    if (opts.json) console.log(JSON.stringify({ workflowId: handle.workflowId }));
    else console.log(`migration ${handle.workflowId} started (or already running).\n  follow it: stack-migrate status ${handle.workflowId}\n  approve it: stack-migrate approve ${handle.workflowId} --by <you>`);
  });

program
  .command('status <workflowId>')
  .description('show the step, progress per entity type, findings, failures and what it waits for')
  .addOption(json)
  .action(async (workflowId: string, opts) => {
    const overview = await getMigrationStatus(await connectClient(target), workflowId);
    console.log(opts.json ? JSON.stringify(overview, null, 2) : formatStatus(overview));
  });

for (const decision of ['approve', 'reject'] as const) {
  program
    .command(`${decision} <workflowId>`)
    .description(`${decision} a migration waiting for approval`)
    .option('--by <name>', 'who decides', process.env.USER)
    .option('--comment <text>', 'why')
    .action(async (workflowId: string, opts) => {
      await decideMigration(await connectClient(target), workflowId, decision, { by: opts.by ?? '', comment: opts.comment });
      console.log(`${decision === 'approve' ? 'approved' : 'rejected'} ${workflowId}`);
    });
}

program
  .command('list')
  .description('list migrations (optionally filtered by a Temporal visibility query)')
  .option('--query <query>', "e.g. \"MigrationStep='awaiting-approval'\"")
  .addOption(json)
  .action(async (opts) => {
    const client = await connectClient(target);
    const query = ["WorkflowType='migrateProject'", opts.query].filter(Boolean).join(' AND ');
    const rows: Array<Record<string, unknown>> = [];
    for await (const execution of client.workflow.list({ query })) {
      rows.push({ workflowId: execution.workflowId, status: execution.status.name, step: execution.searchAttributes?.MigrationStep?.[0], started: execution.startTime.toISOString() });
    }
    console.log(opts.json ? JSON.stringify(rows, null, 2) : rows.map((r) => `${r.workflowId}  ${r.status}  ${r.step ?? ''}  ${r.started}`).join('\n') || 'no migrations');
  });

program
  .command('result <workflowId>')
  .description('wait for a migration to end and print its result')
  .addOption(json)
  .action(async (workflowId: string, opts) => {
    const result = await (await connectClient(target)).workflow.getHandle(workflowId).result();
    console.log(opts.json ? JSON.stringify(result, null, 2) : `${workflowId}: ${result.outcome}\n${JSON.stringify(result.counts)}`);
  });

program.parseAsync(process.argv).catch((error) => {
  const prefix = error instanceof InputError ? 'invalid input' : 'error';
  console.error(`stack-migrate: ${prefix}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof InputError ? 2 : 1);
});
