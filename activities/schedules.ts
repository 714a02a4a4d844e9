// What runs on its own in a project, switched off on one side and on on the other at a cutover, and back at a
// rollback (docs/sync.md). A schedule runs only once the Scheduler service has activated it: saving its
// `keboola.scheduler` configuration does not (docs/CONTRACTS.md, "Scheduler service"). Flows and schedule
// configurations arrive disabled (activities/configurations.ts) and are enabled here; legacy orchestrations are
// switched through the Orchestrator's `active` flag.
import type { StackClient } from '../stack';
import type { StackRef } from '../workflows/input';
import type { SwitchedSchedules } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { DISABLED_ON_ARRIVAL } from './configurations';
import { heartbeat } from './heartbeat';

const CHANGE = 'Switched by stack-migrate at the cutover';

async function activeScheduleIds(client: StackClient): Promise<Map<string, string>> {
  if (!(await client.scheduler.available())) return new Map();
  return new Map((await client.scheduler.list()).map((s) => [String(s.configurationId), String(s.id)]));
}

async function activeOrchestrations(client: StackClient): Promise<Set<string>> {
  if (!(await client.orchestrator.serviceUrl())) return new Set();
  return new Set((await client.orchestrator.list()).filter((o) => o.active).map((o) => String(o.id)));
}

const split = (id: string) => {
  const slash = id.indexOf('/');
  return { componentId: id.slice(0, slash), configId: id.slice(slash + 1) };
};

export function createScheduleActivities(deps: ActivityDeps) {
  return {
    /**
     * What runs on its own in the project now: its active schedules and legacy orchestrations, and (from the
     * snapshot) the Flows and schedule configurations its people left enabled.
     */
    async activeSchedulesOf(input: { stack: StackRef; snapshotDir: string }): Promise<SwitchedSchedules> {
      const client = await deps.stackClient(input.stack);
      const snapshot = deps.snapshot(input.snapshotDir);
      const configurations: string[] = [];
      for (const ref of (await snapshot.index()).configurations) {
        if (!DISABLED_ON_ARRIVAL.has(ref.componentId)) continue;
        if ((await snapshot.configuration(ref)).isDisabled !== true) configurations.push(`${ref.componentId}/${ref.configId}`);
      }
      return {
        schedules: [...(await activeScheduleIds(client)).keys()].sort(),
        orchestrations: [...(await activeOrchestrations(client))].sort(),
        configurations: configurations.sort(),
      };
    },

    /**
     * Switches exactly the listed schedules, orchestrations and configurations on (or off) on one stack, then reads
     * them back: answers what it switched. Repeating it changes nothing more.
     */
    async switchSchedules(input: { stack: StackRef; switched: SwitchedSchedules; on: boolean }): Promise<SwitchedSchedules> {
      const client = await deps.stackClient(input.stack);
      const { schedules, orchestrations, configurations } = input.switched;
      // On: the configurations first (a schedule of a disabled configuration would not run); off: the schedules first.
      const setConfigurations = async () => {
        for (const id of configurations) {
          const { componentId, configId } = split(id);
          await client.configurations.update(componentId, configId, { isDisabled: !input.on, changeDescription: CHANGE });
          heartbeat();
        }
      };
      if (input.on) await setConfigurations();
      const active = await activeScheduleIds(client);
      for (const configurationId of schedules) {
        if (input.on) await client.scheduler.activate(configurationId);
        else if (active.has(configurationId)) await client.scheduler.delete(active.get(configurationId)!);
        heartbeat();
      }
      for (const id of orchestrations) await client.orchestrator.setActive(id, input.on);
      if (!input.on) await setConfigurations();

      const nowActive = await activeScheduleIds(client);
      const nowOrchestrations = await activeOrchestrations(client);
      const wrong = [
        ...schedules.filter((id) => nowActive.has(id) !== input.on).map((id) => `schedule ${id}`),
        ...orchestrations.filter((id) => nowOrchestrations.has(id) !== input.on).map((id) => `legacy orchestration ${id}`),
      ];
      if (wrong.length) {
        throw new Error(`${input.stack.url} still has ${wrong.join(', ')} switched ${input.on ? 'off' : 'on'} after switching ${input.on ? 'on' : 'off'}: the stack did not keep the change; it is tried again`);
      }
      return input.switched;
    },
  };
}
