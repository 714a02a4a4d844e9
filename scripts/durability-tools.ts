// Shared tools of the durability tests and `npm run chaos`: fault injection through the emulator's admin API,
// worker processes that can be killed, and a comparison of source and destination that finds duplicates and
// data mismatches. No jest globals here: scripts import it too.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { StackClient } from '../stack';
import { exportTableRows } from '../snapshot/table-rows';
import { compileWorker, workerNodeArgs, WORKER_ENV } from './worker-process';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

export type FaultKind = 'outage' | 'drop' | 'latency' | 'rate-limit' | 'lose-response' | 'late-write' | 'garbage';
export interface Fault {
  kind: FaultKind;
  forSeconds?: number;
  forRequests?: number;
  retryAfterSeconds?: number;
  latencyMs?: number;
  pathPattern?: string;
  method?: string;
}

async function admin(stackUrl: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${stackUrl}/_emulator/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} /_emulator/${route}: HTTP ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
}

export const injectFault = (stackUrl: string, fault: Fault) => admin(stackUrl, 'POST', 'faults', fault) as Promise<{ id: string }>;
export const clearFaults = (stackUrl: string) => admin(stackUrl, 'DELETE', 'faults');
export const requestCounts = (stackUrl: string) => admin(stackUrl, 'GET', 'requests') as Promise<Record<string, number>>;

/** Sum of the request counts whose `METHOD route-template` key matches. */
export async function countRequests(stackUrl: string, key: RegExp): Promise<number> {
  const counts = await requestCounts(stackUrl);
  return Object.entries(counts).reduce((sum, [k, n]) => (key.test(k) ? sum + n : sum), 0);
}

/**
 * Holds every request to `pathPattern` of an emulated stack for `latencyMs` (a latency fault); `hits()` answers
 * how many requests the fault has held so far.
 */
