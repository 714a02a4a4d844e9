// Legacy orchestrations (Orchestrator API) and Storage triggers (docs/domain.md#restore-order): snapshot, restore with new IDs,
// references to old orchestration IDs rewritten through the ID map, triggers with new tokens. Every activity
// looks before it creates, so a retry or a re-run never makes a second copy.
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import {
  type OrchestrationDetail,
  type OrchestrationNotificationInput,
  type OrchestrationTaskInput,
  type OrchestratorResource,
  type StackClient,
} from '../stack';
import type { StackRef } from '../workflows/input';
import type { IdMapEntry, RestoreOutcome } from '../workflows/types';
import { files } from '../snapshot/layout';
import { LEGACY_ORCHESTRATOR, sortById, type SnapshotReader } from '../snapshot/reader';
import type { SnapshotOrchestration } from '../snapshot/schemas';
import { sameJson } from './json';
import type { ActivityDeps } from './deps';
import { translateComponentId } from './component-ids';

/** The ID map's type of legacy orchestrations (the report and the triggers' restore read it). */
export const ORCHESTRATION_ID_TYPE = 'orchestration';
/** Storage triggers name legacy orchestrations with this component (blueprint, Group Triggers). */
export const TRIGGER_ORCHESTRATION = 'orchestration';
const FLOW = 'keboola.orchestrator';
const SCHEDULER = 'keboola.scheduler';
/** Change description of a configuration whose references this tool rewrote (makes a re-run a no-op). */
export const REFERENCES_REWRITTEN = 'stack-migrate: legacy orchestration IDs rewritten to the destination';

export interface OrchestrationIdMapping extends IdMapEntry {
  type: typeof ORCHESTRATION_ID_TYPE;
  name: string;
}

/** `created` and `existing` are destination IDs (new ones); `idMap` maps each source orchestration to its copy. */
export interface RestoreOrchestrationsResult extends RestoreOutcome {
  idMap: OrchestrationIdMapping[];
}

