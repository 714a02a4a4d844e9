/**
 * The stack's Scheduler service (the `scheduler` service of the API index, discovered on first use; Keboola's Scheduler
 * API): a schedule is a `keboola.scheduler` configuration (`{schedule: {cronTab, timezone, state}, target}`), and only
 * activating it here switches it on; saving the configuration in Storage does not. One schedule per configuration:
 * activating a configuration again replaces its schedule with one of the version read now.
 */
import { z } from 'zod';
import { ScheduleSchema, type Schedule } from '../schemas';
import { seg } from '../transport';
import { StackResource } from './resource';

const SERVICE = 'scheduler';

/** The configuration a schedule runs: filters `list()` (both fields or none, as the API requires). */
export interface ScheduleTarget {
  componentId: string;
  configurationId: string;
}

export class SchedulerResource extends StackResource {
  /** Whether the stack offers the service at all. */
  async available(): Promise<boolean> {
    return (await this.transport.serviceUrl(SERVICE)) !== null;
  }

  /** The project's active schedules, or those running `target`. */
  list(target?: ScheduleTarget): Promise<Schedule[]> {
    const query = target ? { componentId: target.componentId, configurationId: target.configurationId } : undefined;
    return this.transport.request('GET', '/schedules', z.array(ScheduleSchema), { service: SERVICE, query });
  }

  /** One schedule; null if there is none of that ID. */
  get(scheduleId: string): Promise<Schedule | null> {
    return this.transport.request('GET', `/schedules/${seg(scheduleId)}`, ScheduleSchema, { service: SERVICE, allow404: true });
  }

  /**
   * Activates the `keboola.scheduler` configuration `configurationId` (at `configurationVersionId`, by default its
   * current version), replacing the schedule it had; answers the new schedule.
   */
  activate(configurationId: string, configurationVersionId?: string): Promise<Schedule> {
    const json = configurationVersionId === undefined ? { configurationId } : { configurationId, configurationVersionId };
    return this.transport.request('POST', '/schedules', ScheduleSchema, { service: SERVICE, json });
  }

  /** Deactivates one schedule for good (its configuration is kept). */
  async delete(scheduleId: string): Promise<void> {
    await this.transport.request('DELETE', `/schedules/${seg(scheduleId)}`, z.unknown(), { service: SERVICE });
  }

  /** Deactivates every schedule of the `keboola.scheduler` configuration `configurationId` (the configuration is kept). */
  async deleteForConfiguration(configurationId: string): Promise<void> {
    await this.transport.request('DELETE', `/configurations/${seg(configurationId)}`, z.unknown(), { service: SERVICE });
  }
}
