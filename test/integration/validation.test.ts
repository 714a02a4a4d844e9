// Every validation code, produced by real stacks and read through the dry-run workflow on a real Temporal server.
import type { WorkflowFailedError } from '@temporalio/client';
import { validateProject } from '../../workflows';
import type { SeedFile } from '../../emulator/seed';
import { readSeed, startStackPair, type StackPair } from '../../scripts/stack-pair';
import type { Finding, ValidationReport } from '../../workflows/types';
import type { MigrationInputDraft, StackRef } from '../../workflows/input';
import { useHarness } from '../helpers/harness';

const h = useHarness();

/** The sample project with one of every blocker added, and a destination that is neither empty nor writable. */
async function troubledSeeds(): Promise<{ sourceSeed: SeedFile; destinationSeed: SeedFile }> {
  const sourceSeed = await readSeed('source-us');
  const destinationSeed = await readSeed('destination-eu');
  sourceSeed.stack.components.push({ id: 'acme.app-in-house', type: 'application', name: 'In-house app (US only)' });
  const source = sourceSeed.projects[0];
  source.backends = ['snowflake', 'redshift'];
  source.configurations = [
    ...(source.configurations ?? []),
    { componentId: 'keboola.ex-restbox', id: 'restbox-1', name: 'Old REST API', configuration: { parameters: {} } },
    { componentId: 'keboola.ex-google-analytics', id: 'ga-1', name: 'Web traffic', configuration: { parameters: {} } },
    { componentId: 'acme.app-in-house', id: 'inhouse-1', name: 'Scoring', configuration: { parameters: {} } },
    {
      componentId: 'transformation',
      id: 'legacy-redshift',
      name: 'Redshift models',
      configuration: {},
      rows: [{ id: 'model', name: 'Model', configuration: { backend: 'redshift', type: 'simple', queries: ['select 1'] } }],
    },
    {
      componentId: 'keboola.snowflake-transformation',
      id: 'incremental',
      name: 'Recent orders',
      configuration: { storage: { input: { tables: [{ source: 'in.c-crm.orders', destination: 'orders', changed_since: '-1 days' }] } } },
    },
  ];
  const destination = destinationSeed.projects[0];
  destination.defaultBackend = 'bigquery';
  destination.backends = ['bigquery'];
  destination.tokens = destination.tokens.map((token) => ({ ...token, isMasterToken: false, canManageBuckets: false }));
  destination.buckets = [{ id: 'in.c-leftover', displayName: 'leftover' }];
  return { sourceSeed, destinationSeed };
}

async function validate(taskQueue: string, source: StackRef, destination: StackRef, options: MigrationInputDraft['options'] = {}): Promise<ValidationReport> {
  return h.client.workflow.execute(validateProject, { taskQueue, workflowId: `validate-${taskQueue}-${Math.random().toString(36).slice(2, 8)}`, args: [{ source, destination, options }] });
}

const codes = (findings: Finding[], severity: Finding['severity']) => [...new Set(findings.filter((f) => f.severity === severity).map((f) => f.code))].sort();

