// Legacy orchestrations (Orchestrator API) and Storage triggers (docs/domain.md#restore-order): snapshot, restore with new IDs,
// references to old orchestration IDs rewritten through the ID map, triggers with new tokens. Every activity
// looks for its marks before it creates, so a retry or a re-run never makes a second copy (activities/created-once.ts).
import { ApplicationFailure } from '@temporalio/common';
import {
  type Orchestration,
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
import {
  DEFAULT_LATE_WRITE_GRACE_MS,
  awaitLateWrites,
  createNoting,
  groupBy,
  markerOf,
  migrationIdentity,
  removeDuplicates,
  removeOrphans,
  settleLateWrites,
  type RemovedDuplicate,
} from './created-once';
import { heartbeat } from './heartbeat';

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
      const details: OrchestrationDetail[] = [];
      if (await orchestrator.serviceUrl()) {
        for (const item of sortById(await orchestrator.list())) {
          const detail = await orchestrator.get(item.id);
          if (detail) details.push(detail); // deleted in the meantime: nothing to migrate
          heartbeat({ orchestrations: details.length });
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
     * sets the tasks with references to other orchestrations rewritten to their new IDs. Each runs with a token of
     * its own whose description carries its marker (activities/created-once.ts): a retry finds it by that, and a
     * copy made by a create that landed late is removed before the ID map is made.
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
      const marked = await orchestrationMarkers(reader);

      // Pass 1: find or create each orchestration (without tasks: they may name orchestrations not created yet).
      const found = copiesByMarker(await orchestrator.list(), marked);
      const tokens = await client.tokens.list();
      const existing = new Set<string>();
      for (const [i, source] of snapshot.entries()) {
        const marker = marked.markerOf(source.id);
        if (found.get(marker)?.length) {
          existing.add(String(source.id));
          continue;
        }
        const description = `Orchestrator ${source.name} ${marker}`;
        let token = tokens.find((t) => t.description === description);
        if (!token) {
          token = await createNoting(reader, ORCHESTRATIONS_STEP, () => client.tokens.create({ description, canManageBuckets: true, canReadAllFileUploads: true }));
          tokens.push(token);
        }
        await createNoting(reader, ORCHESTRATIONS_STEP, () =>
          orchestrator.create({
            name: source.name,
            crontabRecord: source.crontabRecord ?? null,
            crontabTimezone: source.crontabTimezone ?? undefined,
            tokenId: token.id,
            active: false,
            notifications: notificationsOf(source),
            tasks: [],
          }),
        );
        heartbeat({ pass: 1, done: i + 1, of: snapshot.length });
      }

      // The last look: a create that landed after its retry made a second copy, which goes now.
      await awaitLateWrites(reader, ORCHESTRATIONS_STEP, deps.lateWriteGraceMs ?? DEFAULT_LATE_WRITE_GRACE_MS);
      await removeLateOrchestrations(client, reader, marked);
      await settleLateWrites(reader, ORCHESTRATIONS_STEP);
      const copies = copiesByMarker(await orchestrator.list(), marked);
      const idMap: OrchestrationIdMapping[] = snapshot.map((source) => {
        const copy = copies.get(marked.markerOf(source.id))?.[0];
        if (!copy) throw ApplicationFailure.create({ message: `orchestration "${source.name}" (${source.id}) disappeared from ${input.destination.url} during the restore; retrying`, type: 'EntityDisappeared' });
        return { type: ORCHESTRATION_ID_TYPE, oldId: String(source.id), newId: String(copy.id), name: source.name };
      });

      // Pass 2: tasks (and notifications, in case an earlier attempt died between create and here), only if different.
      const byOld = new Map(idMap.map((m) => [m.oldId, m.newId]));
      for (const [i, source] of snapshot.entries()) {
        const newId = idMap[i]!.newId;
        const current = await orchestrator.get(newId);
        if (!current) throw ApplicationFailure.create({ message: `orchestration ${newId} disappeared from ${input.destination.url} during the restore; retrying`, type: 'EntityDisappeared' });
        // A sync pass brings a renamed or rescheduled orchestration in step (a first copy created it so).
        const schedule = { name: source.name, crontabRecord: source.crontabRecord ?? null, crontabTimezone: source.crontabTimezone ?? current.crontabTimezone ?? undefined };
        if (current.name !== schedule.name || (current.crontabRecord ?? null) !== schedule.crontabRecord || (source.crontabTimezone && current.crontabTimezone !== source.crontabTimezone)) {
          await orchestrator.update(newId, schedule);
        }
        const tasks = (source.tasks ?? []).map((task) => rewriteTask(task, byOld, destinationComponents));
        if (!sameJson(tasks.map(normalizeTask), (current.tasks ?? []).map(normalizeTask))) await orchestrator.updateTasks(newId, tasks);
        const notifications = notificationsOf(source);
        if (!sameJson(notifications.map(normalizeNotification), (current.notifications ?? []).map(normalizeNotification))) await orchestrator.updateNotifications(newId, notifications);
        heartbeat({ pass: 2, done: i + 1, of: snapshot.length });
      }
      return {
        idMap,
        created: idMap.filter((m) => !existing.has(m.oldId)).map((m) => m.newId),
        existing: idMap.filter((m) => existing.has(m.oldId)).map((m) => m.newId),
        skipped: [],
      };
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
      const updated: string[] = [];
      const present = new Set((await client.components.heads()).map((c) => c.id));
      for (const component of [FLOW, SCHEDULER].filter((id) => present.has(id)).map((id) => ({ id }))) {
        for await (const configuration of client.configurations.stream(component.id)) {
          const lastChange = configuration.currentVersion?.changeDescription ?? configuration.changeDescription;
          if (lastChange === REFERENCES_REWRITTEN) continue;
          const body = structuredClone(configuration.configuration ?? {});
          const changed = component.id === FLOW ? rewriteFlow(body, byOld) : rewriteSchedule(body, byOld);
          if (!changed) continue;
          await client.configurations.update(component.id, String(configuration.id), { configuration: body, changeDescription: REFERENCES_REWRITTEN });
          updated.push(`${component.id}/${configuration.id}`);
          heartbeat({ updated: updated.length });
        }
      }
      return { updated };
    },

    /**
     * Recreates each trigger with a new token of the destination (`[_internal] Token for triggering <configId>`,
     * as Keboola's own restore does, followed by the trigger's marker). Triggers of legacy orchestrations point to
     * their new IDs: `idMap` when given, otherwise the orchestrations' markers. A trigger is found again by its
     * token's marker, a token created by an attempt that died before its trigger is reused, and copies made by
     * late creates are removed before the step ends.
     */
    async restoreTriggers(input: { destination: StackRef; snapshotDir: string; idMap?: Array<{ oldId: string; newId: string }> }): Promise<RestoreOutcome> {
      const reader = deps.snapshot(input.snapshotDir);
      const triggers = await reader.triggers();
      if (triggers.length === 0) return { created: [], existing: [], skipped: [] };
      const client = await deps.stackClient(input.destination);
      const byOld = input.idMap ? new Map(input.idMap.map((m) => [String(m.oldId), String(m.newId)])) : await orchestrationIdMap(client, reader);
      const tables = new Set((await client.tables.list()).map((t) => t.id));
      const marked = await triggerMarkers(reader);
      const tokens = await client.tokens.list();
      const existingTriggers = await client.triggers.list();

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
        const marker = marked.markerOf(id);
        const ownTokens = new Set(tokens.filter((t) => t.description?.endsWith(marker)).map((t) => String(t.id)));
        const found = existingTriggers.find((t) => ownTokens.has(String(t.runWithTokenId)));
        if (found) {
          result.existing.push(String(found.id));
          continue;
        }
        const description = `[_internal] Token for triggering ${configurationId} ${marker}`;
        let token = tokens.find((t) => t.description === description);
        if (!token) {
          token = await createNoting(reader, TRIGGERS_STEP, () => client.tokens.create({ description, canManageBuckets: true, canReadAllFileUploads: true }));
          tokens.push(token);
        }
        const runWithTokenId = token.id;
        const createdTrigger = await createNoting(reader, TRIGGERS_STEP, () =>
          client.triggers.create({
            runWithTokenId,
            component: trigger.component,
            configurationId,
            coolDownPeriodMinutes: Math.max(1, Number(trigger.coolDownPeriodMinutes) || 1),
            tableIds,
          }),
        );
        existingTriggers.push(createdTrigger);
        result.created.push(String(createdTrigger.id));
        heartbeat({ created: result.created.length });
      }

      await awaitLateWrites(reader, TRIGGERS_STEP, deps.lateWriteGraceMs ?? DEFAULT_LATE_WRITE_GRACE_MS);
      const removed = await removeLateTriggers(client, reader, marked);
      await settleLateWrites(reader, TRIGGERS_STEP);
      const gone = new Set(removed.map((r) => r.removed));
      return { ...result, created: result.created.filter((x) => !gone.has(x)) };
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

const ORCHESTRATIONS_STEP = 'orchestrations';
const TRIGGERS_STEP = 'triggers';

/** The markers of one entity type of this migration, and back from a text that carries one to its source ID. */
export interface Markers {
  markerOf(sourceId: string | number): string;
  sourceIdIn(text: string | null | undefined): string | undefined;
}

async function markersOf(reader: SnapshotReader, type: string): Promise<Markers> {
  const identity = await migrationIdentity(reader);
  const prefix = markerOf(identity, type, '');
  return {
    markerOf: (sourceId) => markerOf(identity, type, sourceId),
    sourceIdIn: (text) => {
      const at = text?.lastIndexOf(prefix.slice(0, -1)) ?? -1;
      if (!text || at < 0 || !text.endsWith(']')) return undefined;
      return text.slice(at + prefix.length - 1, -1) || undefined;
    },
  };
}
export const orchestrationMarkers = (reader: SnapshotReader) => markersOf(reader, 'orchestration');
export const triggerMarkers = (reader: SnapshotReader) => markersOf(reader, 'trigger');

/** The destination's orchestrations of this migration, by marker, lowest ID first. */
function copiesByMarker(orchestrations: Orchestration[], marked: Markers): Map<string, Orchestration[]> {
  return groupBy(sortById(orchestrations), (o) => {
    const sourceId = marked.sourceIdIn(o.token?.description);
    return sourceId === undefined ? undefined : marked.markerOf(sourceId);
  });
}

/**
 * Removes every copy of an orchestration beyond its first (lowest ID: a late copy is always newer), and the marked
 * tokens no orchestration runs with (left by a token create that landed late).
 */
export async function removeLateOrchestrations(client: StackClient, reader: SnapshotReader, marked: Markers): Promise<RemovedDuplicate[]> {
  const orchestrator = client.orchestrator;
  const groups = copiesByMarker(await orchestrator.list(), marked);
  const removed = await removeDuplicates(reader, 'orchestration', groups, (o) => String(o.id), (o) => orchestrator.delete(o.id));
  const used = new Set((await orchestrator.list()).map((o) => String(o.token?.id)));
  const spare = (await client.tokens.list()).filter((t) => marked.sourceIdIn(t.description) !== undefined && !used.has(String(t.id)));
  return [...removed, ...(await removeSpareTokens(client, reader, 'orchestration token', spare))];
}

/** Removes every copy of a trigger beyond its first (lowest ID), then the marked tokens no trigger runs with. */
export async function removeLateTriggers(client: StackClient, reader: SnapshotReader, marked: Markers): Promise<RemovedDuplicate[]> {
  const markerOfToken = new Map<string, string>();
  for (const t of await client.tokens.list()) {
    const sourceId = marked.sourceIdIn(t.description);
    if (sourceId !== undefined) markerOfToken.set(String(t.id), marked.markerOf(sourceId));
  }
  const groups = groupBy(sortById(await client.triggers.list()), (t) => markerOfToken.get(String(t.runWithTokenId)));
  const removed = await removeDuplicates(reader, 'trigger', groups, (t) => String(t.id), (t) => client.triggers.delete(t.id));
  const used = new Set((await client.triggers.list()).map((t) => String(t.runWithTokenId)));
  const spare = (await client.tokens.list()).filter((t) => markerOfToken.has(String(t.id)) && !used.has(String(t.id)));
  return [...removed, ...(await removeSpareTokens(client, reader, 'trigger token', spare))];
}

const removeSpareTokens = (client: StackClient, reader: SnapshotReader, entity: string, spare: Array<{ id: string | number }>) =>
  removeOrphans(reader, entity, spare, (t) => String(t.id), (t) => client.tokens.delete(t.id));

/** The ID map from the orchestrations' markers (for restoreTriggers without an idMap, and verification on a resume). */
export async function orchestrationIdMap(client: StackClient, reader: SnapshotReader): Promise<Map<string, string>> {
  const orchestrator = client.orchestrator;
  if ((await reader.orchestrations()).length === 0 || !(await orchestrator.serviceUrl())) return new Map();
  const marked = await orchestrationMarkers(reader);
  const out = new Map<string, string>();
  for (const [marker, copies] of copiesByMarker(await orchestrator.list(), marked)) out.set(marked.sourceIdIn(marker)!, String(copies[0]!.id));
  return out;
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
