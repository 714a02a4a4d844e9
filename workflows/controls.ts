// What operators and support tooling send to a running migration: approval (as a signal for `temporal workflow
// signal` and the Web UI, or as an update that says at once whether it was accepted), pause and resume.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { Approval, MigrationStatus } from './types';

export const decisionPayloadSchema = z.object({
  by: z.string().trim().min(1, 'say who decides ("by")'),
  comment: z.string().max(2000, 'keep the comment under 2000 characters').optional(),
});
export type DecisionPayload = z.input<typeof decisionPayloadSchema>;

export const pausePayloadSchema = z.object({
  by: z.string().trim().min(1, 'say who pauses ("by")'),
  reason: z.string().max(2000).optional(),
});
export type PausePayload = z.input<typeof pausePayloadSchema>;

export const approveSignal = defineSignal<[DecisionPayload]>('approve');
export const rejectSignal = defineSignal<[DecisionPayload]>('reject');
/** Like the signals, but the caller learns at once whether the decision was accepted, and why not. */
export const decideUpdate = defineUpdate<Approval, [DecisionPayload & { decision: 'approve' | 'reject' }]>('decide');
export const pauseSignal = defineSignal<[PausePayload]>('pause');
export const resumeSignal = defineSignal<[PausePayload]>('resume');
export const statusQuery = defineQuery<MigrationStatus>('status');
