/**
 * Typed client of a stack's legacy Orchestrator API (Keboola's Orchestrator API blueprint).
 *
 * The service URL is discovered from the stack's API index (`services[]`, id `orchestrator`); requests carry the
 * project's Storage API token (`X-StorageApi-Token`) and go through StackClient.request, so failures are the same
 * classified StackErrors as for the Storage API and answers are validated with the zod schemas of stack/schemas/orchestrator.ts.
 */
import { z } from 'zod';
import { StackError } from './errors';
import {
  OrchestrationDetailSchema,
  OrchestrationNotificationSchema,
  OrchestrationSchema,
  OrchestrationTaskSchema,
  type Orchestration,
  type OrchestrationDetail,
  type OrchestrationNotification,
  type OrchestrationTask,
} from './schemas';
import { StackClient, type StackClientOptions } from './client';

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

export type UpdateOrchestrationInput = Partial<CreateOrchestrationInput>;

export const ORCHESTRATOR_SERVICE_ID = 'orchestrator';

export type OrchestratorClientOptions = StackClientOptions | { stackClient: StackClient };

export class OrchestratorClient {
  readonly stack: StackClient;
  #serviceUrl: Promise<string | null> | undefined;

  constructor(options: OrchestratorClientOptions) {
    this.stack = 'stackClient' in options ? options.stackClient : new StackClient(options);
  }

  /** The Orchestrator's URL from the API index, or null when the stack has no legacy Orchestrator. */
  async serviceUrl(): Promise<string | null> {
    this.#serviceUrl ??= this.stack.apiIndex().then(
      (index) => index.services.find((s) => s.id === ORCHESTRATOR_SERVICE_ID)?.url.replace(/\/+$/, '') ?? null,
      (error: unknown) => {
        this.#serviceUrl = undefined; // a failed discovery is retried by the next call
        throw error;
      },
    );
    return this.#serviceUrl;
  }

  async #url(endpoint: string): Promise<string> {
    const url = await this.serviceUrl();
    if (url) return url;
    throw new StackError({
      kind: 'not-found',
      endpoint,
      message: `${this.stack.url} has no legacy Orchestrator: its API index lists no "${ORCHESTRATOR_SERVICE_ID}" service`,
    });
  }

  async listOrchestrations(): Promise<Orchestration[]> {
    const serviceUrl = await this.#url('GET /orchestrations');
    return (await this.stack.request('GET', '/orchestrations', OrchestrationSchema, { serviceUrl, list: true })) as unknown as Orchestration[];
  }

  /** The orchestration with its tasks and notifications, or null when it does not exist. */
  async getOrchestration(id: number | string): Promise<OrchestrationDetail | null> {
    const serviceUrl = await this.#url('GET /orchestrations/{id}');
    return this.stack.request('GET', `/orchestrations/${seg(id)}`, OrchestrationDetailSchema, { serviceUrl, allow404: true });
  }

  async createOrchestration(input: CreateOrchestrationInput): Promise<OrchestrationDetail> {
    const serviceUrl = await this.#url('POST /orchestrations');
    return (await this.stack.request('POST', '/orchestrations', OrchestrationDetailSchema, { serviceUrl, json: compact({ ...input }) }))!;
  }

  async updateOrchestration(id: number | string, input: UpdateOrchestrationInput): Promise<OrchestrationDetail> {
    const serviceUrl = await this.#url('PUT /orchestrations/{id}');
    return (await this.stack.request('PUT', `/orchestrations/${seg(id)}`, OrchestrationDetailSchema, { serviceUrl, json: compact({ ...input }) }))!;
  }

  /** Replaces the tasks (the service answers 202 with the new list). */
  async updateTasks(id: number | string, tasks: OrchestrationTaskInput[]): Promise<OrchestrationTask[]> {
    const serviceUrl = await this.#url('PUT /orchestrations/{id}/tasks');
    return (await this.stack.request('PUT', `/orchestrations/${seg(id)}/tasks`, OrchestrationTaskSchema, { serviceUrl, json: tasks, list: true })) as unknown as OrchestrationTask[];
  }

  /** Replaces the notifications (the service answers 202 with the new list). */
  async updateNotifications(id: number | string, notifications: OrchestrationNotificationInput[]): Promise<OrchestrationNotification[]> {
    const serviceUrl = await this.#url('PUT /orchestrations/{id}/notifications');
    return (await this.stack.request('PUT', `/orchestrations/${seg(id)}/notifications`, OrchestrationNotificationSchema, {
      serviceUrl,
      json: notifications,
      list: true,
    })) as unknown as OrchestrationNotification[];
  }

  async deleteOrchestration(id: number | string): Promise<void> {
    const serviceUrl = await this.#url('DELETE /orchestrations/{id}');
    await this.stack.request('DELETE', `/orchestrations/${seg(id)}`, z.unknown(), { serviceUrl });
  }
}

/** `{ url, token }` of the stack (the Orchestrator's URL is discovered), or an existing StackClient. */
export function createOrchestratorClient(options: OrchestratorClientOptions): OrchestratorClient {
  return new OrchestratorClient(options);
}

const seg = (value: string | number): string => encodeURIComponent(String(value));

function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
