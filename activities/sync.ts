// Sync passes (docs/sync.md): what changed in the source since the last pass, and the destination brought in step
// with it. A pass takes a new snapshot of the source's metadata, plans against the last pass' snapshot
// (activities/sync-plan.ts), removes what the source no longer has, aligns and re-imports the tables that changed
// (workflows/table-batches.ts, syncTableBatch), updates the configurations that changed and runs the restore steps
// of legacy orchestrations, triggers and subscriptions again where they changed. Every step converges: repeated
// after a crash it finds its work done and makes no second copy of anything.
import { z } from 'zod';
import { StackError } from '../stack';
import type { StackRef } from '../workflows/input';
import type { SyncLag, SyncPlan } from '../workflows/types';
import { files } from '../snapshot/layout';
import { bucketIdOf, bucketSkipReason, type ConfigurationRef, type SnapshotIndex, type SnapshotReader } from '../snapshot/reader';
import { SnapshotSubscriptionSchema, SnapshotTableSchema } from '../snapshot/schemas';
import { typedColumnsOf } from '../snapshot/typed-columns';
import type { ActivityDeps } from './deps';
import { planChanges, type ProjectState, type SyncPlanFile, type SyncTable } from './sync-plan';
import { restoreConfiguration, updateConfiguration } from './configurations';
import { translateComponentId } from './component-ids';
import { sameJson } from './json';
import { findEncryptedValues } from './configuration-rules';
import { heartbeat } from './heartbeat';
import { copyOfSubscription } from './notifications';
import { orchestrationMarkers, triggerMarkers } from './orchestrations';
import { changeCount } from '../workflows/types';

/** What the snapshot says of the project's storage and configurations, for a comparison. */
async function stateOf(snapshot: SnapshotReader): Promise<ProjectState> {
  const index = await snapshot.index();
  return {
    bucketIds: index.restorableBuckets().map((b) => b.id),
    tables: restorableTables(index),
    configurations: index.configurations.map((ref) => ({ ...ref, version: index.configurationVersion(ref) })),
  };
}

/** The same, with the legacy orchestrations, triggers and subscriptions a pass compares too. */
async function fullStateOf(snapshot: SnapshotReader): Promise<ProjectState> {
  const [state, orchestrations, triggers, notifications] = await Promise.all([stateOf(snapshot), snapshot.orchestrations(), snapshot.triggers(), snapshot.notifications()]);
  return {
    ...state,
    others: [
      // What a pass copies of an orchestration; its run times and `active` flag move on their own.
      ...orchestrations.map((o) => ({ kind: 'orchestration' as const, id: String(o.id), json: [o.name, o.crontabRecord ?? null, o.crontabTimezone ?? null, o.tasks, o.notifications] })),
      ...triggers.map((t) => ({ kind: 'trigger' as const, id: String(t.id), json: [t.component, t.configurationId, t.coolDownPeriodMinutes ?? null, t.tables.map((x) => x.tableId).sort()] })),
      ...notifications.map((n) => ({ kind: 'subscription' as const, id: n.id ?? JSON.stringify([n.event, n.filters, n.recipient]), json: n })),
    ],
  };
}

function restorableTables(index: SnapshotIndex) {
  const restorable = new Set(index.restorableBuckets().map((b) => b.id));
  return index.tables.filter((t) => restorable.has(bucketIdOf(t)));
}

/** Configurations compared by body where a listing gave no version (a Keboola backup). */
function bodiesDiffer(previous: SnapshotReader, current: SnapshotReader) {
  return async (ref: ConfigurationRef) => {
    const [a, b] = await Promise.all([previous.configuration(ref), current.configuration(ref)]);
    return !sameJson(a, b);
  };
}

/** The encrypted values of a configuration (and its rows) that are new or changed between two snapshots of the source. */
async function changedSecrets(previous: SnapshotReader, current: SnapshotReader, ref: ConfigurationRef): Promise<Array<{ rowId?: string; path: string }>> {
  const [before, after] = await Promise.all([previous.configuration(ref).catch(() => undefined), current.configuration(ref)]);
  const changed = (old: unknown, now: unknown, rowId?: string) =>
    findEncryptedValues(now).filter((path) => valueAt(old, path) !== valueAt(now, path)).map((path) => ({ ...(rowId ? { rowId } : {}), path }));
  const oldRows = new Map((before?.rows ?? []).map((row) => [String(row.id), row.configuration]));
  return [...changed(before?.configuration, after.configuration), ...(after.rows ?? []).flatMap((row) => changed(oldRows.get(String(row.id)), row.configuration, String(row.id)))];
}

