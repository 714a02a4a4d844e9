/** Storage API triggers (blueprint "Group Triggers"). */
import { z } from 'zod';
import { idLike } from './common';

export const TriggerSchema = z.looseObject({
  id: idLike,
  runWithTokenId: idLike,
  component: z.string(),
  configurationId: idLike,
  lastRun: z.string().nullable().optional(),
  coolDownPeriodMinutes: z.number(),
  creatorToken: z.looseObject({ id: idLike.optional(), description: z.string().optional() }).optional(),
  tables: z.array(z.looseObject({ tableId: z.string() })),
});
export type Trigger = z.infer<typeof TriggerSchema>;
