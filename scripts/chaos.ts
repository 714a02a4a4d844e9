/**
 * `npm run chaos`: migrations of the sample project under random faults, each with a time bound, on a real
 * Temporal dev server with workers in their own processes. Prints one line per run and a summary: migrations,
 * faults injected, completed, duplicate entities found and data mismatches (destination compared with source).
 *
 *   npm run chaos                                  # 5 runs
 *   npm run chaos -- --runs 10 --seed 42 --run-timeout 300
 *   npm run chaos -- --long-outage                 # one migration through an 11-minute destination outage
 *   npm run chaos -- --long-outage --outage-minutes 15
 *   npm run chaos -- --kill-every-step             # one migration, its worker SIGKILLed once in every step
 *
 * Faults per run (random, reproducible with --seed): stack outages (503 + Retry-After) on the source or the
 * destination, latency, 429s, dropped requests, lost answers to creates (the service routes' too), creates that
 * land after their retry (late writes of orchestrations, tokens, triggers, workspaces, GoodData projects), and a
 * SIGKILL of a worker process (a new one is started). One run of the session restarts the Temporal server on the same SQLite file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { temporal } from '@temporalio/proto';
import { getMigrationStatus } from '../client/commands/status';
import { startMigration } from '../client/commands/start';
import { createStackClient } from '../stack';
import { createDataConverter } from '../temporal/payload-codec';
import { compareProjects, countRequests, injectFault, sleep, spawnWorker, waitUntil, type Fault, type WorkerProcess } from './durability-tools';
import { startStackPair } from './stack-pair';
import { startDevServer, type DevServer } from './temporal-server';

/** mulberry32: a small seeded PRNG, so a failing chaos run can be repeated with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Creates of what the stack gives a new ID: orchestrations, tokens, triggers, workspaces, GoodData projects. */
const NEW_ID_CREATES = '(^/_services/orchestrator/orchestrations|^/v2/storage/(tokens|triggers)|/workspaces|/gdc/projects)$';
const CREATES = '^/v2/storage/(buckets(/[^/]+/(tables-async|tables-definition|table-aliases))?|branch/[^/]+/components/[^/]+/configs(/[^/]+/rows)?)$';

interface Session {
  server: DevServer;
  client: Client;
  env: NodeJS.ProcessEnv;
  workers: WorkerProcess[];
  log: (line: string) => void;
}

async function startSession(taskQueue: string): Promise<Session> {
  const server = await startDevServer({ headless: true });
  const codecKey = randomBytes(32).toString('base64');
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace, dataConverter: await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey }) });
  const snapshotRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'chaos-snapshots-'));
  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    STACK_MIGRATE_TASK_QUEUE: taskQueue,
    STACK_MIGRATE_SNAPSHOT_ROOT: snapshotRoot,
    STACK_MIGRATE_CODEC_KEY: codecKey,
    // late creates land within seconds here (the late-write faults below), so the steps need not wait 90 s for them
    STACK_MIGRATE_LATE_WRITE_GRACE_SECONDS: '10',
  };
  return { server, client, env, workers: [], log: (line) => console.log(line) };
}

async function ensureWorkers(session: Session, count: number, tokens: Record<string, string>): Promise<void> {
  session.workers = session.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  while (session.workers.length < count) session.workers.push(await spawnWorker({ ...session.env, ...tokens }));
}

/** The last error line a worker process logged, shortened. */
function lastError(output: string): string {
  const line = output.split('\n').reverse().find((l) => /"level":"ERROR"|Error/.test(l));
  return (line ?? '(no error logged)').slice(0, 200);
}

interface RunResult {
  outcome: string;
  seconds: number;
  faults: string[];
  duplicates: string[];
  mismatches: string[];
}

