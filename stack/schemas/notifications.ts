/** The Notification service (the `notification` service of the API index): project subscriptions to job events. */
import { z } from 'zod';

export const SubscriptionFilterSchema = z.looseObject({ field: z.string(), value: z.union([z.string(), z.number()]).transform(String), operator: z.string() });

export const SubscriptionRecipientSchema = z.union([
  z.looseObject({ channel: z.literal('email'), address: z.string() }),
  z.looseObject({ channel: z.literal('webhook'), url: z.string() }),
]);

export const SubscriptionSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String),
  event: z.string(),
  filters: z.array(SubscriptionFilterSchema).default([]),
  recipient: SubscriptionRecipientSchema,
});
export type Subscription = z.infer<typeof SubscriptionSchema>;
export type SubscriptionInput = Omit<z.input<typeof SubscriptionSchema>, 'id'>;
