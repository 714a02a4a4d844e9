// Configuration errors name the value that is wrong; the time-left estimate follows progress and elapsed time.
import { loadTemporalSettings, ConfigError } from '../../temporal/settings';
import { estimateRemaining, formatEstimate } from '../../client/commands/status';
import { workerConfigFromEnv } from '../../worker/main';
import { emptyProgress, type MigrationStatus } from '../../workflows/types';

const clean = { HOME: '/nonexistent', TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };

describe('configuration', () => {
  test('defaults, flags over environment, and an API key implies TLS', () => {
    expect(loadTemporalSettings({}, clean)).toMatchObject({ address: 'localhost:7233', namespace: 'default', taskQueue: 'stack-migrate' });
    const cloud = loadTemporalSettings({ namespace: 'prod.a1b2c' }, { ...clean, TEMPORAL_ADDRESS: 'prod.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ignored', TEMPORAL_API_KEY: 'k' });
    expect(cloud).toMatchObject({ address: 'prod.a1b2c.tmprl.cloud:7233', namespace: 'prod.a1b2c', connection: { apiKey: 'k', tls: true } });
  });

  test('errors say which value is wrong and where it came from, never a secret', () => {
    expect(() => loadTemporalSettings({}, { ...clean, TEMPORAL_ADDRESS: 'http://x' })).toThrow(/TEMPORAL_ADDRESS="http:\/\/x": must be host:port/);
    expect(() => loadTemporalSettings({ taskQueue: 'a b' }, clean)).toThrow(/--task-queue="a b": must not contain spaces/);
    expect(() => loadTemporalSettings({}, { ...clean, TEMPORAL_CONFIG_FILE: '/nonexistent/x.toml', TEMPORAL_PROFILE: 'prod' })).toThrow(ConfigError);
    expect(() => workerConfigFromEnv({ ...clean, STACK_MIGRATE_MAX_ACTIVITIES: '0' })).toThrow(/STACK_MIGRATE_MAX_ACTIVITIES="0": must be at least 1/);
    expect(() => workerConfigFromEnv({ ...clean, STACK_MIGRATE_SHUTDOWN_GRACE: 'soon' })).toThrow(/STACK_MIGRATE_SHUTDOWN_GRACE="soon": must be a duration/);
    expect(() => workerConfigFromEnv({ ...clean, STACK_MIGRATE_METRICS_ADDRESS: ':9464' })).toThrow(/STACK_MIGRATE_METRICS_ADDRESS/);
    expect(workerConfigFromEnv({ ...clean, STACK_MIGRATE_LOG_LEVEL: 'debug', STACK_MIGRATE_APP_METRICS_ADDRESS: '0.0.0.0:9100' })).toMatchObject({ logLevel: 'DEBUG', appMetrics: { host: '0.0.0.0', port: 9100 } });
  });

  test('a build ID makes the worker a versioned one of its deployment; a deployment name alone is an error', () => {
    expect(workerConfigFromEnv(clean).deployment).toBeUndefined();
    expect(workerConfigFromEnv({ ...clean, STACK_MIGRATE_BUILD_ID: '2026.12.01-3f2a1c' }).deployment).toEqual({ deploymentName: 'stack-migrate', buildId: '2026.12.01-3f2a1c' });
    expect(workerConfigFromEnv({ ...clean, STACK_MIGRATE_BUILD_ID: '7', STACK_MIGRATE_DEPLOYMENT_NAME: 'migrations-eu' }).deployment).toEqual({ deploymentName: 'migrations-eu', buildId: '7' });
    expect(() => workerConfigFromEnv({ ...clean, STACK_MIGRATE_BUILD_ID: 'v 2' })).toThrow(/STACK_MIGRATE_BUILD_ID="v 2": must be letters, digits/);
    expect(() => workerConfigFromEnv({ ...clean, STACK_MIGRATE_DEPLOYMENT_NAME: 'migrations-eu' })).toThrow(/without STACK_MIGRATE_BUILD_ID/);
  });
});

describe('time left', () => {
  const base = (): MigrationStatus => ({ workflowId: 'w', step: 'restoring', progress: emptyProgress(), failures: [], idMap: [], startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' });

  test('extrapolates the pace since the approval', () => {
    const status = base();
    status.approval = { decision: 'approved', by: 'b', at: '2026-01-01T01:00:00.000Z' };
    status.progress.tables = { total: 10, done: 5, failed: 0 };
    status.progress.tableData = { total: 20, done: 10, failed: 0 };
    const estimate = estimateRemaining(status, Date.parse('2026-01-01T01:10:00.000Z'))!;
    expect(estimate).toMatchObject({ fractionDone: 0.5, elapsedMs: 600_000, remainingMs: 600_000 });
    expect(formatEstimate(estimate)).toBe('50% done, 10m 00s elapsed, about 10m 00s left');
  });

  test('no estimate before the copy, without progress, or while paused', () => {
    expect(estimateRemaining({ ...base(), step: 'awaiting-approval' })).toBeUndefined();
    expect(estimateRemaining(base())?.remainingMs).toBeUndefined();
    const paused = { ...base(), paused: { by: 'support', at: '2026-01-01T00:00:00.000Z' } };
    paused.progress.tables = { total: 2, done: 1, failed: 0 };
    expect(formatEstimate(estimateRemaining(paused)!)).toContain('paused by support');
  });
});