describe('validation', () => {
  let troubled: StackPair | undefined;
  afterEach(async () => {
    await troubled?.close();
    troubled = undefined;
  });

  test('reports each blocker and warning with its code, the entity and what to do', async () => {
    const pair = await startStackPair({ jobDelayMs: 10, ...(await troubledSeeds()), tokenVariables: { source: 'TROUBLED_SOURCE', destination: 'TROUBLED_DESTINATION' } });
    troubled = pair;
    await h.withWorker(async (taskQueue) => {
      const report = await validate(taskQueue, pair.sourceRef, { ...pair.destinationRef, projectId: 999 });
      expect(codes(report.findings, 'blocker')).toEqual([
        'BACKEND_MISMATCH',
        'DEPRECATED_COMPONENT',
        'DESTINATION_NOT_EMPTY',
        'DESTINATION_PROJECT_MISMATCH',
        'DESTINATION_TOKEN_READ_ONLY',
        'LEGACY_COMPONENT',
        'LEGACY_TRANSFORMATION_BACKEND',
        'REDSHIFT_BACKEND',
      ]);
      // A component the destination lacks is skipped with a warning, as Keboola's restore skips it.
      expect(codes(report.findings, 'warning')).toEqual(['COMPONENT_MISSING', 'ENCRYPTED_VALUES', 'INCREMENTAL_CHANGED_SINCE', 'LINKED_BUCKET', 'OAUTH_AUTHORIZATION', 'SSH_TUNNEL']);
      for (const finding of report.findings) {
        expect(finding.message.length).toBeGreaterThan(10);
        expect(finding.action.length).toBeGreaterThan(10);
      }
      const byCode = (code: string) => report.findings.find((f) => f.code === code)!;
      expect(byCode('LEGACY_COMPONENT').entity).toContain('keboola.ex-restbox');
      expect(byCode('DEPRECATED_COMPONENT').entity).toContain('keboola.ex-google-analytics');
      expect(byCode('COMPONENT_MISSING').entity).toContain('acme.app-in-house');
      expect(byCode('LEGACY_TRANSFORMATION_BACKEND').entity).toContain('transformation/legacy-redshift');
      expect(byCode('INCREMENTAL_CHANGED_SINCE').entity).toContain('keboola.snowflake-transformation/incremental');
      expect(byCode('DESTINATION_PROJECT_MISMATCH').message).toContain('not to project 999');
      expect(byCode('COMPONENT_MISSING').message).toContain('its configurations are skipped');
      expect(report.plan.tables).toBeGreaterThan(0);
      expect(report.plan.bytes).toBeGreaterThan(0);
      // the rows counted from the bodies, read a component at a time; legacy orchestrations are configurations too
      const seeded = (await troubledSeeds()).sourceSeed.projects[0];
      const configurations = seeded.configurations ?? [];
      expect(report.plan).toMatchObject({
        configurations: configurations.length + (seeded.orchestrations?.length ?? 0),
        configurationRows: configurations.reduce((sum, c) => sum + (c.rows?.length ?? 0), 0),
      });
      expect(report.plan.configurationRows).toBeGreaterThan(0);

      // Strict mode makes it a blocker; --skip-component leaves it out and says so.
      const strict = await validate(taskQueue, pair.sourceRef, pair.destinationRef, { strictComponents: true });
      expect(strict.findings.find((f) => f.code === 'COMPONENT_MISSING')).toMatchObject({ severity: 'blocker', entity: expect.stringContaining('acme.app-in-house') });
      const skipping = await validate(taskQueue, pair.sourceRef, pair.destinationRef, { strictComponents: true, skipComponents: ['acme.app-in-house'] });
      expect(skipping.findings.map((f) => f.code)).not.toContain('COMPONENT_MISSING');
      expect(skipping.findings.find((f) => f.code === 'COMPONENT_SKIPPED')).toMatchObject({ severity: 'warning', entity: expect.stringContaining('acme.app-in-house') });
    });
  });

  test('invalid tokens and a wrong source project are blockers, not crashes', async () => {
    await h.withWorker(async (taskQueue) => {
      process.env.WRONG_TOKEN = '101-not-a-token';
      const bad = await validate(taskQueue, { ...h.stacks.sourceRef, tokenRef: 'env:WRONG_TOKEN' }, { ...h.stacks.destinationRef, tokenRef: 'env:WRONG_TOKEN' });
      expect(codes(bad.findings, 'blocker')).toEqual(['DESTINATION_TOKEN_INVALID', 'SOURCE_TOKEN_INVALID']);
      const mismatch = await validate(taskQueue, { ...h.stacks.sourceRef, projectId: 102 }, h.stacks.destinationRef);
      expect(codes(mismatch.findings, 'blocker')).toEqual(['SOURCE_PROJECT_MISMATCH']);
    });
  });

  test('a missing token variable on the worker fails at once with a message that says what to set', async () => {
    await h.withWorker(async (taskQueue) => {
      const failure = await validate(taskQueue, { ...h.stacks.sourceRef, tokenRef: 'env:NOT_SET_ANYWHERE' }, h.stacks.destinationRef).then(
        () => undefined,
        (error: WorkflowFailedError) => error,
      );
      const cause = failure?.cause?.cause as (Error & { type?: string }) | undefined;
      expect(cause?.type).toBe('InvalidToken');
      expect(cause?.message).toContain('NOT_SET_ANYWHERE');
      expect(cause?.message).toContain('restart the worker');
    });
  });

  test("a provisioned Snowflake writer's password is not reported for re-entry; a customer-owned writer's is", async () => {
    await h.withWorker(async (taskQueue) => {
      const report = await validate(taskQueue, h.stacks.sourceRef, h.stacks.destinationRef);
      const secrets = report.findings.filter((f) => f.code === 'ENCRYPTED_VALUES').map((f) => f.entity ?? '');
      expect(secrets.some((e) => e.includes('keboola.wr-db-snowflake/wr-customer-dwh'))).toBe(true);
      for (const provisioned of ['keboola.wr-db-snowflake/wr-sales-mart', 'keboola.wr-db-snowflake/wr-finance-mart']) {
        expect(secrets.some((e) => e.includes(provisioned))).toBe(false);
      }
    });
  });
});
