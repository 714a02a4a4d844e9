// `stack-migrate <command>`: the operator's CLI over Temporal. Each command is a small module in commands/.
// Exit codes: 0 ok, 2 invalid input (flags, configuration, migration input), 1 anything else.
import type { Writable } from 'node:stream';
import { Command, CommanderError, Option } from 'commander';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { connectClient, targetFromEnv, type TemporalTarget } from './connection';
import { ConfigError, DEFAULT_DEPLOYMENT_NAME, type TemporalFlags } from '../temporal/settings';
import { startMigration, InputError } from './commands/start';
import { startRestore } from './commands/restore';
import { formatStatus, getMigrationStatus } from './commands/status';
import { decideMigration } from './commands/decide';
import { blockersOf, formatValidation, validateMigrationDryRun } from './commands/validate';
import { cancelMigration, pauseMigration } from './commands/controls';
import { htmlReport, locateReport, readReportFile } from './commands/report';
import { watchMigration } from './commands/watch';
import { cutoverMigration, formatCutover, formatPass, measureLag, rollbackMigration, syncMigration } from './commands/sync';
import { describeDeployment, formatDeployment, setCurrentBuild } from './commands/deployment';
import { DEFAULT_HEARTBEAT_TIMEOUT_SECONDS, type MigrationInputDraft } from '../workflows/input';

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
}

/** A command that finished with a non-zero exit code on purpose (blocked validation, failed migration). */
class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const parseInteger = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value.trim())) throw new InputError(`${name} "${value}": must be a whole number`);
  return Number(value);
};

function migrationOptions(command: Command): Command {
  return command
    .requiredOption('--source-url <url>', 'source stack URL, e.g. https://connection.keboola.com')
    .requiredOption('--source-project <id>', 'source project ID')
    .requiredOption('--source-token-ref <ref>', 'where the worker finds the source token: env:NAME or file:/path')
    .requiredOption('--destination-url <url>', 'destination stack URL')
    .requiredOption('--destination-project <id>', 'destination project ID (a new, empty project)')
    .requiredOption('--destination-token-ref <ref>', 'where the worker finds the destination token: env:NAME or file:/path')
    .option('--source-name <name>', 'short name of the source stack (default: its host)')
    .option('--destination-name <name>', 'short name of the destination stack (default: its host)')
    .option('--resume', 'continue a failed or cancelled migration into the same destination (keeps what exists there)')
    .option('--skip-component <id>', 'leave the configurations of this component out (repeatable); the report lists them', collect, [])
    .option('--strict-components', 'a component the destination stack lacks blocks, instead of its configurations being skipped with a warning');
}

/** Commander's way to repeat an option: each value added to the list. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The restore's options that `start` and `restore` share: components left out or strict, and the verification mode. */
function restoreOptions(opts: Record<string, unknown>): Record<string, unknown> {
  const skip = opts.skipComponent as string[] | undefined;
  return {
    ...(skip?.length ? { skipComponents: skip } : {}),
    ...(opts.strictComponents ? { strictComponents: true } : {}),
    ...(opts.verify !== undefined ? { verify: opts.verify } : {}),
    ...(opts.heartbeatTimeout !== undefined ? { heartbeatTimeoutSeconds: opts.heartbeatTimeout } : {}),
  };
}

const HEARTBEAT_HELP = `seconds an activity may go without a heartbeat before another worker takes it over (5 to 3600, default ${DEFAULT_HEARTBEAT_TIMEOUT_SECONDS}): how soon a killed worker's work goes on elsewhere`;

const VERIFY_HELP = 'checksum (default: export every table again and compare row count and content) or rows (row counts only, as Keboola checks; contents not compared)';

