// One worker process per size, so that its RSS is its own (VmHWM from /proc), with its /metrics endpoint on for
// the adaptive limiter of each stack (stack/limiter.ts), which lives in the worker.
import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { BenchContext } from './context';
import { freePort, procCpuSeconds, procStatus, spawnNode, stop } from './processes';
import { workerNodeArgs, WORKER_ENV } from '../worker-process';

/** One stack's limiter over a run, sampled from the worker's /metrics. */
export interface StackLimiter {
  /** the limit at the end of the run: what it settled on */
  limit: number;
  lowestLimit: number;
  peakInFlight: number;
  decreases: number;
}

export interface WorkerMeasures {
  peakRssMb: number;
  /** What the RSS is made of, at its peaks (the worker's /metrics): V8's heap in use and the buffers outside it. */
  peakHeapUsedMb: number;
  peakExternalMb: number;
  /** CPU seconds the worker used from startSampling() to finish(). */
  cpuSeconds: number;
  /** by stack: `source`, `destination` */
  limiters: Record<string, StackLimiter>;
}

export interface BenchWorker {
  taskQueue: string;
  pid: number;
  idleRssMb: number;
  startSampling(): void;
  /** Stops sampling and the worker. */
  finish(): Promise<WorkerMeasures>;
}

const LIMITER_LINE = /^stack_migrate_stack_(concurrency_limit|requests_in_flight|concurrency_decreases)\{stack="([^"]+)"\} (\S+)$/gm;

const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0) / 1e6;

async function readMetrics(metricsUrl: string, stackNames: Record<string, string>) {
  const text = await (await fetch(metricsUrl)).text();
  return { limiters: readLimiters(text, stackNames), heapUsedMb: gauge(text, 'stack_migrate_process_nodejs_heap_size_used_bytes'), externalMb: gauge(text, 'stack_migrate_process_nodejs_external_memory_bytes') };
}

function readLimiters(text: string, stackNames: Record<string, string>): Record<string, { limit: number; inFlight: number; decreases: number }> {
  const out: Record<string, { limit: number; inFlight: number; decreases: number }> = {};
  for (const [, metric, origin, value] of text.matchAll(LIMITER_LINE)) {
    const stack = (out[stackNames[origin] ?? origin] ??= { limit: 0, inFlight: 0, decreases: 0 });
    if (metric === 'concurrency_limit') stack.limit = Number(value);
    else if (metric === 'requests_in_flight') stack.inFlight = Number(value);
    else stack.decreases = Number(value);
  }
  return out;
}

export async function startWorker(ctx: BenchContext, label: string): Promise<BenchWorker> {
  const taskQueue = `bench-${label}-${ctx.projectBase}`;
  const metricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
  const child = spawnNode(
    workerNodeArgs(),
    {
      ...process.env,
      TEMPORAL_ADDRESS: ctx.address,
      STACK_MIGRATE_TASK_QUEUE: taskQueue,
      STACK_MIGRATE_SNAPSHOT_ROOT: path.join(ctx.dataDir, 'snapshots'),
      STACK_MIGRATE_CODEC_KEY: ctx.codecKey,
      STACK_MIGRATE_LOG_LEVEL: 'WARN',
      STACK_MIGRATE_APP_METRICS_ADDRESS: new URL(metricsUrl).host,
      ...WORKER_ENV,
    },
    path.join(ctx.dataDir, `worker-${label}.log`),
  );
  await waitForPoller(ctx.client, taskQueue, () => child.exitCode);
  const pid = child.pid!;
  const stackNames = { [new URL(ctx.sourceUrl).origin]: 'source', [new URL(ctx.destinationUrl).origin]: 'destination' };
  const limiters: Record<string, StackLimiter> = {};
  const memory = { peakHeapUsedMb: 0, peakExternalMb: 0 };
  const sampleMetrics = async () => {
    const metrics = await readMetrics(metricsUrl, stackNames);
    memory.peakHeapUsedMb = Math.max(memory.peakHeapUsedMb, metrics.heapUsedMb);
    memory.peakExternalMb = Math.max(memory.peakExternalMb, metrics.externalMb);
    for (const [stack, now] of Object.entries(metrics.limiters)) {
      const seen = (limiters[stack] ??= { limit: now.limit, lowestLimit: now.limit, peakInFlight: 0, decreases: 0 });
      seen.limit = now.limit;
      seen.lowestLimit = Math.min(seen.lowestLimit, now.limit);
      seen.peakInFlight = Math.max(seen.peakInFlight, now.inFlight);
      seen.decreases = now.decreases;
    }
  };
  let peakRss = 0;
  let cpuAtStart = 0;
  const timers: NodeJS.Timeout[] = [];
  return {
    taskQueue,
    pid,
    idleRssMb: procStatus(pid, 'VmRSS'),
    startSampling() {
      cpuAtStart = procCpuSeconds(pid);
      timers.push(setInterval(() => (peakRss = Math.max(peakRss, procStatus(pid, 'VmRSS'))), 200));
      timers.push(setInterval(() => void sampleMetrics().catch(() => undefined), 500)); // a missed sample is no loss; finish() reads once more
    },
    async finish() {
      for (const timer of timers) clearInterval(timer);
      await sampleMetrics();
      const peakRssMb = Math.max(peakRss, procStatus(pid, 'VmHWM'));
      const cpuSeconds = procCpuSeconds(pid) - cpuAtStart;
      await stop(child);
      return { peakRssMb, ...memory, cpuSeconds, limiters };
    },
  };
}

async function waitForPoller(client: Client, taskQueue: string, exitCode: () => number | null): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (exitCode() !== null) throw new Error(`the worker exited with code ${exitCode()}; see its log`);
    const answer = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if ((answer.pollers ?? []).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the worker did not poll within 120 s');
}
