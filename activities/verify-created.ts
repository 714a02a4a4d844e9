// The last look for late copies (activities/created-once.ts): after every restore step, the entities that got new
// IDs are counted and any copy a create made after its step ended is removed, so a migration never completes with
// two orchestrations, triggers, workspaces or GoodData projects for one source entity.
import { ApplicationFailure } from '@temporalio/common';
import type { StackRef } from '../workflows/input';
import type { ActivityDeps } from './deps';
import type { RemovedDuplicate } from './created-once';
import { orchestrationMarkers, removeLateOrchestrations, removeLateTriggers, triggerMarkers } from './orchestrations';
import { goodDataMarker, removeLateGoodDataProjects, removeLateWorkspaces, WRITERS_RESULTS_FILE, type WritersResults } from './writers';

export interface CreatedEntitiesCheck {
  orchestrations: number;
  triggers: number;
  workspaces: number;
  goodDataProjects: number;
  /** Copies made by creates that landed after their step, removed now. */
  lateCopiesRemoved: RemovedDuplicate[];
}

export function createCreatedEntityActivities(deps: ActivityDeps) {
  return {
    async verifyCreatedEntities(input: { destination: StackRef; snapshotDir: string; source?: StackRef }): Promise<CreatedEntitiesCheck> {
      const reader = deps.snapshot(input.snapshotDir);
      const client = await deps.stackClient(input.destination);
      const removed: RemovedDuplicate[] = [];
      const missing: string[] = [];

      let orchestrations = 0;
      const snapshotOrchestrations = await reader.orchestrations();
      if (snapshotOrchestrations.length && (await client.orchestrator.serviceUrl())) {
        const marked = await orchestrationMarkers(reader);
        removed.push(...(await removeLateOrchestrations(client, reader, marked)));
        const copies = new Set((await client.orchestrator.list()).map((o) => marked.sourceIdIn(o.token?.description)).filter((id) => id !== undefined));
        orchestrations = copies.size;
        missing.push(...snapshotOrchestrations.filter((o) => !copies.has(String(o.id))).map((o) => `orchestration "${o.name}" (${o.id})`));
      }

      let triggers = 0;
      if ((await reader.triggers()).length) {
        const marked = await triggerMarkers(reader);
        removed.push(...(await removeLateTriggers(client, reader, marked)));
        const tokens = new Set((await client.tokens.list()).filter((t) => marked.sourceIdIn(t.description) !== undefined).map((t) => String(t.id)));
        triggers = (await client.triggers.list()).filter((t) => tokens.has(String(t.runWithTokenId))).length;
      }

      const writers = (await reader.record<WritersResults>(WRITERS_RESULTS_FILE)) ?? {};
      const workspaceOwners = new Map<string, { componentId: string; configId: string }>();
      for (const workspace of await client.workspaces.list()) {
        if (workspace.component && workspace.configurationId) workspaceOwners.set(String(workspace.id), { componentId: workspace.component, configId: workspace.configurationId });
      }
      const kept = new Set((writers.snowflake?.moved ?? []).map((m) => m.workspaceId));
      for (const workspaceId of kept) {
        const owner = workspaceOwners.get(workspaceId);
        if (owner) removed.push(...(await removeLateWorkspaces(client, reader, owner, workspaceId)));
        else missing.push(`Snowflake workspace ${workspaceId}`);
      }

      const goodData = writers.gooddata?.moved ?? [];
      if (goodData.length && input.source) {
        for (const move of goodData) removed.push(...(await removeLateGoodDataProjects(client, reader, goodDataMarker(move.oldProjectId, input.source), move.newProjectId)));
      }

      if (missing.length) {
        throw ApplicationFailure.create({
          type: 'VerificationFailed',
          nonRetryable: true,
          message: `verification found ${missing.length} entit${missing.length === 1 ? 'y' : 'ies'} that the restore created and the destination no longer has: ${missing.slice(0, 10).join('; ')}`,
          details: [missing],
        });
      }
      return { orchestrations, triggers, workspaces: kept.size, goodDataProjects: goodData.length, lateCopiesRemoved: removed };
    },
  };
}
