// What operators and support tooling send to a running migration: approval (as a signal for `temporal workflow
// signal` and the Web UI, or as an update that says at once whether it was accepted), pause and resume; and, for a
// migration kept in sync (workflows/sync.ts), a sync pass, the cutover and a rollback, each an update.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { Approval, CutoverRecord, MigrationStatus, SyncLag, SyncPassSummary } from './types';

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

const by = (what: string) => z.string().trim().min(1, `say who ${what} ("by")`).max(200);

export const syncPayloadSchema = z.object({ by: by('asks for the pass'), reason: z.string().max(2000).optional() });
export type SyncPayload = z.input<typeof syncPayloadSchema>;

export const cutoverPayloadSchema = z.object({
  by: by('approves the cutover'),
  comment: z.string().max(2000).optional(),
  /** Switch the source's schedules and orchestrations off before the final pass (recorded, so a rollback can undo it). */
  switchOffSource: z.boolean().default(true),
});
export type CutoverPayload = z.input<typeof cutoverPayloadSchema>;

export const rollbackPayloadSchema = z.object({ by: by('rolls back'), comment: z.string().max(2000).optional() });
export type RollbackPayload = z.input<typeof rollbackPayloadSchema>;

/** Runs a sync pass now; answers it when it has finished. */
export const syncUpdate = defineUpdate<SyncPassSummary, [SyncPayload]>('sync');
/** Readiness check, source off, a final pass, destination on, verification: answers the cutover's record. */
export const cutoverUpdate = defineUpdate<CutoverRecord, [CutoverPayload]>('cutover');
/** After a cutover: the destination's schedules off, the source's back on, from what the cutover recorded. */
export const rollbackUpdate = defineUpdate<CutoverRecord, [RollbackPayload]>('rollback');
/** Compares the source now with the last pass: how far behind the destination is. */
export const measureLagUpdate = defineUpdate<SyncLag, []>('measureLag');