function draftFrom(opts: Record<string, unknown>): MigrationInputDraft {
  const options: Record<string, unknown> = {};
  if (opts.tableConcurrency !== undefined) options.tableConcurrency = opts.tableConcurrency;
  if (opts.configurationConcurrency !== undefined) options.configurationConcurrency = opts.configurationConcurrency;
  if (opts.cleanup) options.cleanupOnCancel = true;
  if (opts.fourEyes) options.fourEyes = true;
  if (opts.approvalTimeoutHours !== undefined) options.approvalTimeoutHours = opts.approvalTimeoutHours;
  Object.assign(options, restoreOptions(opts));
  return {
    ...(opts.keepInSync ? { keepInSync: true } : {}),
    ...(opts.syncEveryHours !== undefined ? { syncEveryHours: Number(opts.syncEveryHours) } : {}),
    source: { url: opts.sourceUrl as string, projectId: opts.sourceProject as string, tokenRef: opts.sourceTokenRef as string, name: opts.sourceName as string | undefined },
    destination: {
      url: opts.destinationUrl as string,
      projectId: opts.destinationProject as string,
      tokenRef: opts.destinationTokenRef as string,
      name: opts.destinationName as string | undefined,
    },
    requireApproval: opts.approval !== false,
    requestedBy: opts.requestedBy as string | undefined,
    resume: Boolean(opts.resume),
    manageTokenRef: opts.manageTokenRef as string | undefined,
    options: options as MigrationInputDraft['options'],
  };
}

