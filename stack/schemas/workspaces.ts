/** Workspaces (blueprint "Group Workspaces"). */
import { z } from 'zod';

export const WorkspaceConnectionSchema = z.looseObject({
  backend: z.string(),
  host: z.string(),
  region: z.string().nullable().optional(),
  database: z.string(),
  schema: z.string(),
  warehouse: z.string().nullable().optional(),
  user: z.string(),
  loginType: z.string().optional(),
});

export const WorkspaceSchema = z.looseObject({
  id: z.number(),
  name: z.string(),
  type: z.string().optional(),
  component: z.string().nullable(),
  configurationId: z.string().nullable(),
  created: z.string(),
  connection: WorkspaceConnectionSchema,
  creatorToken: z.looseObject({ id: z.union([z.number(), z.string()]), description: z.string() }).optional(),
});
export type Workspace = z.infer<typeof WorkspaceSchema>;

/** The answer of a workspace's creation: the only one carrying its password. */
export const WorkspaceCreatedSchema = WorkspaceSchema.extend({
  connection: WorkspaceConnectionSchema.extend({ password: z.string().min(1) }),
});
export type WorkspaceCreated = z.infer<typeof WorkspaceCreatedSchema>;

export const WorkspacePasswordSchema = z.looseObject({ password: z.string().min(1) });
