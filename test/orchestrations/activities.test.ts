/**
 * The orchestration and trigger activities against two emulated stacks (source US, destination EU), called
 * directly in a MockActivityEnvironment: snapshot, restore with new IDs and rewritten cross-references, Flow and
 * schedule references, triggers with new tokens; every step re-run to prove it creates nothing new.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { createActivityDeps } from '../../activities/deps';
import { createOrchestrationActivities, REFERENCES_REWRITTEN } from '../../activities/orchestrations';
import { DUPLICATES_REMOVED_FILE, type RemovedDuplicate } from '../../activities/created-once';
import { files } from '../../snapshot/layout';
import { injectFault } from '../../scripts/durability-tools';
import { createStackClient, type StackClient } from '../../stack';
import { readSeed, startStackPair, type StackPair } from '../../scripts/stack-pair';

let pair: StackPair;
let snapshotDir: string;
let source: StackClient;
let destination: StackClient;
let activities: ReturnType<typeof createOrchestrationActivities>;
const heartbeats: unknown[] = [];

function run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  const env = new MockActivityEnvironment();
  env.on('heartbeat', (details: unknown) => heartbeats.push(details));
  return env.run(fn, ...args);
}

/** The workers' environment (the stacks' tokens), filled in by startStackPair. */
const env: NodeJS.ProcessEnv = {};

beforeAll(async () => {
  const destinationSeed = await readSeed('destination-eu');
  // the destination offers the scheduler, so that a schedule of a legacy orchestration can be restored there
  destinationSeed.stack.components.push({ id: 'keboola.scheduler', type: 'other', name: 'Scheduler' });
  pair = await startStackPair({ jobDelayMs: 20, env, destinationSeed });
  snapshotDir = await fs.mkdtemp(path.join(os.tmpdir(), 'orchestrations-snapshot-'));
  source = createStackClient({ url: pair.source.url, token: pair.tokens.source });
  destination = createStackClient({ url: pair.destination.url, token: pair.tokens.destination });
  activities = createOrchestrationActivities(createActivityDeps({ snapshotRoot: snapshotDir, env }));

  // a second source trigger, on a table that the destination will not have: it must be skipped, not fail
  const runner = await source.tokens.create({ description: 'runner', canManageBuckets: true });
  await source.triggers.create({ runWithTokenId: runner.id, component: 'orchestration', configurationId: '123450001', coolDownPeriodMinutes: 5, tableIds: ['in.c-crm.customers'] });
  // the destination has the watched table of the seeded trigger (tables are restored before triggers)
  await destination.buckets.create({ name: 'crm', stage: 'in' });
  await destination.tables.createDefinition('in.c-crm', { name: 'orders', primaryKeysNames: ['id'], columns: [{ name: 'id', definition: { type: 'VARCHAR' } }] });
});
afterAll(() => pair?.close());