export function createOrchestrationActivities(deps: ActivityDeps) {
  return {
    /** Writes orchestrations.json and triggers.json; a snapshot that has orchestrations.json is left as it is. */
    async snapshotOrchestrations(input: { source: StackRef; snapshotDir: string }): Promise<{ orchestrations: number; triggers: number }> {
      const snapshot = deps.snapshot(input.snapshotDir);
      if ((await snapshot.store.size(files.orchestrations)) !== undefined) {
        return { orchestrations: (await snapshot.orchestrations()).length, triggers: (await snapshot.triggers()).length };
      }

      const client = await deps.stackClient(input.source);
      const orchestrator = client.orchestrator;
      const context = Context.current();
      const details: OrchestrationDetail[] = [];
      if (await orchestrator.serviceUrl()) {
        for (const item of sortById(await orchestrator.list())) {
          const detail = await orchestrator.get(item.id);
          if (detail) details.push(detail); // deleted in the meantime: nothing to migrate
          context.heartbeat({ orchestrations: details.length });
        }
      }
      const triggers = await client.triggers.list();
      // triggers.json first: orchestrations.json marks the step as done (snapshotProjectMetadata writes an empty
      // triggers.json placeholder, which this replaces).
      await snapshot.write(files.triggers, triggers);
      await snapshot.write(files.orchestrations, details);
      return { orchestrations: details.length, triggers: triggers.length };
    },

    /**
     * Recreates every orchestration disabled (`active: false`) with its name, schedule and notifications, then
     * sets the tasks with references to other orchestrations rewritten to their new IDs. An orchestration created
     * by an earlier attempt is found by name and occurrence (the destination was empty when validated).
     */
    async restoreOrchestrations(input: { destination: StackRef; snapshotDir: string }): Promise<RestoreOrchestrationsResult> {
      const reader = deps.snapshot(input.snapshotDir);
      const snapshot = await reader.orchestrations();
      if (snapshot.length === 0) {
        // A Keboola backup keeps legacy orchestrations only as configurations of `orchestrator`, without the tasks and
        // schedule the Orchestrator API needs (our snapshots add orchestrations.json): reported, never dropped silently.
        const skipped = (await reader.legacyOrchestratorConfigurations()).map((ref) => ({
          id: `${ref.componentId}/${ref.configId}`,
          reason: 'a legacy orchestration kept only as an orchestrator configuration (Keboola\'s backup layout, no orchestrations.json): recreate it as a Flow in the destination',
        }));
        return { idMap: [], created: [], existing: [], skipped };
      }
      const client = await deps.stackClient(input.destination);
      const orchestrator = await requireOrchestrator(client, input.destination);
      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const context = Context.current();

      // Pass 1: find or create each orchestration (without tasks: they may name orchestrations not created yet).
      const matched = matchExisting(snapshot, await orchestrator.list());
      const idMap: OrchestrationIdMapping[] = [];
      const created: string[] = [];
      const existing: string[] = [];
      for (const source of snapshot) {
        let newId = matched.get(String(source.id));
        if (newId === undefined) {
          const orchestration = await orchestrator.create({
            name: source.name,
            crontabRecord: source.crontabRecord ?? null,
            crontabTimezone: source.crontabTimezone ?? undefined,
            active: false,
            notifications: notificationsOf(source),
            tasks: [],
          });
          newId = String(orchestration.id);
          created.push(newId);
        } else existing.push(newId);
        idMap.push({ type: ORCHESTRATION_ID_TYPE, oldId: String(source.id), newId, name: source.name });
        context.heartbeat({ pass: 1, done: idMap.length, of: snapshot.length });
      }

      // Pass 2: tasks (and notifications, in case an earlier attempt died between create and here), only if different.
      const byOld = new Map(idMap.map((m) => [m.oldId, m.newId]));
      for (const [i, source] of snapshot.entries()) {
        const newId = idMap[i]!.newId;
        const current = await orchestrator.get(newId);
        if (!current) throw ApplicationFailure.create({ message: `orchestration ${newId} disappeared from ${input.destination.url} during the restore; retrying`, type: 'Conflict' });
        const tasks = (source.tasks ?? []).map((task) => rewriteTask(task, byOld, destinationComponents));
        if (!sameJson(tasks.map(normalizeTask), (current.tasks ?? []).map(normalizeTask))) await orchestrator.updateTasks(newId, tasks);
        const notifications = notificationsOf(source);
        if (!sameJson(notifications.map(normalizeNotification), (current.notifications ?? []).map(normalizeNotification))) await orchestrator.updateNotifications(newId, notifications);
        context.heartbeat({ pass: 2, done: i + 1, of: snapshot.length });
      }
      return { idMap, created, existing, skipped: [] };
    },

    /**
     * Rewrites, in the destination's Flows (`keboola.orchestrator` tasks) and schedules (`keboola.scheduler`
     * targets), every reference to a legacy orchestration from its old ID to its new one. Runs after the
     * configurations are restored; a configuration it already rewrote is left alone.
     */
    async rewriteOrchestrationReferences(input: { destination: StackRef; idMap: Array<{ oldId: string; newId: string }> }): Promise<{ updated: string[] }> {
      if (input.idMap.length === 0) return { updated: [] };
      const byOld = new Map(input.idMap.map((m) => [String(m.oldId), String(m.newId)]));
      const client = await deps.stackClient(input.destination);
      const context = Context.current();
      const updated: string[] = [];
      for (const component of await client.components.list()) {
        if (component.id !== FLOW && component.id !== SCHEDULER) continue;
        for (const configuration of component.configurations ?? []) {
          const lastChange = configuration.currentVersion?.changeDescription ?? configuration.changeDescription;
          if (lastChange === REFERENCES_REWRITTEN) continue;
          const body = structuredClone(configuration.configuration ?? {});
          const changed = component.id === FLOW ? rewriteFlow(body, byOld) : rewriteSchedule(body, byOld);
          if (!changed) continue;
          await client.configurations.update(component.id, String(configuration.id), { configuration: body, changeDescription: REFERENCES_REWRITTEN });
          updated.push(`${component.id}/${configuration.id}`);
          context.heartbeat({ updated: updated.length });
        }
      }
      return { updated };
    },

    /**
     * Recreates each trigger with a new token of the destination (`[_internal] Token for triggering <configId>`,
     * as Keboola's own restore does). Triggers of legacy orchestrations point to their new IDs: `idMap` when
     * given, otherwise the same name-and-occurrence match as restoreOrchestrations. A trigger already in the
     * destination is kept; a token created by an attempt that died before its trigger is reused.
     */
    async restoreTriggers(input: { destination: StackRef; snapshotDir: string; idMap?: Array<{ oldId: string; newId: string }> }): Promise<RestoreOutcome> {
      const triggers = await deps.snapshot(input.snapshotDir).triggers();
      if (triggers.length === 0) return { created: [], existing: [], skipped: [] };
      const client = await deps.stackClient(input.destination);
      const context = Context.current();
      const byOld = input.idMap
        ? new Map(input.idMap.map((m) => [String(m.oldId), String(m.newId)]))
        : await orchestrationIdMap(client, deps.snapshot(input.snapshotDir));
      const tables = new Set((await client.tables.list()).map((t) => t.id));
      const existingTriggers = await client.triggers.list();
      const tokens = await client.tokens.list();

      const result: RestoreOutcome = { created: [], existing: [], skipped: [] };
      for (const trigger of sortById(triggers)) {
        const id = String(trigger.id);
        let configurationId = String(trigger.configurationId);
        if (trigger.component === TRIGGER_ORCHESTRATION) {
          const mapped = byOld.get(configurationId);
          if (!mapped) {
            result.skipped.push({ id, reason: `it triggers orchestration ${configurationId}, which was not restored in the destination` });
            continue;
          }
          configurationId = mapped;
        }
        const tableIds = [...new Set((trigger.tables ?? []).map((t) => t.tableId))].sort();
        const missing = tableIds.filter((t) => !tables.has(t));
        if (tableIds.length === 0 || missing.length > 0) {
          result.skipped.push({ id, reason: tableIds.length ? `its tables do not exist in the destination: ${missing.join(', ')}` : 'it watches no table' });
          continue;
        }
        const found = existingTriggers.find(
          (t) => t.component === trigger.component && String(t.configurationId) === configurationId && sameJson([...new Set(t.tables.map((x) => x.tableId))].sort(), tableIds),
        );
        if (found) {
          result.existing.push(String(found.id));
          continue;
        }
        const description = `[_internal] Token for triggering ${configurationId}`;
        const used = new Set(existingTriggers.map((t) => String(t.runWithTokenId)));
        const spare = tokens.find((t) => t.description === description && !t.isMasterToken && !used.has(String(t.id)));
        const token = spare ?? (await client.tokens.create({ description, canManageBuckets: true, canReadAllFileUploads: true }));
        if (!spare) tokens.push(token);
        const createdTrigger = await client.triggers.create({
          runWithTokenId: token.id,
          component: trigger.component,
          configurationId,
          coolDownPeriodMinutes: Math.max(1, Number(trigger.coolDownPeriodMinutes) || 1),
          tableIds,
        });
        existingTriggers.push(createdTrigger);
        result.created.push(String(createdTrigger.id));
        context.heartbeat({ created: result.created.length });
      }
      return result;
    },
  };
}

