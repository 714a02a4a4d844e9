/** Development branches (blueprint "Group Development Branches"). */
import { z } from 'zod';
import { idLike } from './common';

export const DevBranchSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  description: z.string().nullable().optional(),
  created: z.string().optional(),
  isDefault: z.boolean(),
});
export type DevBranch = z.infer<typeof DevBranchSchema>;