export async function holdRequests(stackUrl: string, pathPattern: string, latencyMs: number): Promise<{ hits(): Promise<number> }> {
  const fault = await injectFault(stackUrl, { kind: 'latency', latencyMs, pathPattern });
  return {
    hits: async () => ((await (await fetch(`${stackUrl}/_emulator/faults`)).json()) as Array<{ id: string; hits: number }>).find((f) => f.id === fault.id)?.hits ?? 0,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------------------------------------ worker processes

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  /** Its Temporal identity (from its start-up log line), as pending activities name their worker. */
  identity(): string | undefined;
  /** SIGKILL: no graceful shutdown, no last heartbeat. */
  kill(): Promise<void>;
  /** SIGTERM: the worker drains. */
  stop(): Promise<void>;
}

/**
 * Starts a worker process, compiled as `npm run worker` runs it (scripts/worker-process.ts), as its own process
 * group, and resolves once it polls its task queue. `workDir` gives it a working folder of its own (its current
 * folder and temporary files), as a worker on another machine would have.
 */
export async function spawnWorker(env: NodeJS.ProcessEnv, readyTimeoutMs = 120_000, workDir?: string): Promise<WorkerProcess> {
  compileWorker();
  const local = workDir ? { TMPDIR: workDir } : {};
  const child = spawn(process.execPath, workerNodeArgs(), {
    cwd: workDir ?? PROJECT_ROOT,
    env: { ...process.env, ...local, ...env, ...WORKER_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, signal); // the group: the worker and the child that builds its workflow bundle
    } catch {
      child.kill(signal);
    }
    await exited;
  };
  try {
    await waitUntil('the worker process to poll', async () => {
      if (child.exitCode !== null) throw new Error(`the worker process exited with ${child.exitCode}: ${output}`);
      return /stack-migrate worker(:| started)|"state":"RUNNING"/.test(output);
    }, readyTimeoutMs, 100);
  } catch (error) {
    await end('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  const identity = /"identity":"([^"]+)"/.exec(output)?.[1];
  return { child, output: () => output, identity: () => identity, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

// ------------------------------------------------------------------------------------------------ comparison

/** Every row of a table, as JSON strings, sorted: two stacks may export rows in any order. */
export async function tableRows(client: StackClient, tableId: string): Promise<string[]> {
  return (await exportTableRows(client, tableId)).map((row) => JSON.stringify(row)).sort();
}

export interface Comparison {
  /** Entities present more than once in the destination, or present there but not in the source. */
  duplicates: string[];
  /** Entities missing from the destination, or whose data differs from the source. */
  mismatches: string[];
  counts: { buckets: number; tables: number; configurations: number; configurationRows: number; rows: number };
}

function extras(label: string, sourceIds: string[], destinationIds: string[]): string[] {
  const out: string[] = [];
  const seen = new Map<string, number>();
  for (const id of destinationIds) seen.set(id, (seen.get(id) ?? 0) + 1);
  const source = new Set(sourceIds);
  for (const [id, n] of seen) {
    if (n > 1) out.push(`${label} ${id} ×${n}`);
    if (!source.has(id)) out.push(`${label} ${id} is not in the source`);
  }
  return out;
}

/**
 * Compares what a migration copies: own buckets, tables (with every row), configurations with their rows.
 * Linked and system buckets are skipped on purpose (docs/domain.md#skipped-and-reported), so they are not expected in the destination.
 */
export async function compareProjects(source: StackClient, destination: StackClient, options: { compareRows?: boolean } = {}): Promise<Comparison> {
  const duplicates: string[] = [];
  const mismatches: string[] = [];
  const sourceBuckets = (await source.buckets.list()).filter((b) => !b.sourceBucket && !b.isLinkedBucket && !b.id.startsWith('sys.'));
  const destinationBuckets = await destination.buckets.list();
  duplicates.push(...extras('bucket', sourceBuckets.map((b) => b.id), destinationBuckets.map((b) => b.id)));
  const bucketIds = new Set(sourceBuckets.map((b) => b.id));
  for (const id of bucketIds) if (!destinationBuckets.some((b) => b.id === id)) mismatches.push(`bucket ${id} is missing`);

  const sourceTables = (await source.tables.list()).filter((t) => bucketIds.has(t.bucket?.id ?? t.id.split('.').slice(0, 2).join('.')));
  const destinationTables = await destination.tables.list();
  duplicates.push(...extras('table', sourceTables.map((t) => t.id), destinationTables.map((t) => t.id)));
  let rows = 0;
  for (const table of sourceTables) {
    const copy = destinationTables.find((t) => t.id === table.id);
    if (!copy) {
      mismatches.push(`table ${table.id} is missing`);
      continue;
    }
    if (JSON.stringify(copy.columns) !== JSON.stringify(table.columns)) mismatches.push(`table ${table.id}: columns differ`);
    if (table.isAlias) continue;
    rows += table.rowsCount ?? 0;
    if (copy.rowsCount !== table.rowsCount) mismatches.push(`table ${table.id}: ${copy.rowsCount} rows, the source has ${table.rowsCount}`);
    if (options.compareRows !== false) {
      const [expected, actual] = await Promise.all([tableRows(source, table.id), tableRows(destination, table.id)]);
      if (expected.length !== actual.length || expected.some((row, i) => row !== actual[i])) mismatches.push(`table ${table.id}: the rows differ from the source`);
    }
  }

  // Legacy orchestrations get new IDs in the destination (docs/domain.md#restore-order): they are matched by name instead.
  const configurationKeys = async (client: StackClient) =>
    (await client.components.list()).flatMap((c) =>
      (c.configurations ?? []).map((cfg) => {
        const key = c.id === 'orchestrator' ? `${c.id}/name:${cfg.name}` : `${c.id}/${cfg.id}`;
        return { key, rows: (cfg.rows ?? []).map((r) => `${key}/${r.id}`) };
      }),
    );
  const sourceConfigurations = await configurationKeys(source);
  const destinationConfigurations = await configurationKeys(destination);
  duplicates.push(...extras('configuration', sourceConfigurations.map((c) => c.key), destinationConfigurations.map((c) => c.key)));
  duplicates.push(...extras('configuration row', sourceConfigurations.flatMap((c) => c.rows), destinationConfigurations.flatMap((c) => c.rows)));
  for (const cfg of sourceConfigurations) {
    const copy = destinationConfigurations.find((c) => c.key === cfg.key);
    if (!copy) mismatches.push(`configuration ${cfg.key} is missing`);
    else if (copy.rows.length !== cfg.rows.length) mismatches.push(`configuration ${cfg.key}: ${copy.rows.length} rows, the source has ${cfg.rows.length}`);
  }

  // Entities that get new IDs: no two copies of one trigger (what it runs, its tables) or of one GoodData project (its marker).
  const triggerKeys = (await destination.triggers.list()).map((t) => `${t.component}/${t.configurationId} on ${t.tables.map((x) => x.tableId).sort().join(',')}`);
  duplicates.push(...extras('trigger', triggerKeys, triggerKeys).filter((d) => d.includes('×')));
  if (await destination.gooddata.serviceUrl()) {
    const summaries = (await destination.gooddata.listProjects()).map((p) => p.summary || p.title);
    duplicates.push(...extras('GoodData project', summaries, summaries).filter((d) => d.includes('×')));
  }
  return {
    duplicates,
    mismatches,
    counts: {
      buckets: destinationBuckets.length,
      tables: destinationTables.length,
      configurations: destinationConfigurations.length,
      configurationRows: destinationConfigurations.reduce((sum, c) => sum + c.rows.length, 0),
      rows,
    },
  };
}