async function chaosRun(session: Session, run: number, random: () => number, options: { restartServer: boolean; timeoutSeconds: number }): Promise<RunResult> {
  const pair = await startStackPair({ jobDelayMs: 20, env: {} });
  // Workers resolve `env:` token references from their own environment, and reach this run's object-store server
  // through it: the workers of the run before, which knew another one, are replaced.
  const tokens = { STACK_MIGRATE_SOURCE_TOKEN: pair.tokens.source, STACK_MIGRATE_DESTINATION_TOKEN: pair.tokens.destination, ...pair.workerEnv };
  const faults: string[] = [];
  const started = Date.now();
  const timers: Promise<void>[] = [];
  let finished = false;
  try {
    await Promise.all(session.workers.map((w) => w.stop()));
    session.workers = [];
    await ensureWorkers(session, 2, tokens);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const at = (delayMs: number, what: () => Promise<string | undefined>) => {
      timers.push(
        (async () => {
          await sleep(delayMs);
          if (finished) return;
          const label = await what().catch((error: Error) => `failed to inject: ${error.message}`);
          if (label) faults.push(label);
        })(),
      );
    };
    const stacks = { source: pair.source.url, destination: pair.destination.url };
    const fault = (side: 'source' | 'destination', spec: Fault, label: string) => async () => {
      await injectFault(stacks[side], spec);
      return `${label}@${side}`;
    };
    // Latency from the start on a random side keeps the migration long enough for the rest to land in it.
    const slowSide = pick(['source', 'destination'] as const);
    await injectFault(stacks[slowSide], { kind: 'latency', latencyMs: 100 + Math.floor(random() * 200), pathPattern: '^/v2/storage' });
    faults.push(`latency@${slowSide}`);
    const count = 3 + Math.floor(random() * 3);
    for (let i = 0; i < count; i++) {
      const side = pick(['source', 'destination'] as const);
      const delay = Math.floor(random() * 8000);
      switch (pick(['outage', 'rate-limit', 'drop', 'lose-response', 'late-write', 'kill-worker'] as const)) {
        case 'outage': {
          const seconds = 5 + Math.floor(random() * 16);
          at(delay, fault(side, { kind: 'outage', forSeconds: seconds, retryAfterSeconds: 1 + Math.floor(random() * 5), pathPattern: '^/v2/storage' }, `outage ${seconds}s`));
          break;
        }
        case 'rate-limit':
          at(delay, fault(side, { kind: 'rate-limit', forRequests: 3 + Math.floor(random() * 8), retryAfterSeconds: 1 + Math.floor(random() * 2) }, '429s'));
          break;
        case 'drop':
          at(delay, fault(side, { kind: 'drop', forRequests: 1 + Math.floor(random() * 3) }, 'drop'));
          break;
        case 'lose-response':
          at(delay, fault('destination', { kind: 'lose-response', method: 'POST', pathPattern: pick([CREATES, NEW_ID_CREATES]), forRequests: 1 + Math.floor(random() * 3) }, 'lost-answers'));
          break;
        case 'late-write':
          // from the start: the creates of entities with new IDs come late in a migration
          at(0, fault('destination', { kind: 'late-write', method: 'POST', pathPattern: NEW_ID_CREATES, latencyMs: 2000 + Math.floor(random() * 4000), forRequests: 1 + Math.floor(random() * 3) }, 'late-writes'));
          break;
        case 'kill-worker':
          at(delay, async () => {
            const victim = session.workers[Math.floor(random() * session.workers.length)];
            if (!victim) return undefined;
            await victim.kill();
            void ensureWorkers(session, 2, tokens);
            return 'kill-worker';
          });
          break;
      }
    }
    if (options.restartServer) {
      at(2000 + Math.floor(random() * 4000), async () => {
        await session.server.restart();
        return 'temporal-restart';
      });
    }

    const handle = await startMigration(session.client, session.env.STACK_MIGRATE_TASK_QUEUE!, {
      source: pair.sourceRef,
      destination: pair.destinationRef,
      requireApproval: false,
      options: { heartbeatTimeoutSeconds: 5, tableConcurrency: 2 },
    });
    const deadline = started + options.timeoutSeconds * 1000;
    let outcome = 'timed-out';
    while (Date.now() < deadline) {
      const result = await Promise.race([
        session.client.workflow.getHandle(handle.workflowId).result().then(
          (r) => r.outcome,
          (error: Error) => (/Unavailable|connect|14 UNAVAILABLE|transport/i.test(error.message) ? undefined : `failed: ${error.message.slice(0, 120)}`),
        ),
        sleep(Math.max(0, deadline - Date.now())).then(() => undefined),
      ]);
      if (result) {
        outcome = result;
        break;
      }
      await sleep(1000);
    }
    finished = true;
    if (outcome === 'timed-out') {
      // where it stood, as an operator would see it, before it is ended
      const overview = await getMigrationStatus(session.client, handle.workflowId).catch(() => undefined);
      const waiting = overview?.waiting.map((w) => `${w.activity} attempt ${w.attempt}: ${(w.lastFailure ?? '-').slice(0, 160)}`).join('; ');
      const logs = await fs.mkdtemp(path.join(os.tmpdir(), `chaos-run-${run + 1}-workers-`));
      await Promise.all(session.workers.map((w, i) => fs.writeFile(path.join(logs, `worker-${i + 1}.log`), w.output())));
      faults.push(`[worker logs: ${logs}]`);
      const workers = session.workers.map((w) => (w.child.exitCode === null && w.child.signalCode === null ? 'running' : `exited ${w.child.exitCode ?? w.child.signalCode}: ${lastError(w.output())}`));
      faults.push(`[timed out at step ${overview?.status?.step ?? '?'}; waiting: ${waiting || '-'}; workers: ${workers.join('; ') || 'none'}]`);
      await session.client.workflow.getHandle(handle.workflowId).terminate('chaos run time bound').catch(() => undefined);
    }
    await Promise.all(timers);
    await fetch(`${stacks.source}/_emulator/faults`, { method: 'DELETE' });
    await fetch(`${stacks.destination}/_emulator/faults`, { method: 'DELETE' });
    const comparison = await compareProjects(
      createStackClient({ url: stacks.source, token: pair.tokens.source }),
      createStackClient({ url: stacks.destination, token: pair.tokens.destination }),
    );
    return { outcome, seconds: (Date.now() - started) / 1000, faults, duplicates: comparison.duplicates, mismatches: outcome === 'completed' ? comparison.mismatches : [] };
  } finally {
    finished = true;
    await pair.close();
  }
}

