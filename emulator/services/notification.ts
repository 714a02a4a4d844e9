/**
 * Keboola's Notification service (`notification` in the API index; docs/CONTRACTS.md#notification-service): a
 * project's subscriptions to job events, each sent to an email address or a webhook.
 * - `GET /project-subscriptions` → the project's subscriptions;
 * - `POST /project-subscriptions` `{event, filters: [{field, value, operator}], recipient: {channel, address | url}}` → 201;
 * - `GET|DELETE /project-subscriptions/{id}`.
 * The Storage API token of the project authenticates (`X-StorageApi-Token`); bodies are JSON only.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { jsonBody } from '../body';
import type { RequestContext, StackHost } from '../host';
import { str } from '../params';
import { ApiError, badRequest, notFound, reply } from '../replies';
import type { notificationSeedSchema } from '../seed';
import { timestamp, type ProjectRecord, type SubscriptionRecord } from '../state';

const BASE = '/_services/notification/project-subscriptions';

/** The job events a subscription may name (Keboola's Notification service). */
export const NOTIFICATION_EVENTS = ['job-failed', 'job-succeeded', 'job-succeeded-with-warning', 'job-processing-long', 'phase-job-failed', 'phase-job-succeeded', 'phase-job-succeeded-with-warning', 'phase-job-processing-long'] as const;
const OPERATORS = ['==', '!=', '>', '<', '>=', '<='];

type SubscriptionInput = z.infer<typeof notificationSeedSchema>;

function subscriptionsOf(p: ProjectRecord): SubscriptionRecord[] {
  return (p.notificationSubscriptions ??= []);
}

/** Checks a subscription as the service does; `where` names the request or the seed entry in errors. */
export function newSubscription(raw: unknown, where = 'Request body'): SubscriptionRecord {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`${where} must be a JSON object`, 'notification.validation');
  const body = raw as Partial<SubscriptionInput> & Record<string, unknown>;
  const event = str(body.event);
  if (!event || !(NOTIFICATION_EVENTS as readonly string[]).includes(event)) {
    throw badRequest(`${where}: "event" must be one of ${NOTIFICATION_EVENTS.join(', ')}`, 'notification.validation');
  }
  if (!Array.isArray(body.filters ?? [])) throw badRequest(`${where}: "filters" must be an array`, 'notification.validation');
  const filters = (body.filters ?? []).map((f, i) => {
    const field = str(f?.field);
    const operator = str(f?.operator) ?? '==';
    if (!field || f?.value === undefined || f.value === null) throw badRequest(`${where}: filters[${i}] needs "field" and "value"`, 'notification.validation');
    if (!OPERATORS.includes(operator)) throw badRequest(`${where}: filters[${i}].operator must be one of ${OPERATORS.join(' ')}`, 'notification.validation');
    return { field, value: String(f.value), operator };
  });
  const recipient = body.recipient as Record<string, unknown> | undefined;
  const channel = str(recipient?.channel);
  let parsed: SubscriptionRecord['recipient'];
  if (channel === 'email' && /^[^@\s]+@[^@\s]+$/.test(str(recipient?.address) ?? '')) parsed = { channel, address: str(recipient!.address)! };
  else if (channel === 'webhook' && /^https?:\/\//.test(str(recipient?.url) ?? '')) parsed = { channel, url: str(recipient!.url)! };
  else throw badRequest(`${where}: "recipient" must be {channel: "email", address} or {channel: "webhook", url}`, 'notification.validation');
  return { id: randomUUID(), event, filters, recipient: parsed, created: timestamp() };
}

export function seedSubscriptions(p: ProjectRecord, seeds: SubscriptionInput[]): void {
  for (const [i, seed] of seeds.entries()) subscriptionsOf(p).push(newSubscription(seed, `notifications[${i}] of project ${p.id}`));
}

function subscriptionJson(s: SubscriptionRecord): Record<string, unknown> {
  return { id: s.id, event: s.event, filters: s.filters, recipient: s.recipient, createdAt: s.created };
}

export function registerNotification(host: StackHost): void {
  host.serviceIds.push('notification');
  const api = host.publicApi;
  const auth = (ctx: RequestContext): ProjectRecord => {
    const value = str(ctx.req.headers['x-storageapi-token']);
    if (!value) throw new ApiError(401, 'notification.tokenMissing', 'Missing X-StorageApi-Token header');
    const owner = host.tokenOwner(value);
    if (!owner) throw new ApiError(401, 'notification.tokenInvalid', 'Invalid access token');
    return owner.project;
  };
  const find = (p: ProjectRecord, id: string | undefined): SubscriptionRecord => {
    const found = subscriptionsOf(p).find((s) => s.id === id);
    if (!found) throw notFound('notification.notFound', `Subscription ${id} not found`);
    return found;
  };

  api.get(BASE, (ctx) => reply(200, subscriptionsOf(auth(ctx)).map(subscriptionJson)));
  api.post(BASE, async (ctx) => {
    const p = auth(ctx);
    if (!/^application\/json\b/i.test(str(ctx.req.headers['content-type']) ?? '')) {
      throw badRequest('The request body must be JSON, sent as Content-Type: application/json', 'notification.invalidContentType');
    }
    const subscription = newSubscription(await jsonBody(ctx.req, ctx.res, 'notification.invalidJson'));
    subscriptionsOf(p).push(subscription);
    host.changed();
    return reply(201, subscriptionJson(subscription));
  });
  api.get(`${BASE}/{subscriptionId}`, (ctx, { subscriptionId }) => reply(200, subscriptionJson(find(auth(ctx), subscriptionId))));
  api.delete(`${BASE}/{subscriptionId}`, (ctx, { subscriptionId }) => {
    const p = auth(ctx);
    const s = find(p, subscriptionId);
    p.notificationSubscriptions = subscriptionsOf(p).filter((x) => x !== s);
    host.changed();
    return reply(204);
  });
}