function valueAt(body: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), body);
}

const notFound = (error: unknown) => error instanceof StackError && error.kind === 'not-found';

/** Runs a delete; one of something already gone (a retry, or removed by hand) is done. */
async function gone(remove: () => Promise<unknown>): Promise<void> {
  await remove().catch((error: unknown) => {
    if (!notFound(error)) throw error;
  });
}

/** The plan of the pass whose snapshot is `snapshotDir`; planSyncPass writes it. */
async function planOf(deps: ActivityDeps, snapshotDir: string): Promise<SyncPlanFile> {
  const plan = await deps.snapshot(snapshotDir).record<SyncPlanFile>(files.syncPlan);
  if (!plan) throw new Error(`${snapshotDir} holds no sync plan: plan the pass (planSyncPass) before carrying it out`);
  return plan;
}

interface SyncTableBatch {
  snapshotDir: string;
  batchNumber: number;
  batchSize: number;
}

/** One batch of the tables the pass' plan brings up to date. */
async function syncTableBatch(deps: ActivityDeps, { snapshotDir, batchNumber, batchSize }: SyncTableBatch): Promise<SyncTable[]> {
  return (await planOf(deps, snapshotDir)).tables.slice(batchNumber * batchSize, (batchNumber + 1) * batchSize);
}

