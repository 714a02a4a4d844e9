// Writers move to the destination stack inside a whole migration on a real Temporal server: provisioned Snowflake
// writers log in to their new workspace (shared users share one), the customer-owned writer is listed, the GoodData
// project moves with its data, and secrets migration reports its one failing configuration while the rest succeed.
import { promises as fs } from 'node:fs';
import { startMigration } from '../../client/commands/start';
import type { MigrationReport } from '../../activities/report-model';
import { useHarness } from '../helpers/harness';
import { Api } from '../emulator/util';

const h = useHarness();
process.env.STACK_MIGRATE_IT_MANAGE_TOKEN = 'us-manage-token-stack-migrate';

test('a migration moves writers to the destination stack and reports each move', async () => {
  const result = await h.withWorker(async (taskQueue) => {
    const handle = await startMigration(h.client, taskQueue, {
      source: h.stacks.sourceRef,
      destination: h.stacks.destinationRef,
      requireApproval: false,
      manageTokenRef: 'env:STACK_MIGRATE_IT_MANAGE_TOKEN',
    });
    return handle.result();
  });
  expect(result.outcome).toBe('completed');
  const report = JSON.parse(await fs.readFile(result.report!.json, 'utf8')) as MigrationReport;
  const dst = new Api(h.stacks.destination.url, h.stacks.tokens.destination);
  const src = new Api(h.stacks.source.url, h.stacks.tokens.source);

  // Provisioned writers: one workspace per source user; each writer logs in with its (destination-encrypted) password.
  const moved = new Map(report.writers.snowflake.map((w) => [w.configuration, w.workspaceId]));
  expect(moved.get('keboola.wr-db-snowflake/wr-sales-mart')).toBe(moved.get('keboola.wr-db-snowflake/wr-finance-mart'));
  expect(new Set(moved.values()).size).toBe(2);
  for (const configuration of moved.keys()) {
    const [componentId, configId] = configuration.split('/');
    const db = (await dst.get(`/v2/storage/branch/default/components/${componentId}/configs/${configId}`)).body.configuration.parameters.db;
    expect(db.host).toBe('keboola.eu-central-1.snowflakecomputing.com');
    const plain = (await dst.post('/_emulator/encryption/decrypt', { value: db['#password'] })).body;
    expect(plain).toMatchObject({ projectId: 201, componentId });
    expect((await dst.post('/_emulator/snowflake/login', { host: db.host, user: db.user, password: plain.plain })).body.result).toBe('ok');
  }
  // Their passwords need no human; the customer-owned writer's does.
  expect(report.checklist.secrets.filter((s) => moved.has(s.configuration) && s.path === 'parameters.db.#password')).toEqual([]);
  expect(report.checklist.customerOwnedWriters).toEqual([{ configuration: 'keboola.wr-db-snowflake/wr-customer-dwh', host: 'acme.eu-west-1.snowflakecomputing.com' }]);

  // GoodData: a new project in the destination's GoodData with the same model and data, in the ID map.
  const [goodData] = report.writers.goodData;
  expect(goodData).toMatchObject({ configuration: 'keboola.gooddata-writer/gd-sales', oldProjectId: 'k3x9salesdash101' });
  const [from, to] = [(await src.get('/_emulator/gooddata/projects/k3x9salesdash101')).body, (await dst.get(`/_emulator/gooddata/projects/${goodData.newProjectId}`)).body];
  expect({ model: to.model, data: to.data }).toEqual({ model: from.model, data: from.data });
  expect(report.idMap).toEqual(expect.arrayContaining([expect.objectContaining({ oldId: 'k3x9salesdash101', newId: goodData.newProjectId })]));

  // Secrets: re-encrypted where possible; the one that failed stays on the checklist with its error.
  expect(report.writers.secretsMigrated.length).toBeGreaterThan(0);
  const failed = report.checklist.secrets.filter((s) => s.error);
  expect(failed.map((s) => s.configuration)).toEqual(['keboola.ex-db-mysql/mysql-legacy-erp']);
  for (const configuration of report.writers.secretsMigrated) expect(report.checklist.secrets.map((s) => s.configuration)).not.toContain(configuration);
  expect(await fs.readFile(result.report!.markdown, 'utf8')).toContain('re-encryption failed');
});
