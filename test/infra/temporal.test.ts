/**
 * The Temporal infrastructure itself, on a real server (never time-skipping, never a fake):
 * the CLI resolver, the dev server started by the SDK with our search attributes, a bundled worker running a workflow,
 * and startDevServer() keeping a running workflow across a restart on the same SQLite file.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { resolveTemporalCli } from '../../scripts/temporal-cli';
import { startDevServer } from '../../scripts/temporal-server';
import * as activities from '../fixtures/infra-activities';
import { finishSignal, infraHello, infraWaitForSignal } from '../fixtures/infra-workflows';
import {
  INDEXED_VALUE_TYPE_KEYWORD,
  SEARCH_ATTRIBUTES,
  SEARCH_ATTRIBUTE_LIST,
  startTestTemporal,
  TEMPORAL_STARTUP_TIMEOUT_MS,
  TestTemporal,
} from '../helpers/temporal';

const workflowsPath = require.resolve('../fixtures/infra-workflows');

describe('resolveTemporalCli', () => {
  const saved = process.env.TEMPORAL_CLI_PATH;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEMPORAL_CLI_PATH;
    else process.env.TEMPORAL_CLI_PATH = saved;
  });

  test('finds a working binary, and TEMPORAL_CLI_PATH wins', async () => {
    const found = await resolveTemporalCli({ build: true });
    process.env.TEMPORAL_CLI_PATH = found;
    await expect(resolveTemporalCli({ build: false })).resolves.toBe(found);
  }, TEMPORAL_STARTUP_TIMEOUT_MS);

  test('a TEMPORAL_CLI_PATH that is not the CLI fails with a clear message', async () => {
    process.env.TEMPORAL_CLI_PATH = '/nonexistent/temporal';
    await expect(resolveTemporalCli({ build: false })).rejects.toThrow(/TEMPORAL_CLI_PATH=\/nonexistent\/temporal/);
  });
});

describe('startTestTemporal (dev server via the SDK)', () => {
  let t: TestTemporal | undefined;
  beforeAll(async () => {
    t = await startTestTemporal();
  }, TEMPORAL_STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t?.teardown();
  });

  test('our search attributes are registered as Keyword', async () => {
    const { customAttributes } = await t!.client.connection.operatorService.listSearchAttributes({ namespace: t!.namespace });
    for (const key of SEARCH_ATTRIBUTE_LIST) {
      expect(customAttributes?.[key.name]).toBe(INDEXED_VALUE_TYPE_KEYWORD);
    }
  });

  test('a workflow runs end to end on a bundled worker', async () => {
    const taskQueue = `infra-${randomUUID()}`;
    const workflowId = `infra-hello-${randomUUID()}`;
    const worker = await Worker.create({
      connection: t!.nativeConnection,
      namespace: t!.namespace,
      taskQueue,
      workflowsPath,
      activities,
    });
    const result = await worker.runUntil(
      t!.client.workflow.execute(infraHello, { taskQueue, workflowId, args: ['stack'] })
    );
    expect(result).toBe('hello stack');
    const description = await t!.client.workflow.getHandle(workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.MigrationStep)).toBe('done');
  });
});

describe('startDevServer', () => {
  test('a running workflow survives restart() on the same db file', async () => {
    const server = await startDevServer({ headless: true });
    const taskQueue = `infra-restart-${randomUUID()}`;
    const workflowId = `infra-restart-${randomUUID()}`;
    try {
      let connection = await Connection.connect({ address: server.address });
      let client = new Client({ connection, namespace: server.namespace });
      const started = await client.workflow.start(infraWaitForSignal, { taskQueue, workflowId });
      await connection.close();

      await server.restart();

      connection = await Connection.connect({ address: server.address });
      client = new Client({ connection, namespace: server.namespace });
      try {
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        expect(description.status.name).toBe('RUNNING');
        expect(description.runId).toBe(started.firstExecutionRunId);
        // the search attributes are still registered after a restart on an existing db
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: server.namespace });
        expect(Object.keys(customAttributes ?? {})).toEqual(expect.arrayContaining(SEARCH_ATTRIBUTE_LIST.map((k) => k.name)));

        const nativeConnection = await NativeConnection.connect({ address: server.address });
        try {
          const worker = await Worker.create({
            connection: nativeConnection,
            namespace: server.namespace,
            taskQueue,
            workflowsPath,
            activities,
          });
          const result = await worker.runUntil(async () => {
            await handle.signal(finishSignal, 'after-restart');
            return await handle.result();
          });
          expect(result).toBe(`${workflowId}:after-restart`);
        } finally {
          await nativeConnection.close();
        }
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
  }, TEMPORAL_STARTUP_TIMEOUT_MS);
});
