// Stubbed activities for workflow tests (the Temporal samples' style): a small project answered without stacks;
// `calls` records the order in which the workflow called them.
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { MigrationActivities } from '../../activities';
import { startTestTemporal, TEMPORAL_STARTUP_TIMEOUT_MS, type TestTemporal } from './temporal';
import type { MigrationInputDraft } from '../../workflows/input';
import { summarizeVerification, type RestoreOutcome, type ValidationReport } from '../../workflows/types';

const project = { id: 1, name: 'p', region: 'us-east-1', backend: 'snowflake' };
export const validation = (blockers = 0): ValidationReport => ({
  sourceProject: project,
  destinationProject: { ...project, id: 2 },
  findings: Array.from({ length: blockers }, (_, i) => ({ code: 'DESTINATION_NOT_EMPTY', severity: 'blocker' as const, entity: `bucket ${i}`, message: 'not empty', action: 'use an empty project' })),
  plan: { buckets: 2, tables: 3, aliases: 1, configurations: 2, configurationRows: 0, rows: 30, bytes: 300 },
});
export const outcome = (created: string[], skipped: RestoreOutcome['skipped'] = []): RestoreOutcome => ({ created, existing: [], skipped });
export const TABLES = ['in.c-a.one', 'in.c-a.two', 'in.c-b.three'];
/** A group of tables restored as their snapshot says: what `restoreTableGroup` answers when nothing differs. */
export const verified = (tableIds: string[]) => summarizeVerification(tableIds.map((tableId) => ({ tableId, expected: { rows: 10, checksum: 'm3:00' }, actual: { rows: 10, checksum: 'm3:00' }, ok: true })));

/** Every activity the workflows call, answering a small project; `calls` records their order. */
export function stubActivities(calls: string[], overrides: Partial<MigrationActivities> = {}): Partial<MigrationActivities> {
  const stubs: Partial<MigrationActivities> = {
    validateMigration: async () => validation(),
    validateRestore: async () => validation(),
    inspectSnapshot: async () => ({ snapshotDir: '/snap', bucketCount: 3, dataTableCount: TABLES.length, aliasCount: 1, configurationCount: 2 }),
    snapshotProjectMetadata: async () => ({ snapshotDir: '/snap', bucketCount: 3, dataTableCount: TABLES.length, aliasCount: 1, configurationCount: 2 }),
    splitTableBatch: async () => ({ grouped: TABLES.slice(0, 2), alone: TABLES.slice(2) }),
    snapshotTableGroup: async ({ tableIds }) => tableIds.map(() => 30),
    fingerprintTableGroup: async ({ tableIds }) => tableIds.map(() => 10),
    restoreTableGroup: async ({ tableIds }) => verified(tableIds),
    snapshotOrchestrations: async () => ({ orchestrations: 1, triggers: 2 }),
    finalizeSnapshot: async () => ({ formatVersion: 1, createdAt: '', source: { url: '', projectId: 1 }, counts: { buckets: 0, tables: 0, aliases: 0, configurations: 0, configurationRows: 0 }, bytes: 0, tables: [] }),
    restoreBranchMetadata: async () => outcome(['KBC.projectDescription']),
    restoreBuckets: async () => outcome(['in.c-a', 'in.c-b'], [{ id: 'in.c-shared', reason: 'linked bucket: link it again' }]),
    restoreAliases: async () => outcome(['in.c-b.alias']),
    countSnapshotConfigurations: async () => 2,
    restoreConfigurations: async () => outcome(['keboola.ex-http/1'], [{ id: 'kds-team.app-gone/2', reason: 'the component does not exist on the destination stack' }]),
    verifyConfigurations: async () => ({ checked: 1, mismatches: [] }),
    repairConfigurations: async ({ configurations }) => ({ repaired: configurations }),
    restoreOrchestrations: async () => ({ created: ['901'], existing: [], skipped: [], idMap: [{ type: 'orchestration' as const, oldId: '11', newId: '901', name: 'nightly' }] }),
    rewriteOrchestrationReferences: async () => ({ updated: ['keboola.orchestrator/flow'] }),
    restoreTriggers: async ({ idMap }) => outcome(idMap?.length ? ['t-1'] : [], [{ id: '7', reason: 'its table in.c-x.gone is not in the destination' }]),
    restoreNotifications: async ({ idMap }) => outcome(idMap?.length ? ['sub-1'] : []),
    restorePermanentFiles: async () => outcome(['6001'], [{ id: 'big.bin', reason: 'the snapshot holds no content for it' }]),
    provisionSnowflakeWriters: async () => ({ ...outcome(['keboola.wr-db-snowflake/w1']), moved: [{ configuration: 'keboola.wr-db-snowflake/w1', workspaceId: '5', sharedWith: [] }], customerOwned: [] }),
    moveGoodDataProjects: async () => ({ ...outcome(['keboola.gooddata-writer/g1']), moved: [], idMap: [{ type: 'GoodData project (keboola.gooddata-writer/g1)', oldId: 'old-pid', newId: 'new-pid' }] }),
    migrateSecrets: async () => ({ migrated: ['keboola.ex-db-mysql/m1'], failed: [{ configuration: 'keboola.ex-db-mysql/m2', error: 'cannot be decrypted' }], skipped: [] }),
    verifyCreatedEntities: async () => ({ orchestrations: 1, triggers: 1, workspaces: 1, goodDataProjects: 0, lateCopiesRemoved: [] }),
    writeReport: async () => ({ json: '/r.json', markdown: '/r.md', html: '/r.html', checklistItems: 3 }),
    cleanupDestination: async () => ({ deletedBuckets: [], deletedConfigurations: [], destinationEmpty: true, remaining: [] }),
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(stubs).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        calls.push(name);
        return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  );
}

export const ref = (name: string) => ({ url: `https://${name}.example.com`, projectId: 1, tokenRef: `env:${name.toUpperCase()}_TOKEN`, name });
export const migration = (extra: Partial<MigrationInputDraft> = {}): MigrationInputDraft => ({ source: ref('us'), destination: ref('eu'), requireApproval: false, ...extra });


/**
 * A real Temporal server and the workflows' bundle for a test file; `run` runs `body` while a worker with the stubbed
 * activities (and `overrides`) polls a fresh task queue.
 */
export function useStubbedWorkers(prefix: string) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  let bundle: WorkflowBundleWithSourceMap;
  const env = {
    temporal: undefined as unknown as TestTemporal,
    async run<T>(calls: string[], overrides: Partial<MigrationActivities>, body: (taskQueue: string) => Promise<T>): Promise<T> {
      const taskQueue = `${prefix}-${randomUUID()}`;
      const worker = await Worker.create({ connection: env.temporal.nativeConnection, namespace: env.temporal.namespace, taskQueue, workflowBundle: bundle, activities: stubActivities(calls, overrides) });
      return worker.runUntil(body(taskQueue));
    },
  };
  beforeAll(async () => {
    env.temporal = await startTestTemporal();
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('WARN') });
  }, TEMPORAL_STARTUP_TIMEOUT_MS);
  afterAll(() => env.temporal?.teardown());
  return env;
}
