// The worker's own metrics (prom-client), next to the SDK's (Runtime telemetry, worker/main.ts): what moved and
// what failed, for dashboards and alerts. Served as Prometheus text on GET /metrics.
import * as http from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MigrationMetrics } from '../activities/metrics';
import { stackLimiterStats, type LimiterStats } from '../stack/limiter';

export interface WorkerMetrics extends MigrationMetrics {
  registry: Registry;
}

export function createWorkerMetrics(options: { defaultMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'stack_migrate_process_' });
  const entities = new Counter({
    name: 'stack_migrate_entities_migrated_total',
    help: 'Entities created in destination projects, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'stack_migrate_bytes_copied_total',
    help: 'Table data bytes copied: export = source to snapshot, import = snapshot to destination',
    labelNames: ['direction'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'stack_migrate_activity_failures_total',
    help: 'Failed activity attempts, by activity and failure type',
    labelNames: ['activity', 'failure_type'] as const,
    registers: [registry],
  });
  const limiterGauge = (name: string, help: string, value: (stats: LimiterStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['stack'] as const,
      registers: [registry],
      collect() {
        for (const [stack, stats] of Object.entries(stackLimiterStats())) this.set({ stack }, value(stats));
      },
    });
  limiterGauge('stack_migrate_stack_concurrency_limit', 'Adaptive limit of requests in flight to each stack (stack/limiter.ts)', (s) => s.limit);
  limiterGauge('stack_migrate_stack_requests_in_flight', 'Requests in flight to each stack', (s) => s.inFlight);
  limiterGauge('stack_migrate_stack_concurrency_decreases', 'Times the limit of each stack was halved after a 429 or 5xx', (s) => s.decreases);
  return {
    registry,
    entitiesMigrated(type, count = 1) {
      if (count > 0) entities.inc({ type }, count);
    },
    bytesCopied(direction, n) {
      if (n > 0) bytes.inc({ direction }, n);
    },
    activityFailed(activity, failureType) {
      failures.inc({ activity, failure_type: failureType });
    },
  };
}

/** Counts every failed activity attempt by its failure type (the activities classify errors, activities/failures.ts). */
export function failureCountingInterceptor(metrics: MigrationMetrics): ActivityInterceptorsFactory {
  return (ctx) => {
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          const type = error instanceof ApplicationFailure ? (error.type ?? 'ApplicationFailure') : error instanceof Error ? error.name : 'Unknown';
          metrics.activityFailed(ctx.info.activityType, type);
          throw error;
        }
      },
    };
    return { inbound };
  };
}

/** GET /metrics (Prometheus text format) and GET /healthz. */
export function createMetricsServer(registry: Registry): http.Server {
  return http.createServer(async (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      try {
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(error instanceof Error ? error.message : String(error));
      }
      return;
    }
    if (req.method === 'GET' && url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    res.writeHead(404, { 'content-type': 'text/plain' }).end('use GET /metrics\n');
  });
}

export async function listen(server: http.Server, host: string, port: number): Promise<{ host: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return { host, port: typeof address === 'object' && address ? address.port : port };
}