// ------------------------------------------------------------------------------------------------ helpers

async function requireOrchestrator(client: StackClient, ref: StackRef): Promise<OrchestratorResource> {
  const orchestrator = client.orchestrator;
  if (await orchestrator.serviceUrl()) return orchestrator;
  throw ApplicationFailure.nonRetryable(
    `the destination stack ${ref.url} has no legacy Orchestrator (no "orchestrator" service in its API index): its legacy orchestrations cannot be restored; convert them to Flows first`,
    'OrchestratorUnavailable',
  );
}

/**
 * Old ID → destination ID of orchestrations that exist already: the k-th source orchestration named N (by ID)
 * is the k-th destination orchestration named N (by ID, i.e. creation order).
 */
export function matchExisting(source: Array<{ id: string | number; name: string }>, destination: Array<{ id: string | number; name: string }>): Map<string, string> {
  const byName = new Map<string, string[]>();
  for (const d of sortById(destination)) byName.set(d.name, [...(byName.get(d.name) ?? []), String(d.id)]);
  const seen = new Map<string, number>();
  const out = new Map<string, string>();
  for (const s of sortById(source)) {
    const k = seen.get(s.name) ?? 0;
    seen.set(s.name, k + 1);
    const match = byName.get(s.name)?.[k];
    if (match !== undefined) out.set(String(s.id), match);
  }
  return out;
}