describe('legacy orchestrations and triggers', () => {
  let idMap: Array<{ oldId: string; newId: string; name: string }>;

  test('snapshotOrchestrations writes orchestrations.json and triggers.json, once', async () => {
    // the placeholder snapshotProjectMetadata writes is replaced
    await fs.writeFile(path.join(snapshotDir, 'triggers.json'), '[]');
    const counts = await run(activities.snapshotOrchestrations, { source: pair.sourceRef, snapshotDir });
    expect(counts).toEqual({ orchestrations: 3, triggers: 2 });
    const orchestrations = JSON.parse(await fs.readFile(path.join(snapshotDir, files.orchestrations), 'utf8'));
    expect(orchestrations.map((o: { id: number }) => o.id)).toEqual([123450001, 123450002, 123450003]);
    expect(orchestrations[2]).toMatchObject({ name: 'Nightly master', crontabRecord: '15 3 * * *', crontabTimezone: 'America/New_York' });
    expect(orchestrations[2].notifications).toHaveLength(3);
    expect(orchestrations[2].tasks).toHaveLength(3);
    const triggers = JSON.parse(await fs.readFile(path.join(snapshotDir, 'triggers.json'), 'utf8'));
    expect(triggers.map((t: { configurationId: string }) => t.configurationId).sort()).toEqual(['123450001', '123450002']);

    // the source changes; the snapshot does not
    await source.orchestrator.create({ name: 'after the snapshot' });
    expect(await run(activities.snapshotOrchestrations, { source: pair.sourceRef, snapshotDir })).toEqual({ orchestrations: 3, triggers: 2 });
    expect(JSON.parse(await fs.readFile(path.join(snapshotDir, files.orchestrations), 'utf8'))).toHaveLength(3);
  });

  test('restoreOrchestrations: new IDs, disabled, schedule, notifications and tasks copied, nested reference rewritten', async () => {
    // an earlier attempt created the first orchestration, with its marked token, and died before answering
    const orchestrator = destination.orchestrator;
    const marker = '[stack-migrate backup orchestration 123450001]'; // a snapshot without a manifest: a backup's restore
    const earlyToken = await destination.tokens.create({ description: `Orchestrator CRM extraction ${marker}`, canManageBuckets: true });
    const early = await orchestrator.create({ name: 'CRM extraction', active: false, tokenId: earlyToken.id });
    // an orchestration of the same name that is not the migration's is not taken for its copy
    const foreign = await orchestrator.create({ name: 'CRM extraction', active: false });

    const result = await run(activities.restoreOrchestrations, { destination: pair.destinationRef, snapshotDir });
    idMap = result.idMap;
    expect(idMap.map((m) => m.oldId)).toEqual(['123450001', '123450002', '123450003']);
    expect(idMap.map((m) => m.name)).toEqual(['CRM extraction', 'Revenue reporting', 'Nightly master']);
    for (const m of idMap) expect(m.newId).not.toBe(m.oldId);
    expect(result.existing).toEqual([String(early.id)]);
    expect(result.created).toHaveLength(2);
    expect(idMap.map((m) => m.newId)).not.toContain(String(foreign.id));
    await orchestrator.delete(foreign.id);
    expect(heartbeats.length).toBeGreaterThan(0);

    const newId = (old: string) => idMap.find((m) => m.oldId === old)!.newId;
    const all = await orchestrator.list();
    expect(all).toHaveLength(3);
    expect(all.every((o) => o.active === false)).toBe(true);

    const nightly = (await orchestrator.get(newId('123450003')))!;
    const original = (await source.orchestrator.get(123450003))!;
    expect(nightly).toMatchObject({ name: 'Nightly master', crontabRecord: '15 3 * * *', crontabTimezone: 'America/New_York', active: false });
    expect(nightly.notifications).toEqual(original.notifications);
    expect(nightly.tasks.map((t) => t.actionParameters)).toEqual([{ config: newId('123450001') }, { config: newId('123450002') }, { config: 'tree-categories' }]);
    const strip = ({ id: _id, actionParameters: _p, ...rest }: Record<string, unknown>) => rest;
    expect(nightly.tasks.map(strip)).toEqual(original.tasks.map(strip));

    const crm = (await orchestrator.get(newId('123450001')))!;
    expect(crm.tasks).toHaveLength(2); // the early copy got its tasks too
    expect(crm.tasks[1]).toMatchObject({ component: 'keboola.ex-google-drive', continueOnFailure: true, timeoutMinutes: 30, phase: 'Extract' });
    const reporting = (await orchestrator.get(newId('123450002')))!;
    expect(reporting.notifications).toEqual([{ email: 'analysts@acme.example', channel: 'error', parameters: {} }]);
  });

  test('restoreOrchestrations again creates nothing and changes nothing', async () => {
    const requests = `${pair.destination.url}/_emulator/requests`;
    const counts = await fetch(requests).then((r) => r.json() as Promise<Record<string, number>>);
    const again = await run(activities.restoreOrchestrations, { destination: pair.destinationRef, snapshotDir });
    expect(again.created).toEqual([]);
    expect(again.existing).toEqual(idMap.map((m) => m.newId));
    expect(again.idMap).toEqual(idMap);
    expect(await destination.orchestrator.list()).toHaveLength(3);
    const after = await fetch(requests).then((r) => r.json() as Promise<Record<string, number>>);
    const writes = Object.keys(after).filter((k) => /^(POST|PUT) \/_services/.test(k) && after[k] !== counts[k]);
    expect(writes).toEqual([]);
  });

  test('rewriteOrchestrationReferences updates Flows and schedules naming old IDs, once', async () => {
    await destination.configurations.create('keboola.orchestrator', {
      configurationId: 'wrapper-flow',
      name: 'Wrapper',
      isDisabled: true,
      configuration: {
        phases: [{ id: 1, name: 'Run', dependsOn: [] }],
        tasks: [
          { id: 1, name: 'Legacy nightly', phase: 1, enabled: true, continueOnFailure: false, task: { componentId: 'orchestrator', configId: '123450003', mode: 'run' } },
          { id: 2, name: 'MySQL', phase: 1, enabled: true, continueOnFailure: false, task: { componentId: 'keboola.ex-db-mysql', configId: 'mysql-crm', mode: 'run' } },
        ],
      },
    });
    await destination.configurations.create('keboola.scheduler', {
      configurationId: 'nightly-schedule',
      name: 'Schedule of Nightly master',
      isDisabled: true,
      configuration: { schedule: { cronTab: '15 3 * * *', timezone: 'America/New_York', state: 'disabled' }, target: { componentId: 'orchestrator', configurationId: '123450003', mode: 'run' } },
    });
    const newNightly = idMap.find((m) => m.oldId === '123450003')!.newId;

    const result = await run(activities.rewriteOrchestrationReferences, { destination: pair.destinationRef, idMap });
    expect(result.updated.sort()).toEqual(['keboola.orchestrator/wrapper-flow', 'keboola.scheduler/nightly-schedule']);
    const flow = (await destination.configurations.get('keboola.orchestrator', 'wrapper-flow'))!;
    expect((flow.configuration as any).tasks.map((t: any) => t.task.configId)).toEqual([newNightly, 'mysql-crm']);
    expect(flow.isDisabled).toBe(true);
    const schedule = (await destination.configurations.get('keboola.scheduler', 'nightly-schedule'))!;
    expect((schedule.configuration as any).target).toEqual({ componentId: 'orchestrator', configurationId: newNightly, mode: 'run' });
    expect(schedule.changeDescription).toBe(REFERENCES_REWRITTEN);

    expect(await run(activities.rewriteOrchestrationReferences, { destination: pair.destinationRef, idMap })).toEqual({ updated: [] });
  });

  test('restoreTriggers: a new [_internal] token per trigger, the new orchestration ID, missing tables skipped; once', async () => {
    const newReporting = idMap.find((m) => m.oldId === '123450002')!.newId;
    // an earlier attempt created the token and died before the trigger: the token is reused, not duplicated
    const sourceTriggerId = String((await source.triggers.list({ configurationId: '123450002' }))[0]!.id);
    const spare = await destination.tokens.create({
      description: `[_internal] Token for triggering ${newReporting} [stack-migrate backup trigger ${sourceTriggerId}]`,
      canManageBuckets: true,
      canReadAllFileUploads: true,
    });
    const tokensBefore = (await destination.tokens.list()).length;

    const result = await run(activities.restoreTriggers, { destination: pair.destinationRef, snapshotDir });
    expect(result.created).toHaveLength(1);
    expect(result.existing).toEqual([]);
    expect(result.skipped).toEqual([{ id: expect.any(String), reason: expect.stringContaining('in.c-crm.customers') }]);
    const [trigger] = await destination.triggers.list();
    expect(trigger).toMatchObject({ component: 'orchestration', configurationId: newReporting, coolDownPeriodMinutes: 30, tables: [{ tableId: 'in.c-crm.orders' }] });
    expect(String(trigger!.runWithTokenId)).toBe(String(spare.id));
    expect((await destination.tokens.list()).length).toBe(tokensBefore);
    const sourceTrigger = (await source.triggers.list({ configurationId: '123450002' }))[0]!;
    const sourceRunner = (await source.tokens.list()).find((t) => String(t.id) === String(sourceTrigger.runWithTokenId))!;
    expect(sourceRunner.description).toBe('[_internal] Token for triggering 123450002');

    const again = await run(activities.restoreTriggers, { destination: pair.destinationRef, snapshotDir, idMap });
    expect(again).toMatchObject({ created: [], existing: [String(trigger!.id)] });
    expect(await destination.triggers.list()).toHaveLength(1);
    expect((await destination.tokens.list()).length).toBe(tokensBefore);
  });

  test('restoreTriggers creates a new token when none is left over', async () => {
    // drop the trigger: the re-run recreates it; its former token is free again and reused, so delete that too
    const [trigger] = await destination.triggers.list();
    await destination.transport.request('DELETE', `/triggers/${trigger!.id}`, z.unknown());
    await destination.transport.request('DELETE', `/tokens/${trigger!.runWithTokenId}`, z.unknown());
    const result = await run(activities.restoreTriggers, { destination: pair.destinationRef, snapshotDir, idMap });
    expect(result.created).toHaveLength(1);
    const [recreated] = await destination.triggers.list();
    expect(String(recreated!.runWithTokenId)).not.toBe(String(trigger!.runWithTokenId));
    const token = (await destination.tokens.list()).find((t) => String(t.id) === String(recreated!.runWithTokenId))!;
    // Keboola's description, followed by the trigger's marker (the migration's source, the source trigger)
    expect(token).toMatchObject({ canManageBuckets: true, canReadAllFileUploads: true, isMasterToken: false });
    expect(token.description).toMatch(new RegExp(`^\\[_internal\\] Token for triggering ${recreated!.configurationId} \\[stack-migrate backup trigger \\d+\\]$`));
  });

  test('a create that reaches the stack after its attempt failed leaves one copy: orchestrations, their tokens, triggers', async () => {
    const url = pair.destination.url;
    // start over in the destination
    for (const t of await destination.triggers.list()) await destination.triggers.delete(t.id);
    for (const o of await destination.orchestrator.list()) await destination.orchestrator.delete(o.id);
    for (const t of await destination.tokens.list()) if (t.description?.includes('[stack-migrate ')) await destination.tokens.delete(t.id);
    const graceMs = 1500;
    const late = createOrchestrationActivities({ ...createActivityDeps({ snapshotRoot: snapshotDir, env }), lateWriteGraceMs: graceMs });
    const ref = { destination: pair.destinationRef, snapshotDir };

    // The first orchestration create reaches the stack 700 ms after its client gave up: the retry (at once, before
    // it lands) creates another, then waits out the grace and removes the late copy.
    await injectFault(url, { kind: 'late-write', method: 'POST', pathPattern: '^/_services/orchestrator/orchestrations$', latencyMs: 700, forRequests: 1 });
    await expect(run(late.restoreOrchestrations, ref)).rejects.toThrow(/orchestrations/);
    const started = Date.now();
    const restored = await run(late.restoreOrchestrations, ref);
    expect(Date.now() - started).toBeGreaterThanOrEqual(graceMs - 200);
    const orchestrations = await destination.orchestrator.list();
    expect(orchestrations.map((o) => o.name).sort()).toEqual(['CRM extraction', 'Nightly master', 'Revenue reporting']);
    expect(restored.idMap.map((m) => m.newId).sort()).toEqual(orchestrations.map((o) => String(o.id)).sort());
    const removed = JSON.parse(await fs.readFile(path.join(snapshotDir, DUPLICATES_REMOVED_FILE), 'utf8')) as RemovedDuplicate[];
    expect(removed).toEqual([expect.objectContaining({ entity: 'orchestration [stack-migrate backup orchestration 123450001]' })]);

    // A trigger's token create and then its trigger create land late: one trigger, one token, each retry sees them.
    await injectFault(url, { kind: 'late-write', method: 'POST', pathPattern: '^/v2/storage/tokens$', latencyMs: 700, forRequests: 1 });
    await injectFault(url, { kind: 'late-write', method: 'POST', pathPattern: '^/v2/storage/triggers$', latencyMs: 700, forRequests: 1 });
    const triggerInput = { ...ref, idMap: restored.idMap };
    await expect(run(late.restoreTriggers, triggerInput)).rejects.toThrow(/tokens/);
    await expect(run(late.restoreTriggers, triggerInput)).rejects.toThrow(/triggers/);
    const triggers = await run(late.restoreTriggers, triggerInput);
    const [trigger, ...others] = await destination.triggers.list();
    expect(others).toEqual([]);
    expect(triggers.created.concat(triggers.existing)).toEqual([String(trigger!.id)]);
    const markedTokens = (await destination.tokens.list()).filter((t) => t.description?.includes('[stack-migrate backup trigger '));
    expect(markedTokens.map((t) => String(t.id))).toEqual([String(trigger!.runWithTokenId)]);
    const all = JSON.parse(await fs.readFile(path.join(snapshotDir, DUPLICATES_REMOVED_FILE), 'utf8')) as RemovedDuplicate[];
    expect(all.map((r) => r.entity.split(' [')[0]).sort()).toEqual(['orchestration', 'trigger', 'trigger token']);

    // a re-run later finds everything and waits for nothing
    const rerun = Date.now();
    expect(await run(late.restoreTriggers, triggerInput)).toMatchObject({ created: [], existing: [String(trigger!.id)] });
    expect(Date.now() - rerun).toBeLessThan(graceMs);
  });

  test('an empty snapshot restores nothing and needs no Orchestrator', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'orchestrations-empty-'));
    await fs.writeFile(path.join(empty, files.orchestrations), '[]');
    await fs.writeFile(path.join(empty, 'triggers.json'), '[]');
    expect(await run(activities.restoreOrchestrations, { destination: pair.destinationRef, snapshotDir: empty })).toEqual({ idMap: [], created: [], existing: [], skipped: [] });
    expect(await run(activities.restoreTriggers, { destination: pair.destinationRef, snapshotDir: empty })).toEqual({ created: [], existing: [], skipped: [] });
    expect(await run(activities.rewriteOrchestrationReferences, { destination: pair.destinationRef, idMap: [] })).toEqual({ updated: [] });
  });

  test("a snapshot without orchestrations.json (Keboola's own backups have none) restores no orchestration", async () => {
    const keboolaBackup = await fs.mkdtemp(path.join(os.tmpdir(), 'orchestrations-none-'));
    await expect(run(activities.restoreOrchestrations, { destination: pair.destinationRef, snapshotDir: keboolaBackup })).resolves.toEqual({ idMap: [], created: [], existing: [], skipped: [] });
  });

  test('an orchestrations.json that is not a list of orchestrations is malformed (not retryable)', async () => {
    const broken = await fs.mkdtemp(path.join(os.tmpdir(), 'orchestrations-broken-'));
    await fs.writeFile(path.join(broken, 'orchestrations.json'), JSON.stringify({ id: 1 }));
    await expect(run(activities.restoreOrchestrations, { destination: pair.destinationRef, snapshotDir: broken })).rejects.toMatchObject({ type: 'MalformedSnapshot', nonRetryable: true });
  });
});