export function createSyncActivities(deps: ActivityDeps) {
  const requirePlan = (snapshotDir: string) => planOf(deps, snapshotDir);

  return {
    /** Compares the pass' new snapshot with the last pass' and writes the plan into the new one. */
    async planSyncPass(input: { previousSnapshotDir: string; snapshotDir: string }): Promise<SyncPlan> {
      const previous = deps.snapshot(input.previousSnapshotDir);
      const current = deps.snapshot(input.snapshotDir);
      const plan: SyncPlanFile = {
        previousSnapshotDir: input.previousSnapshotDir,
        // The first copy's manifest names the source; each pass hands it on.
        source: (await previous.manifest())?.source ?? (await previous.record<SyncPlanFile>(files.syncPlan))?.source,
        ...(await planChanges(await fullStateOf(previous), await fullStateOf(current), bodiesDiffer(previous, current))),
      };
      await current.write(files.syncPlan, plan);
      const { changes, others } = plan;
      return {
        changes,
        tablesToCopy: plan.tables.length,
        copy: { orchestrations: others.orchestration.copy, triggers: others.trigger.copy, notifications: others.subscription.copy },
        removedOrchestrations: others.orchestration.remove.map((o) => o.id),
        removes:
          changes.tablesRemoved + changes.aliasesRemoved + changes.bucketsRemoved + changes.configurationsRemoved > 0 ||
          Object.values(others).some((o) => o.remove.length > 0),
      };
    },

    /** One batch of the tables a pass brings up to date, with what changed in each (batches recorded before table groups). */
    async listSyncTableBatch(input: SyncTableBatch): Promise<SyncTable[]> {
      return syncTableBatch(deps, input);
    },

    /** One batch of the tables a pass brings up to date, split by size as a migration's (SnapshotIndex.splitBySize). */
    async splitSyncTableBatch(input: SyncTableBatch): Promise<{ grouped: SyncTable[]; alone: SyncTable[] }> {
      const index = await deps.snapshot(input.snapshotDir).index();
      return index.splitBySize(await syncTableBatch(deps, input), (table) => table.id);
    },

    /** A sync pass' table given the source's new structure (alignDestinationTable), for batches recorded before table groups. */
    async alignTable(input: { destination: StackRef; snapshotDir: string; tableId: string }): Promise<{ actions: string[] }> {
      return alignDestinationTable(deps, input);
    },

    /**
     * Removes from the destination what the source no longer has (or has defined differently, for aliases, triggers
     * and subscriptions, which are created again): aliases, tables, buckets, configurations, then the copies of
     * legacy orchestrations, triggers and subscriptions, found by their markers or content. What is already gone counts
     * as removed.
     */
    async removeFromDestination(input: { destination: StackRef; snapshotDir: string; idMap: Array<{ oldId: string; newId: string }> }): Promise<{ removed: string[] }> {
      const plan = await requirePlan(input.snapshotDir);
      const client = await deps.stackClient(input.destination);
      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const removed: string[] = [];
      const remove = async (what: string, action: () => Promise<unknown>) => {
        await gone(action);
        removed.push(what);
        heartbeat(removed.length);
      };
      for (const id of plan.removedAliases) await remove(`alias ${id}`, () => client.tables.delete(id));
      for (const id of plan.removedTables) await remove(`table ${id}`, () => client.tables.delete(id));
      for (const id of plan.removedBuckets) await remove(`bucket ${id}`, () => client.buckets.delete(id, { force: true }));
      for (const ref of plan.configurations.removed) {
        const componentId = translateComponentId(ref.componentId, destinationComponents) ?? ref.componentId;
        await remove(`configuration ${componentId}/${ref.configId}`, () => client.configurations.delete(componentId, ref.configId));
      }
      const { orchestration, trigger, subscription } = plan.others;
      const newIds = new Map(input.idMap.map((m) => [String(m.oldId), String(m.newId)]));
      if (orchestration.remove.length) {
        // The copy, and the token it ran with (its description carries the orchestration's marker).
        const marked = await orchestrationMarkers(deps.snapshot(plan.previousSnapshotDir));
        const tokens = await client.tokens.list();
        for (const { id } of orchestration.remove) {
          const copy = newIds.get(id);
          if (copy) await remove(`legacy orchestration ${copy} (${id} in the source)`, () => client.orchestrator.delete(copy));
          for (const token of tokens.filter((t) => t.description?.endsWith(marked.markerOf(id)))) await gone(() => client.tokens.delete(token.id));
        }
      }
      if (trigger.remove.length) {
        // A trigger's copy is the one that runs with the token carrying its marker (activities/orchestrations.ts).
        const marked = await triggerMarkers(deps.snapshot(plan.previousSnapshotDir));
        const tokens = await client.tokens.list();
        const copies = await client.triggers.list();
        for (const { id } of trigger.remove) {
          const own = tokens.filter((t) => t.description?.endsWith(marked.markerOf(id)));
          for (const copy of copies.filter((t) => own.some((token) => String(token.id) === String(t.runWithTokenId)))) {
            await remove(`trigger ${copy.id} (${id} in the source)`, () => client.triggers.delete(copy.id));
          }
          for (const token of own) await gone(() => client.tokens.delete(token.id));
        }
      }
      for (const { json } of subscription.remove) {
        const copy = await copyOfSubscription(client, SnapshotSubscriptionSchema.parse(json), input.idMap);
        if (copy) await remove(`notification subscription ${copy.id}`, () => client.notifications.delete(copy.id));
      }
      return { removed };
    },

    /** How many configurations a pass adds or updates; batches go by number. */
    async countSyncConfigurations(input: { snapshotDir: string }): Promise<number> {
      const { configurations } = await requirePlan(input.snapshotDir);
      return configurations.added.length + configurations.changed.length;
    },

    /** Creates the configurations new in the source and updates those whose version changed, one batch of them. */
    async syncConfigurations(input: {
      destination: StackRef;
      snapshotDir: string;
      batchNumber: number;
      batchSize: number;
      skipComponents?: string[];
    }): Promise<{ added: number; updated: number; skipped: string[]; secrets: string[] }> {
      const plan = await requirePlan(input.snapshotDir);
      const snapshot = deps.snapshot(input.snapshotDir);
      const client = await deps.stackClient(input.destination);
      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const leftOut = new Set(input.skipComponents);
      const previous = deps.snapshot(plan.previousSnapshotDir);
      const work = [...plan.configurations.added.map((ref) => ({ ref, added: true })), ...plan.configurations.changed.map((ref) => ({ ref, added: false }))];
      // What a person must do for them: skipped ones, and encrypted values the destination does not hold yet.
      const result = { added: 0, updated: 0, skipped: [] as string[], secrets: [] as string[] };
      for (const { ref, added } of work.slice(input.batchNumber * input.batchSize, (input.batchNumber + 1) * input.batchSize)) {
        // A configuration added then changed before this pass is created; one that exists already is updated.
        const outcome = added ? await restoreConfiguration(client, snapshot, ref, destinationComponents, leftOut) : await updateConfiguration(client, snapshot, ref, destinationComponents, leftOut);
        const named = (secret: { rowId?: string; path: string }) => `${outcome.destinationComponentId}/${ref.configId}${secret.rowId ? ` row ${secret.rowId}` : ''}: ${secret.path}`;
        if (outcome.skipped) result.skipped.push(`${ref.componentId}/${ref.configId}: ${outcome.skipped}`);
        else if (added) result.added++;
        else result.updated++;
        // New encrypted values arrive empty; changed ones keep the destination's old value: either way a person enters them.
        const secrets = added ? outcome.secrets : await changedSecrets(previous, snapshot, ref);
        result.secrets.push(...secrets.map(named));
        heartbeat(result);
      }
      return result;
    },

    /**
     * How far behind the destination is: the source's listings now against the last pass' snapshot (tables,
     * buckets, configurations; legacy orchestrations, triggers and notifications are compared by the next pass,
     * which reads them).
     */
    async measureSyncLag(input: { source: StackRef; lastSnapshotDir: string }): Promise<SyncLag> {
      const client = await deps.stackClient(input.source);
      const last = deps.snapshot(input.lastSnapshotDir);
      const previous = await stateOf(last);
      const [buckets, tables, components] = await Promise.all([client.buckets.list(), client.tables.list(), client.components.heads()]);
      const lastIndex = await last.index();
      const restorable = new Set(buckets.filter((b) => !bucketSkipReason(b)).map((b) => b.id));
      const now: ProjectState = {
        bucketIds: [...restorable],
        // The listing is what a snapshot's tables.json holds, read the same way.
        tables: z.array(SnapshotTableSchema).parse(tables).filter((t) => restorable.has(bucketIdOf(t))),
        configurations: components
          .filter((c) => c.id !== 'orchestrator')
          .flatMap((c) => (c.configurations ?? []).map((cfg) => ({ componentId: c.id, configId: cfg.id, version: cfg.version }))),
      };
      // A configuration the last snapshot listed without a version is compared by version from now on.
      const plan = await planChanges(previous, now, async (ref) => lastIndex.configurationVersion(ref) === undefined);
      return { checkedAt: new Date().toISOString(), changes: plan.changes, total: changeCount(plan.changes) };
    },
  };
}