export function buildProgram(io: CliIo): { program: Command; close(): Promise<void> } {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  const program = new Command('stack-migrate')
    .description('Migrate a Keboola Connection project to another stack, durably, on Temporal')
    .option('--address <host:port>', 'Temporal frontend (env TEMPORAL_ADDRESS, default localhost:7233)')
    .option('--namespace <name>', 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")')
    .option('--task-queue <name>', 'task queue of the workers (env STACK_MIGRATE_TASK_QUEUE, default stack-migrate)')
    .option('--profile <name>', 'profile of the Temporal config file (env TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE)')
    .option('--tls', 'connect with TLS (env TEMPORAL_TLS; implied by TEMPORAL_API_KEY or client certificates)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  // Configuration is read when a command runs, so a bad value fails that command with exit code 2.
  let cached: { target: TemporalTarget; client?: Client } | undefined;
  const target = (): TemporalTarget => {
    const flags = program.opts<TemporalFlags>();
    cached ??= { target: targetFromEnv(io.env, flags) };
    return cached.target;
  };
  const client = async (): Promise<Client> => {
    const t = target();
    cached!.client ??= await connectClient(t, io.env);
    return cached!.client;
  };
  const json = () => new Option('--json', 'print JSON for tooling');

  migrationOptions(program.command('validate'))
    .description('dry run: validate both projects and print the plan (counts and bytes per entity type); writes nothing')
    .addOption(json())
    .action(async (opts) => {
      const report = await validateMigrationDryRun(await client(), target().taskQueue, draftFrom(opts));
      out(opts.json ? JSON.stringify(report, null, 2) : formatValidation(report));
      if (blockersOf(report).length > 0) throw new ExitCode(1);
    });

  migrationOptions(program.command('start'))
    .description('validate and start a migration (it then waits for approval unless --no-approval)')
    .option('--no-approval', 'start without waiting for an approval')
    .option('--requested-by <name>', 'who starts it (for the four-eyes rule and the report)', io.env.USER)
    .option('--four-eyes', 'the approver must be someone other than --requested-by')
    .option('--cleanup', 'if the migration is cancelled, delete what it created in the destination (options.cleanupOnCancel)')
    .option('--approval-timeout-hours <n>', 'fail if nobody decides within this many hours (default 168)', parseInteger('--approval-timeout-hours'))
    .option('--table-concurrency <n>', 'tables copied at once (default 4)', parseInteger('--table-concurrency'))
    .option('--configuration-concurrency <n>', 'configuration batches restored at once (default 8)', parseInteger('--configuration-concurrency'))
    .option('--verify <mode>', VERIFY_HELP)
    .option('--heartbeat-timeout <seconds>', HEARTBEAT_HELP, parseInteger('--heartbeat-timeout'))
    .option('--manage-token-ref <ref>', 'a Manage API token (env:NAME or file:/path on the worker): re-encrypt secrets for the destination')
    .option('--keep-in-sync', 'after the first copy, stay open and keep the destination in step (sync passes) until a planned cutover')
    .option('--sync-every-hours <n>', 'with --keep-in-sync: also run a pass every this many hours', parseInteger('--sync-every-hours'))
    .option('--wait', 'follow the progress live until the migration ends (exit 1 unless it completes)')
    .addOption(json())
    .action(async (opts) => {
      const c = await client();
      const handle = await startMigration(c, target().taskQueue, draftFrom(opts));
      if (opts.json) out(JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId }));
      else
        out(
          `migration ${handle.workflowId} started (or already running).\n  watch it:   stack-migrate watch ${handle.workflowId}\n  approve it: stack-migrate approve ${handle.workflowId} --by <you>`,
        );
      if (!opts.wait) return;
      const last = await watchMigration(c, handle.workflowId, { stream: opts.json ? io.stdout : io.stderr, json: opts.json });
      if (!opts.json) out(formatStatus(last));
      if (last.execution !== 'COMPLETED' && last.status?.sync?.phase !== 'in-sync') throw new ExitCode(1);
    });

  program
    .command('restore')
    .description("restore a snapshot folder (ours, or one made by Keboola's own project backup) into an empty project")
    .requiredOption('--from-snapshot <dir>', 'the snapshot: an absolute folder on the worker, or s3://bucket/prefix, azure://account/container/prefix, gs://bucket/prefix')
    .requiredOption('--destination-url <url>', 'destination stack URL')
    .requiredOption('--destination-project <id>', 'destination project ID (a new, empty project)')
    .requiredOption('--destination-token-ref <ref>', 'where the worker finds the destination token: env:NAME or file:/path')
    .option('--destination-name <name>', 'short name of the destination stack (default: its host)')
    .option('--no-approval', 'start without waiting for an approval')
    .option('--requested-by <name>', 'who starts it (for the four-eyes rule and the report)', io.env.USER)
    .option('--skip-component <id>', 'leave the configurations of this component out (repeatable); the report lists them', collect, [])
    .option('--strict-components', 'a component the destination stack lacks blocks, instead of its configurations being skipped with a warning')
    .option('--verify <mode>', VERIFY_HELP)
    .option('--heartbeat-timeout <seconds>', HEARTBEAT_HELP, parseInteger('--heartbeat-timeout'))
    .addOption(json())
    .action(async (opts) => {
      const handle = await startRestore(await client(), target().taskQueue, {
        options: restoreOptions(opts),
        snapshotDir: opts.fromSnapshot,
        destination: { url: opts.destinationUrl, projectId: opts.destinationProject, tokenRef: opts.destinationTokenRef, name: opts.destinationName },
        requireApproval: opts.approval !== false,
        requestedBy: opts.requestedBy,
      });
      out(
        opts.json
          ? JSON.stringify({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId })
          : `restore ${handle.workflowId} started (or already running).\n  watch it:   stack-migrate watch ${handle.workflowId}\n  approve it: stack-migrate approve ${handle.workflowId} --by <you>`,
      );
    });

  program
    .command('status <workflowId>')
    .description('the step, progress per entity type, an estimate of the time left, findings, failures and what it waits for')
    .addOption(json())
    .option('--no-lag', 'for a migration kept in sync: do not measure how far behind the destination is (it reads the source)')
    .action(async (workflowId: string, opts) => {
      const c = await client();
      let overview = await getMigrationStatus(c, workflowId);
      const sync = overview.status?.sync;
      if (opts.lag !== false && overview.execution === 'RUNNING' && sync?.phase === 'in-sync' && !sync.running) {
        await measureLag(c, workflowId);
        overview = await getMigrationStatus(c, workflowId);
      }
      out(opts.json ? JSON.stringify(overview, null, 2) : formatStatus(overview));
    });

  program
    .command('sync <workflowId>')
    .description('run a sync pass now: copy what changed in the source since the last pass (a completed migration is kept in sync from then on)')
    .option('--by <name>', 'who asks for it', io.env.USER)
    .option('--reason <text>', 'why')
    .option('--every-hours <n>', 'from now on also run a pass every this many hours (for a completed migration)', parseInteger('--every-hours'))
    .addOption(json())
    .action(async (workflowId: string, opts) => {
      const pass = await syncMigration(await client(), target().taskQueue, workflowId, { by: opts.by ?? '', reason: opts.reason }, opts.everyHours);
      out(opts.json ? JSON.stringify(pass, null, 2) : formatPass(pass));
    });

  program
    .command('cutover <workflowId>')
    .description('the planned switch: readiness check, source schedules off, a final pass, destination schedules on, verification, report')
    .option('--by <name>', 'who approves the cutover (four-eyes: not who started the migration)', io.env.USER)
    .option('--comment <text>', 'why now')
    .option('--keep-source-running', "leave the source's schedules and orchestrations on (the downtime is then measured from the final pass)")
    .addOption(json())
    .action(async (workflowId: string, opts) => {
      const record = await cutoverMigration(await client(), workflowId, { by: opts.by ?? '', comment: opts.comment, switchOffSource: !opts.keepSourceRunning });
      out(opts.json ? JSON.stringify(record, null, 2) : formatCutover(record));
    });

  program
    .command('rollback <workflowId>')
    .description("after a cutover: switch the destination's schedules off and the source's back on, from what the cutover recorded")
    .option('--by <name>', 'who rolls back', io.env.USER)
    .option('--comment <text>', 'why')
    .addOption(json())
    .action(async (workflowId: string, opts) => {
      const record = await rollbackMigration(await client(), workflowId, { by: opts.by ?? '', comment: opts.comment });
      out(opts.json ? JSON.stringify(record, null, 2) : formatCutover(record));
    });

  program
    .command('watch <workflowId>')
    .description('live progress bars per entity type until the migration ends, or is idle in sync (--json: one JSON line per change)')
    .option('--interval <ms>', 'how often to ask (default 1000)', parseInteger('--interval'))
    .addOption(json())
    .action(async (workflowId: string, opts) => {
      const last = await watchMigration(await client(), workflowId, { stream: opts.json ? io.stdout : io.stderr, json: opts.json, intervalMs: opts.interval });
      if (!opts.json) out(formatStatus(last));
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <workflowId>`)
      .description(`${decision} a migration waiting for approval (the migration answers at once if it refuses, e.g. the four-eyes rule)`)
      .option('--by <name>', 'who decides', io.env.USER)
      .option('--comment <text>', 'why')
      .addOption(json())
      .action(async (workflowId: string, opts) => {
        const approval = await decideMigration(await client(), workflowId, decision, { by: opts.by ?? '', comment: opts.comment });
        out(opts.json ? JSON.stringify(approval) : `${approval.decision} ${workflowId} by ${approval.by}`);
      });
  }

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <workflowId>`)
      .description(action === 'pause' ? 'hold the migration at its next entity boundary (work in flight finishes)' : 'let a paused migration go on')
      .option('--by <name>', `who ${action}s`, io.env.USER)
      .option('--reason <text>', 'why')
      .action(async (workflowId: string, opts) => {
        await pauseMigration(await client(), workflowId, action, { by: opts.by ?? '', reason: opts.reason });
        out(`${action === 'pause' ? 'pause' : 'resume'} sent to ${workflowId}${action === 'pause' ? ': it stops at the next entity boundary' : ''}`);
      });
  }

  program
    .command('cancel <workflowId>')
    .description('request cancellation: it stops at the next entity boundary; clean-up runs if it was started with --cleanup')
    .option('--wait', 'wait until it has stopped (and cleaned up) and print the outcome')
    .addOption(json())
    .action(async (workflowId: string, opts) => {
      const c = await client();
      await cancelMigration(c, workflowId);
      if (!opts.wait) {
        out(opts.json ? JSON.stringify({ workflowId, cancelRequested: true }) : `cancellation requested for ${workflowId}: it stops at the next entity boundary`);
        return;
      }
      await c.workflow.getHandle(workflowId).result().catch(() => undefined);
      const overview = await getMigrationStatus(c, workflowId);
      out(opts.json ? JSON.stringify(overview, null, 2) : `${formatStatus(overview)}${overview.status?.cleanup ? `\n  clean-up: ${overview.status.cleanup.destinationEmpty ? 'the destination is empty again' : `left ${overview.status.cleanup.remaining.join(', ')}`}` : ''}`);
    });

  const deployment = program.command('deployment').description('Worker Deployment Versioning: the worker builds, and which one new migrations start on');
  const deploymentName = () => new Option('--deployment-name <name>', 'the worker deployment (STACK_MIGRATE_DEPLOYMENT_NAME of the workers)').default(io.env.STACK_MIGRATE_DEPLOYMENT_NAME || DEFAULT_DEPLOYMENT_NAME);
  deployment
    .command('show')
    .description('the builds of the worker deployment: current, draining (pinned migrations still run there), drained')
    .addOption(deploymentName())
    .addOption(json())
    .action(async (opts) => {
      const overview = await describeDeployment(await client(), opts.deploymentName);
      out(opts.json ? JSON.stringify(overview, null, 2) : formatDeployment(overview));
    });
  deployment
    .command('set-current')
    .description("make a build the one new migrations start on, once its workers poll; running migrations stay on their build")
    .requiredOption('--build-id <id>', 'the STACK_MIGRATE_BUILD_ID of the new workers')
    .addOption(deploymentName())
    .option('--wait <seconds>', 'how long to wait for a worker of the build to poll (default 60)', parseInteger('--wait'))
    .action(async (opts) => {
      const { previous } = await setCurrentBuild(await client(), opts.deploymentName, opts.buildId, { waitMs: (opts.wait ?? 60) * 1000, identity: `stack-migrate CLI (${io.env.USER ?? 'unknown'})` });
      out(`new migrations start on build ${opts.buildId} of ${opts.deploymentName}${previous && previous !== opts.buildId ? `; those started on ${previous} finish there (keep its workers until \`stack-migrate deployment show\` says drained)` : ''}`);
    });

  program
    .command('report <workflowId>')
    .description("print the migration report (Markdown), or --json, or --html [file] (the path of the HTML page, or a copy of it); the files are on the worker's machine")
    .addOption(json())
    .option('--html [file]', 'print the path of report.html, or copy it to <file>')
    .action(async (workflowId: string, opts) => {
      const files = await locateReport(await client(), workflowId);
      if (opts.html !== undefined) out(await htmlReport(files, typeof opts.html === 'string' ? opts.html : undefined));
      else out(await readReportFile(opts.json ? files.json : files.markdown));
    });

  program
    .command('list')
    .description('list migrations (optionally filtered by a Temporal visibility query)')
    .option('--query <query>', "e.g. \"MigrationStep='awaiting-approval'\"")
    .addOption(json())
    .action(async (opts) => {
      const c = await client();
      const query = ["WorkflowType='migrateProject'", opts.query].filter(Boolean).join(' AND ');
      const rows: Array<Record<string, unknown>> = [];
      for await (const execution of c.workflow.list({ query })) {
        rows.push({ workflowId: execution.workflowId, status: execution.status.name, step: execution.searchAttributes?.MigrationStep?.[0], started: execution.startTime.toISOString() });
      }
      out(opts.json ? JSON.stringify(rows, null, 2) : rows.map((r) => `${r.workflowId}  ${r.status}  ${r.step ?? ''}  ${r.started}`).join('\n') || 'no migrations');
    });

  program
    .command('result <workflowId>')
    .description('wait for a migration to end and print its result')
    .addOption(json())
    .action(async (workflowId: string, opts) => {
      const result = await (await client()).workflow.getHandle(workflowId).result();
      out(opts.json ? JSON.stringify(result, null, 2) : `${workflowId}: ${result.outcome}\n${JSON.stringify(result.counts)}`);
    });

  return {
    program,
    async close() {
      await cached?.client?.connection.close().catch(() => undefined);
    },
  };
}

/** Runs the CLI and returns its exit code: 0 ok, 2 invalid input, 1 other. */
export async function runCli(argv: string[], io: CliIo = { env: process.env, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { program, close } = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof ExitCode) return error.code;
    if (error instanceof CommanderError) {
      // help and --version end "with an error" too; unknown options and missing arguments are invalid input
      return error.exitCode === 0 ? 0 : 2;
    }
    const invalid = error instanceof InputError || error instanceof ConfigError;
    io.stderr.write(`stack-migrate: ${invalid ? 'invalid input' : 'error'}: ${describeError(error)}\n`);
    return invalid ? 2 : 1;
  } finally {
    await close();
  }
}

function describeError(error: unknown): string {
  if (error instanceof WorkflowNotFoundError) return `no such migration: ${error.message}`;
  if (error instanceof WorkflowUpdateFailedError) return `refused: ${error.cause?.message ?? error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Entry point of bin/stack-migrate.js and `npm run cli`. */
export function main(): void {
  void runCli(process.argv.slice(2)).then((code) => {
    process.stdout.write('', () => process.exit(code));
  });
}

if (require.main === module) main();
