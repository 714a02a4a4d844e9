/** Storage API triggers (blueprint "Group Triggers"): run a configuration when its tables change. */
import { TriggerSchema, type Trigger } from '../schemas';
import { seg } from '../transport';
import { StackResource } from './resource';

export interface CreateTriggerInput {
  runWithTokenId: number | string;
  /** `orchestration` (legacy orchestrations) per the blueprint. */
  component: string;
  configurationId: string;
  coolDownPeriodMinutes: number;
  tableIds: string[];
}

export class TriggersResource extends StackResource {
  async list(filter: { component?: string; configurationId?: string } = {}): Promise<Trigger[]> {
    return this.transport.list('GET', '/triggers', TriggerSchema, { query: { ...filter } });
  }

  async delete(id: number | string): Promise<void> {
    await this.transport.send('DELETE', `/triggers/${seg(id)}`);
  }

  async create(input: CreateTriggerInput): Promise<Trigger> {
    return this.transport.request('POST', '/triggers', TriggerSchema, { json: { ...input, runWithTokenId: Number(input.runWithTokenId) } });
  }
}