/**
 * Gives a destination table the source's new structure before its data is imported again: columns added and
 * removed, the primary key set. A typed table whose column types changed is dropped, to be created again by the
 * restore. A table not there yet is left for the restore to create.
 */
export async function alignDestinationTable(deps: ActivityDeps, input: { destination: StackRef; snapshotDir: string; tableId: string }): Promise<{ actions: string[] }> {
  const client = await deps.stackClient(input.destination);
  const table = (await deps.snapshot(input.snapshotDir).index()).table(input.tableId);
  const current = await client.tables.get(table.id);
  if (!current) return { actions: [] };
  const actions: string[] = [];
  // Types are compared between the source's two states (the destination's may differ by the documented mapping
  // to its backend): a column the source retyped means a new table.
  const { previousSnapshotDir } = await planOf(deps, input.snapshotDir);
  const before = (await deps.snapshot(previousSnapshotDir).index()).tables.find((t) => t.id === table.id);
  const wantedTypes = typedColumnsOf(table);
  const typesBefore = new Map((before && typedColumnsOf(before))?.map((c) => [c.name, c.definition]) ?? []);
  if (wantedTypes?.some((c) => typesBefore.has(c.name) && !sameJson(typesBefore.get(c.name), c.definition))) {
    await gone(() => client.tables.delete(table.id, { force: true })); // its aliases are created again after the tables
    return { actions: ['dropped, to be created with the new column types'] };
  }
  // Columns are added at the end: a source that ordered them otherwise (a table created again) needs a new table.
  const inOrder = [...current.columns.filter((c) => table.columns.includes(c)), ...table.columns.filter((c) => !current.columns.includes(c))];
  if (!sameJson(inOrder, table.columns)) {
    await gone(() => client.tables.delete(table.id, { force: true }));
    return { actions: ['dropped, to be created with the columns in their new order'] };
  }
  const removed = current.columns.filter((c) => !table.columns.includes(c));
  const primaryKey = table.primaryKey ?? [];
  // A column leaving the primary key must leave it before it goes.
  if (!sameJson([...(current.primaryKey ?? [])].sort(), [...primaryKey].sort())) {
    await client.tables.setPrimaryKey(table.id, primaryKey.filter((c) => current.columns.includes(c)));
    actions.push(`primary key set to (${primaryKey.join(', ')})`);
  }
  for (const column of table.columns.filter((c) => !current.columns.includes(c))) {
    const typed = wantedTypes?.find((c) => c.name === column);
    await client.tables.addColumn(table.id, { name: column, ...(typed ? { definition: typed.definition, basetype: typed.basetype } : {}) });
    actions.push(`column ${column} added`);
    heartbeat();
  }
  for (const column of removed) {
    await client.tables.deleteColumn(table.id, column, { force: true });
    actions.push(`column ${column} removed`);
    heartbeat();
  }
  if (primaryKey.some((c) => !current.columns.includes(c))) await client.tables.setPrimaryKey(table.id, primaryKey);
  return { actions };
}