async function chaos(opts: { runs: number; seed: number; runTimeout: number }): Promise<void> {
  const random = prng(opts.seed);
  const session = await startSession('chaos');
  const restartRun = Math.floor(opts.runs / 2);
  const results: RunResult[] = [];
  console.log(`chaos: ${opts.runs} runs, seed ${opts.seed}, time bound ${opts.runTimeout} s per run, Temporal ${session.server.address}`);
  try {
    for (let run = 0; run < opts.runs; run++) {
      const result = await chaosRun(session, run, random, { restartServer: run === restartRun, timeoutSeconds: opts.runTimeout });
      results.push(result);
      console.log(
        `run ${run + 1}/${opts.runs}  ${result.outcome.padEnd(9)} ${result.seconds.toFixed(1).padStart(6)} s  duplicates ${result.duplicates.length}  mismatches ${result.mismatches.length}  faults: ${result.faults.join(', ')}` +
          (result.duplicates.length + result.mismatches.length ? `\n    ${[...result.duplicates, ...result.mismatches].join('\n    ')}` : ''),
      );
    }
  } finally {
    await Promise.all(session.workers.map((w) => w.kill()));
    await session.server.stop();
  }
  const sum = (f: (r: RunResult) => number) => results.reduce((s, r) => s + f(r), 0);
  console.log(
    `summary: migrations ${results.length}, faults injected ${sum((r) => r.faults.length)}, completed ${results.filter((r) => r.outcome === 'completed').length}, ` +
      `duplicate entities found ${sum((r) => r.duplicates.length)}, data mismatches ${sum((r) => r.mismatches.length)}`,
  );
  if (results.some((r) => r.outcome !== 'completed' || r.duplicates.length || r.mismatches.length)) process.exitCode = 1;
}

