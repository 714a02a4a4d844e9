/**
 * The stack's Notification service (the `notification` service of the API index, discovered on first use; Keboola's
 * SubscriptionClient): a project's subscriptions to job events (`job-failed`, `job-processing-long`, ...), each with
 * filters (`job.configuration.id == ...`, `branch.id == ...`) and one recipient (an email address or a webhook).
 */
import { z } from 'zod';
import { SubscriptionSchema, type Subscription, type SubscriptionInput } from '../schemas';
import { seg } from '../transport';
import { StackResource } from './resource';

const SERVICE = 'notification';
const PATH = '/project-subscriptions';

export class NotificationsResource extends StackResource {
  /** Whether the stack offers the service at all (older stacks do not). */
  async available(): Promise<boolean> {
    return (await this.transport.serviceUrl(SERVICE)) !== null;
  }

  list(): Promise<Subscription[]> {
    return this.transport.request('GET', PATH, z.array(SubscriptionSchema), { service: SERVICE });
  }

  create(subscription: SubscriptionInput): Promise<Subscription> {
    const { event, filters, recipient } = subscription;
    return this.transport.request('POST', PATH, SubscriptionSchema, { service: SERVICE, json: { event, filters, recipient } });
  }

  async delete(id: string): Promise<void> {
    await this.transport.request('DELETE', `${PATH}/${seg(id)}`, z.unknown(), { service: SERVICE });
  }
}
