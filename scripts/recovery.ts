// `npm run recovery -- [--phases validation,metadata,configurations,orchestrations] [--heartbeat-timeout 20]`:
// how long a migration stands still when its worker process is SIGKILLed in the middle of a phase. Per phase: a
// fresh pair of emulated stacks whose every request is held `--latency-ms` (so that each phase lasts long enough
// to be killed in), two worker processes, a migration; when the phase's activity has started, the worker that runs
// it is killed, and the script measures the time from the kill until the activity's next attempt has started on
// the other worker, and until it is done. Prints a table and a JSON line.
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startMigration } from '../client/commands/start';
import { createDataConverter } from '../temporal/payload-codec';
import { DEFAULT_HEARTBEAT_TIMEOUT_SECONDS } from '../workflows/input';
import { clearFaults, injectFault, spawnWorker, waitUntil, type WorkerProcess } from './durability-tools';
import { startStackPair } from './stack-pair';
import { startDevServer } from './temporal-server';

/** The activity each phase runs: the one killed. */
const PHASES: Record<string, string> = {
  validation: 'validateMigration',
  metadata: 'snapshotProjectMetadata',
  configurations: 'restoreConfigurations',
  orchestrations: 'restoreOrchestrations',
};

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

interface Measurement {
  phase: string;
  activity: string;
  heartbeatTimeoutSeconds: number;
  /** From the SIGKILL until the activity's next attempt started on the other worker. */
  takeoverSeconds: number;
  /** From the SIGKILL until the activity completed. */
  doneSeconds: number;
  attempt: number;
  outcome: string;
}

async function pendingActivity(handle: WorkflowHandle, activityType: string) {
  const { raw } = await handle.describe();
  return raw.pendingActivities?.find((a) => a.activityType?.name === activityType);
}

/** Whether an attempt of `activityType` has completed (its history has the completion). */
async function hasCompleted(handle: WorkflowHandle, activityType: string): Promise<boolean> {
  const scheduled = new Set<string>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === activityType) scheduled.add(String(e.eventId));
    const done = e.activityTaskCompletedEventAttributes;
    if (done && scheduled.has(String(done.scheduledEventId))) return true;
  }
  return false;
}

async function measure(phase: string, options: { heartbeatTimeoutSeconds: number; latencyMs: number }, session: { client: Client; env: NodeJS.ProcessEnv }): Promise<Measurement> {
  const activity = PHASES[phase]!;
  const pair = await startStackPair({ jobDelayMs: 20, env: {} });
  const env = { ...session.env, STACK_MIGRATE_TASK_QUEUE: `recovery-${randomUUID()}`, STACK_MIGRATE_SOURCE_TOKEN: pair.tokens.source, STACK_MIGRATE_DESTINATION_TOKEN: pair.tokens.destination };
  const workers: WorkerProcess[] = [];
  try {
    for (const url of [pair.source.url, pair.destination.url]) await injectFault(url, { kind: 'latency', latencyMs: options.latencyMs });
    workers.push(await spawnWorker(env), await spawnWorker(env));
    const handle = await startMigration(session.client, env.STACK_MIGRATE_TASK_QUEUE, {
      source: pair.sourceRef,
      destination: pair.destinationRef,
      requireApproval: false,
      options: { heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds },
    });
    const running = await waitUntil(`${activity} to start`, async () => {
      const pending = await pendingActivity(handle, activity);
      return pending?.state === STARTED && pending.lastWorkerIdentity ? pending.lastWorkerIdentity : undefined;
    }, 300_000, 100);
    const victim = workers.find((w) => w.identity() === running);
    if (!victim) throw new Error(`no worker of this run has the identity ${running}`);
    await victim.kill();
    const killedAt = Date.now();
    const takeover = await waitUntil(`${activity} to start again`, async () => {
      const pending = await pendingActivity(handle, activity);
      if (pending && (pending.attempt ?? 1) > 1 && pending.state === STARTED) return { at: Date.now(), attempt: pending.attempt ?? 2 };
      if (!pending && (await hasCompleted(handle, activity))) return { at: Date.now(), attempt: 2 };
      return undefined;
    }, 600_000, 100);
    const doneAt = await waitUntil(`${activity} to complete`, async () => (await hasCompleted(handle, activity)) && Date.now(), 600_000, 200);
    for (const url of [pair.source.url, pair.destination.url]) await clearFaults(url); // the rest of the migration at full speed
    const result = await handle.result();
    return {
      phase,
      activity,
      heartbeatTimeoutSeconds: options.heartbeatTimeoutSeconds,
      takeoverSeconds: round((takeover.at - killedAt) / 1000),
      doneSeconds: round((doneAt - killedAt) / 1000),
      attempt: takeover.attempt,
      outcome: result.outcome,
    };
  } finally {
    for (const worker of workers) await worker.kill();
    await pair.close();
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

async function main() {
  const opts = new Command('npm run recovery --')
    .option('--phases <list>', `comma-separated: ${Object.keys(PHASES).join(', ')}`, Object.keys(PHASES).join(','))
    .option('--heartbeat-timeout <seconds>', 'the migration option heartbeatTimeoutSeconds', String(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS))
    .option('--latency-ms <ms>', 'every request of both stacks held this long, so that each phase lasts long enough to be killed in', '400')
    .parse()
    .opts<{ phases: string; heartbeatTimeout: string; latencyMs: string }>();
  const phases = opts.phases.split(',').map((p) => p.trim());
  for (const phase of phases) if (!PHASES[phase]) throw new Error(`--phases: unknown phase "${phase}" (use ${Object.keys(PHASES).join(', ')})`);
  const heartbeatTimeoutSeconds = Number(opts.heartbeatTimeout);
  const latencyMs = Number(opts.latencyMs);

  const server = await startDevServer({ headless: true });
  const codecKey = randomBytes(32).toString('base64');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace, dataConverter: await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey }) });
  const snapshotRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'recovery-snapshots-'));
  const env: NodeJS.ProcessEnv = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, STACK_MIGRATE_SNAPSHOT_ROOT: snapshotRoot, STACK_MIGRATE_CODEC_KEY: codecKey };
  const results: Measurement[] = [];
  try {
    for (const phase of phases) {
      const m = await measure(phase, { heartbeatTimeoutSeconds, latencyMs }, { client, env });
      results.push(m);
      console.log(`${phase}: the next attempt of ${m.activity} started ${m.takeoverSeconds} s after the SIGKILL (attempt ${m.attempt}), done ${m.doneSeconds} s after it; migration ${m.outcome}`);
    }
  } finally {
    await connection.close();
    await server.stop();
    await fs.rm(snapshotRoot, { recursive: true, force: true });
  }
  console.log(`\n| phase | activity killed | heartbeat timeout | kill → next attempt started | kill → activity done |\n|---|---|---|---|---|`);
  for (const m of results) console.log(`| ${m.phase} | ${m.activity} | ${m.heartbeatTimeoutSeconds} s | ${m.takeoverSeconds} s | ${m.doneSeconds} s |`);
  console.log(`\n${JSON.stringify({ latencyMs, results })}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