/** The ID map from the snapshot and the destination's orchestrations (for restoreTriggers without an idMap). */
async function orchestrationIdMap(client: StackClient, reader: SnapshotReader): Promise<Map<string, string>> {
  const snapshot = await reader.orchestrations();
  if (snapshot.length === 0) return new Map();
  const orchestrator = client.orchestrator;
  if (!(await orchestrator.serviceUrl())) return new Map();
  return matchExisting(snapshot, await orchestrator.list());
}

function notificationsOf(o: SnapshotOrchestration): OrchestrationNotificationInput[] {
  return (o.notifications ?? []).map((n) => ({ email: n.email, channel: n.channel, parameters: { ...(n.parameters ?? {}) } }));
}

/**
 * The task as the destination gets it: documented attributes only (no task ID), the component translated for the
 * destination stack, and a task that runs another orchestration pointed to that orchestration's new ID.
 */
export function rewriteTask(task: SnapshotOrchestration['tasks'][number], byOld: ReadonlyMap<string, string>, destinationComponents: ReadonlySet<string>): OrchestrationTaskInput {
  const out: OrchestrationTaskInput = {};
  if (task.component) out.component = translateComponentId(task.component, destinationComponents) ?? task.component;
  if (task.componentUrl) out.componentUrl = task.componentUrl;
  out.action = task.action ?? 'run';
  const parameters = structuredClone(task.actionParameters ?? {});
  if (task.component === LEGACY_ORCHESTRATOR && parameters.config !== undefined && parameters.config !== null) {
    const mapped = byOld.get(String(parameters.config));
    if (mapped !== undefined) parameters.config = typeof parameters.config === 'number' ? Number(mapped) : mapped;
  }
  out.actionParameters = parameters;
  out.continueOnFailure = task.continueOnFailure ?? false;
  out.active = task.active ?? true;
  out.timeoutMinutes = task.timeoutMinutes ?? null;
  out.phase = task.phase ?? null;
  return out;
}

function normalizeTask(t: OrchestrationTaskInput | SnapshotOrchestration['tasks'][number]): unknown {
  return {
    component: t.component ?? null,
    componentUrl: t.componentUrl ?? null,
    action: t.action ?? 'run',
    actionParameters: t.actionParameters ?? {},
    continueOnFailure: t.continueOnFailure ?? false,
    active: t.active ?? true,
    timeoutMinutes: t.timeoutMinutes ?? null,
    phase: t.phase === undefined || t.phase === null ? null : String(t.phase),
  };
}

function normalizeNotification(n: OrchestrationNotificationInput): unknown {
  return { email: n.email, channel: n.channel, parameters: n.parameters ?? {} };
}

/** Flow tasks that run a legacy orchestration: `task.componentId` `orchestrator`, `task.configId` its ID. */
export function rewriteFlow(configuration: Record<string, any>, byOld: ReadonlyMap<string, string>): boolean {
  let changed = false;
  for (const task of Array.isArray(configuration.tasks) ? configuration.tasks : []) {
    const target = task?.task;
    if (target?.componentId !== LEGACY_ORCHESTRATOR || target.configId === undefined) continue;
    const mapped = byOld.get(String(target.configId));
    if (mapped === undefined || mapped === String(target.configId)) continue;
    target.configId = typeof target.configId === 'number' ? Number(mapped) : mapped;
    changed = true;
  }
  return changed;
}

/** A schedule whose `target` runs a legacy orchestration (`componentId` `orchestrator`, `configurationId`). */
export function rewriteSchedule(configuration: Record<string, any>, byOld: ReadonlyMap<string, string>): boolean {
  const target = configuration.target;
  if (target?.componentId !== LEGACY_ORCHESTRATOR || target.configurationId === undefined) return false;
  const mapped = byOld.get(String(target.configurationId));
  if (mapped === undefined || mapped === String(target.configurationId)) return false;
  target.configurationId = typeof target.configurationId === 'number' ? Number(mapped) : mapped;
  return true;
}
