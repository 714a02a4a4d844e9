/**
 * The stack's legacy Orchestrator API (Keboola's Orchestrator API blueprint): the `orchestrator` service of the API
 * index, discovered on first use. Requests carry the project's Storage API token and fail with the same classified
 * StackErrors as the Storage API's.
 */
import {
  OrchestrationDetailSchema,
  OrchestrationNotificationSchema,
  OrchestrationSchema,
  OrchestrationTaskSchema,
  type Orchestration,
  type OrchestrationDetail,
  type OrchestrationNotification,
  type OrchestrationTask,
} from '../schemas';
import { seg } from '../transport';
import { StackResource, compact } from './resource';

/** What is sent for a task (documented attributes only). */
export interface OrchestrationTaskInput {
  component?: string;
  componentUrl?: string;
  action?: string;
  actionParameters?: Record<string, unknown>;
  continueOnFailure?: boolean;
  active?: boolean;
  timeoutMinutes?: number | null;
  phase?: string | number | null;
}

export interface OrchestrationNotificationInput {
  email: string;
  channel: 'error' | 'waiting' | 'processing' | string;
  parameters?: Record<string, unknown>;
}

export interface CreateOrchestrationInput {
  name: string;
  crontabRecord?: string | null;
  crontabTimezone?: string;
  /** Token the orchestration runs with; without it the service creates a new one. */
  tokenId?: number | string;
  active?: boolean;
  notifications?: OrchestrationNotificationInput[];
  tasks?: OrchestrationTaskInput[];
}

const SERVICE = 'orchestrator';

export class OrchestratorResource extends StackResource {
  /** The Orchestrator's URL from the API index, or null when the stack has no legacy Orchestrator. */
  async serviceUrl(): Promise<string | null> {
    return this.transport.serviceUrl(SERVICE);
  }

  async list(): Promise<Orchestration[]> {
    return this.transport.list('GET', '/orchestrations', OrchestrationSchema, { service: SERVICE });
  }

  /** The orchestration with its tasks and notifications, or null when it does not exist. */
  async get(id: number | string): Promise<OrchestrationDetail | null> {
    return this.transport.request('GET', `/orchestrations/${seg(id)}`, OrchestrationDetailSchema, { service: SERVICE, allow404: true });
  }

  async create(input: CreateOrchestrationInput): Promise<OrchestrationDetail> {
    return this.transport.request('POST', '/orchestrations', OrchestrationDetailSchema, { service: SERVICE, json: compact({ ...input }) });
  }

  /** Changes the orchestration's name, schedule or `active` flag (`PUT /orchestrations/{id}`). */
  async update(id: number | string, input: Partial<Pick<CreateOrchestrationInput, 'name' | 'crontabRecord' | 'crontabTimezone' | 'active'>>): Promise<OrchestrationDetail> {
    return this.transport.request('PUT', `/orchestrations/${seg(id)}`, OrchestrationDetailSchema, { service: SERVICE, json: compact({ ...input }) });
  }

  /** Switches the orchestration's schedule on or off. */
  async setActive(id: number | string, active: boolean): Promise<OrchestrationDetail> {
    return this.update(id, { active });
  }

  /** Deletes the orchestration (and with it its configuration of `orchestrator`). */
  async delete(id: number | string): Promise<void> {
    await this.transport.send('DELETE', `/orchestrations/${seg(id)}`, { service: SERVICE });
  }

  /** Replaces the tasks (the service answers 202 with the new list). */
  async updateTasks(id: number | string, tasks: OrchestrationTaskInput[]): Promise<OrchestrationTask[]> {
    return this.transport.list('PUT', `/orchestrations/${seg(id)}/tasks`, OrchestrationTaskSchema, { service: SERVICE, json: tasks });
  }

  /** Replaces the notifications (the service answers 202 with the new list). */
  async updateNotifications(id: number | string, notifications: OrchestrationNotificationInput[]): Promise<OrchestrationNotification[]> {
    return this.transport.list('PUT', `/orchestrations/${seg(id)}/notifications`, OrchestrationNotificationSchema, { service: SERVICE, json: notifications });
  }
}