/** One migration through a destination outage of `minutes`, beginning after the first table import. */
async function longOutage(opts: { minutes: number; retryAfter: number }): Promise<void> {
  const session = await startSession('chaos-long-outage');
  const pair = await startStackPair({ jobDelayMs: 20, env: {} });
  const tokens = { STACK_MIGRATE_SOURCE_TOKEN: pair.tokens.source, STACK_MIGRATE_DESTINATION_TOKEN: pair.tokens.destination };
  const t0 = Date.now();
  const clock = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s`;
  try {
    await ensureWorkers(session, 1, tokens);
    await injectFault(pair.destination.url, { kind: 'latency', latencyMs: 300, pathPattern: '^/v2/storage/jobs/' });
    const handle = await startMigration(session.client, session.env.STACK_MIGRATE_TASK_QUEUE!, {
      source: pair.sourceRef,
      destination: pair.destinationRef,
      requireApproval: false,
      options: { tableConcurrency: 1 },
    });
    console.log(`${clock()}  started ${handle.workflowId}`);
    await waitUntil('the first table import', async () => (await countRequests(pair.destination.url, /^POST \S+\/import-async$/)) >= 1, 120_000, 20);
    await injectFault(pair.destination.url, { kind: 'outage', forSeconds: opts.minutes * 60, retryAfterSeconds: opts.retryAfter, pathPattern: '^/v2/storage' });
    const outageStart = Date.now();
    console.log(`${clock()}  destination outage of ${opts.minutes} min begins (503 maintenance, Retry-After ${opts.retryAfter} s), after the first table import`);
    const result = handle.result();
    let done = false;
    void result.finally(() => (done = true)).catch(() => undefined);
    while (!done) {
      await Promise.race([result.catch(() => undefined), sleep(60_000)]);
      if (done) break;
      const overview = await getMigrationStatus(session.client, handle.workflowId);
      const waiting = overview.waiting.map((w) => `${w.activity} attempt ${w.attempt}: ${(w.lastFailure ?? '').replace(/^http:\/\/127\.0\.0\.1:\d+ /, '').slice(0, 90)}`).join('; ');
      console.log(`${clock()}  status: ${overview.execution}, step ${overview.status?.step}; waiting: ${waiting || '-'}`);
    }
    const outcome = await result;
    const comparison = await compareProjects(createStackClient({ url: pair.source.url, token: pair.tokens.source }), createStackClient({ url: pair.destination.url, token: pair.tokens.destination }));
    console.log(`${clock()}  ${outcome.outcome}, ${((Date.now() - outageStart) / 60000).toFixed(1)} min after the outage began, with no operator action`);
    console.log(`summary: outage ${opts.minutes} min, outcome ${outcome.outcome}, tables verified ${outcome.verification.ok}/${outcome.verification.tables}, duplicate entities found ${comparison.duplicates.length}, data mismatches ${comparison.mismatches.length}, destination ${JSON.stringify(comparison.counts)}`);
    if (outcome.outcome !== 'completed' || comparison.duplicates.length || comparison.mismatches.length) process.exitCode = 1;
  } finally {
    await Promise.all(session.workers.map((w) => w.kill()));
    await pair.close();
    await session.server.stop();
  }
}

/**
 * One migration whose worker is SIGKILLed once in every step: the first time an activity type is seen running, the
 * worker that runs it dies (a new one is started). The migration must still complete with nothing twice.
 */
async function killEveryStep(opts: { runTimeout: number; latencyMs: number }): Promise<void> {
  const session = await startSession('chaos-kill-every-step');
  const pair = await startStackPair({ jobDelayMs: 20, env: {} });
  const tokens = { STACK_MIGRATE_SOURCE_TOKEN: pair.tokens.source, STACK_MIGRATE_DESTINATION_TOKEN: pair.tokens.destination };
  const started = Date.now();
  const killed: string[] = [];
  try {
    await ensureWorkers(session, 2, tokens);
    // every request held a little, so that each activity runs long enough to be caught running
    for (const url of [pair.source.url, pair.destination.url]) await injectFault(url, { kind: 'latency', latencyMs: opts.latencyMs });
    const handle = await startMigration(session.client, session.env.STACK_MIGRATE_TASK_QUEUE!, {
      source: pair.sourceRef,
      destination: pair.destinationRef,
      requireApproval: false,
      options: { heartbeatTimeoutSeconds: 5, tableConcurrency: 2 },
    });
    const result = handle.result().then((r) => r.outcome, (error: Error) => `failed: ${error.message.slice(0, 160)}`);
    let outcome: string | undefined;
    void result.then((o) => (outcome = o));
    const seen = new Set<string>();
    const workflows = [handle.workflowId, ...Array.from({ length: 4 }, (_, n) => [`${handle.workflowId}-snapshot-tables-${n}`, `${handle.workflowId}-restore-tables-${n}`]).flat()];
    while (outcome === undefined && Date.now() - started < opts.runTimeout * 1000) {
      for (const workflowId of workflows) {
        const pending = await session.client.workflow.getHandle(workflowId).describe().then((d) => d.raw.pendingActivities ?? [], () => []);
        for (const activity of pending) {
          const type = activity.activityType?.name;
          if (!type || seen.has(type) || !activity.lastWorkerIdentity || activity.state !== temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) continue;
          const victim = session.workers.find((w) => w.identity() === activity.lastWorkerIdentity);
          if (!victim) continue;
          seen.add(type);
          await victim.kill();
          killed.push(type);
          console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  killed the worker running ${type}`);
          void ensureWorkers(session, 2, tokens);
        }
      }
      await sleep(100);
    }
    if (outcome === undefined) {
      await handle.terminate('chaos time bound').catch(() => undefined);
      outcome = 'timed-out';
    }
    for (const url of [pair.source.url, pair.destination.url]) await fetch(`${url}/_emulator/faults`, { method: 'DELETE' });
    const comparison = await compareProjects(createStackClient({ url: pair.source.url, token: pair.tokens.source }), createStackClient({ url: pair.destination.url, token: pair.tokens.destination }));
    const ran = new Set<string>();
    for (const workflowId of workflows) {
      const events = await session.client.workflow.getHandle(workflowId).fetchHistory().then((h) => h.events ?? [], () => []);
      for (const e of events) if (e.activityTaskScheduledEventAttributes?.activityType?.name) ran.add(e.activityTaskScheduledEventAttributes.activityType.name);
    }
    const missed = [...ran].filter((type) => !seen.has(type));
    console.log(
      `summary: ${outcome} in ${((Date.now() - started) / 1000).toFixed(0)} s, worker killed in ${killed.length} of ${ran.size} activity types (${killed.join(', ')})` +
        `${missed.length ? `; done before a kill could land (raise --latency-ms): ${missed.join(', ')}` : ''}, ` +
        `duplicate entities found ${comparison.duplicates.length}, data mismatches ${comparison.mismatches.length}` +
        (comparison.duplicates.length + comparison.mismatches.length ? `\n    ${[...comparison.duplicates, ...comparison.mismatches].join('\n    ')}` : ''),
    );
    if (outcome !== 'completed' || comparison.duplicates.length || comparison.mismatches.length) process.exitCode = 1;
  } finally {
    await Promise.all(session.workers.map((w) => w.kill()));
    await pair.close();
    await session.server.stop();
  }
}

