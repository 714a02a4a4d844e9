// Notification subscriptions (docs/domain.md#restore-order): the source project's subscriptions to job events,
// recreated through the destination's Notification service as Keboola's restore recreates them. A `branch.id` filter
// names the destination's default branch; a filter on a legacy orchestration's configuration ID follows the
// orchestration to its new ID. Safe to re-run: a subscription that already exists is not created again.
import type { StackClient, Subscription } from '../stack';
import type { SnapshotSubscription } from '../snapshot/schemas';
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { sameJson } from './json';
import { heartbeat } from './heartbeat';

/** Keboola's legacy Orchestrator component, whose configuration IDs change in a migration. */
const LEGACY_ORCHESTRATOR = 'orchestrator';

export function createNotificationActivities(deps: ActivityDeps) {
  return {
    async restoreNotifications(input: { destination: StackRef; snapshotDir: string; idMap?: Array<{ oldId: string; newId: string }> }): Promise<RestoreOutcome> {
      const subscriptions = await deps.snapshot(input.snapshotDir).notifications();
      const outcome: RestoreOutcome = { created: [], existing: [], skipped: [] };
      if (subscriptions.length === 0) return outcome;
      const client = await deps.stackClient(input.destination);
      if (!(await client.notifications.available())) {
        for (const [i, s] of subscriptions.entries()) outcome.skipped.push({ id: describe(s, i), reason: 'the destination stack offers no Notification service: create the subscription by hand' });
        return outcome;
      }
      const branchId = await client.branches.defaultBranchId();
      const orchestrations = new Map((input.idMap ?? []).map((m) => [String(m.oldId), String(m.newId)]));
      const existing = await client.notifications.list();
      for (const [i, subscription] of subscriptions.entries()) {
        const id = describe(subscription, i);
        const filters = translateFilters(subscription, branchId, orchestrations);
        if (typeof filters === 'string') {
          outcome.skipped.push({ id, reason: filters });
          continue;
        }
        const wanted = { event: subscription.event, filters, recipient: recipientOf(subscription) };
        const found = existing.find((s) => sameSubscription(s, wanted));
        if (found) outcome.existing.push(found.id);
        else outcome.created.push((await client.notifications.create(wanted)).id);
        heartbeat(i);
      }
      deps.metrics?.entitiesMigrated('notifications', outcome.created.length);
      return outcome;
    },
  };
}

type Wanted = Pick<Subscription, 'event' | 'filters' | 'recipient'>;

/**
 * The destination's copy of a source subscription (as restoreNotifications made it), if there is one: for a sync
 * pass that removes a subscription gone from the source, or replaces one that changed.
 */
export async function copyOfSubscription(client: StackClient, subscription: SnapshotSubscription, idMap: Array<{ oldId: string; newId: string }>): Promise<Subscription | undefined> {
  const filters = translateFilters(subscription, await client.branches.defaultBranchId(), new Map(idMap.map((m) => [String(m.oldId), String(m.newId)])));
  if (typeof filters === 'string') return undefined; // never brought over
  const wanted = { event: subscription.event, filters, recipient: recipientOf(subscription) };
  return (await client.notifications.list()).find((s) => sameSubscription(s, wanted));
}

/** The filters for the destination, or why the subscription cannot be brought over. */
function translateFilters(subscription: SnapshotSubscription, branchId: string, orchestrations: Map<string, string>): Wanted['filters'] | string {
  const legacy = subscription.filters.some((f) => f.field === 'job.component.id' && f.value === LEGACY_ORCHESTRATOR);
  const out: Wanted['filters'] = [];
  for (const filter of subscription.filters) {
    if (filter.field === 'branch.id') out.push({ ...filter, value: branchId });
    else if (legacy && filter.field === 'job.configuration.id') {
      const mapped = orchestrations.get(filter.value);
      if (!mapped) return `it watches legacy orchestration ${filter.value}, which was not restored in the destination`;
      out.push({ ...filter, value: mapped });
    } else out.push({ field: filter.field, value: filter.value, operator: filter.operator });
  }
  return out;
}

function recipientOf(subscription: SnapshotSubscription): Wanted['recipient'] {
  const r = subscription.recipient;
  return r.channel === 'email' ? { channel: 'email', address: r.address } : { channel: 'webhook', url: r.url };
}

/** What a subscription is about and whom it tells: with its filters, what makes it the same subscription. */
export function eventAndRecipient(s: { event: string; recipient: Wanted['recipient'] }): string {
  return `${s.event} ${s.recipient.channel === 'email' ? `email:${s.recipient.address}` : `webhook:${s.recipient.url}`}`;
}

function sameSubscription(s: Subscription, wanted: Wanted): boolean {
  const key = (filters: Wanted['filters']) => filters.map((f) => `${f.field} ${f.operator} ${f.value}`).sort();
  return eventAndRecipient(s) === eventAndRecipient(wanted) && sameJson(key(s.filters), key(wanted.filters));
}

/** Names a subscription for the report: event and recipient (its source ID means nothing in the destination). */
function describe(s: SnapshotSubscription, index: number): string {
  const to = s.recipient.channel === 'email' ? s.recipient.address : s.recipient.url;
  return `${s.event} → ${to}${s.id ? '' : ` (#${index + 1})`}`;
}
