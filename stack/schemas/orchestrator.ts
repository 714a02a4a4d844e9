/** The legacy Orchestrator API (Keboola's Orchestrator API blueprint): orchestrations, their tasks and notifications. */
import { z } from 'zod';
import { JsonObjectSchema, idLike } from './common';

/** A task: one of `component` / `componentUrl` is set; `phase` and `id` are sent by the service but not documented. */
export const OrchestrationTaskSchema = z.looseObject({
  id: idLike.optional(),
  component: z.string().nullable().optional(),
  componentUrl: z.string().nullable().optional(),
  action: z.string().nullable().optional(),
  actionParameters: JsonObjectSchema.optional(),
  continueOnFailure: z.boolean().optional(),
  timeoutMinutes: z.number().nullable().optional(),
  active: z.boolean().optional(),
  phase: z.union([z.string(), z.number()]).nullable().optional(),
});
export type OrchestrationTask = z.infer<typeof OrchestrationTaskSchema>;

export const OrchestrationNotificationSchema = z.looseObject({
  email: z.string(),
  channel: z.string(),
  parameters: JsonObjectSchema.optional(),
});
export type OrchestrationNotification = z.infer<typeof OrchestrationNotificationSchema>;

/** An item of the list (`GET /orchestrations`). */
export const OrchestrationSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  crontabRecord: z.string().nullable(),
  crontabTimezone: z.string().nullable().optional(),
  createdTime: z.string(),
  lastScheduledTime: z.string().nullable(),
  nextScheduledTime: z.string().nullable(),
  active: z.boolean(),
  token: z.looseObject({ id: idLike, description: z.string().nullable().optional() }).nullable(),
  uri: z.string(),
});
export type Orchestration = z.infer<typeof OrchestrationSchema>;

/** The detail (`GET /orchestrations/{id}`, and the answer of create and update). */
export const OrchestrationDetailSchema = OrchestrationSchema.extend({
  notifications: z.array(OrchestrationNotificationSchema),
  tasks: z.array(OrchestrationTaskSchema),
});
export type OrchestrationDetail = z.infer<typeof OrchestrationDetailSchema>;