const program = new Command('chaos')
  .option('--runs <n>', 'migrations to run', (v) => Number(v), 5)
  .option('--seed <n>', 'random seed (reproduces a session)', (v) => Number(v), Date.now() % 100000)
  .option('--run-timeout <seconds>', 'time bound of each run', (v) => Number(v), 300)
  .option('--long-outage', 'one migration through a long destination outage instead')
  .option('--kill-every-step', 'one migration whose worker is killed once in every step instead')
  .option('--latency-ms <ms>', 'with --kill-every-step: every request held this long, so that each step runs long enough to be killed in', (v) => Number(v), 500)
  .option('--outage-minutes <m>', 'length of the long outage', (v) => Number(v), 11)
  .option('--retry-after <seconds>', 'Retry-After of the long outage', (v) => Number(v), 60);
program.parse(process.argv);
const opts = program.opts<{ runs: number; seed: number; runTimeout: number; longOutage?: boolean; killEveryStep?: boolean; latencyMs: number; outageMinutes: number; retryAfter: number }>();
const session = opts.longOutage ? longOutage({ minutes: opts.outageMinutes, retryAfter: opts.retryAfter }) : opts.killEveryStep ? killEveryStep({ runTimeout: Math.max(opts.runTimeout, 1200), latencyMs: opts.latencyMs }) : chaos(opts);
session.catch((error) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
