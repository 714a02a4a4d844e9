/** The API index (`GET /v2/storage`): the stack's components, services and features. */
import { z } from 'zod';

export const ApiIndexComponentSchema = z.looseObject({
  id: z.string(),
  /** The blueprint's example of the full index omits type and name (only `exclude=componentDetails` lists them). */
  type: z.string().optional(),
  name: z.string().optional(),
  flags: z.array(z.string()).optional(),
  uri: z.string().optional(),
});
export type ApiIndexComponent = z.infer<typeof ApiIndexComponentSchema>;

/**
 * The stack itself. Not in the blueprint: some stacks (and the emulator) add it. Read best-effort: a field
 * (or the whole object) of another shape reads as absent instead of failing the index.
 */
export const ApiIndexStackSchema = z.looseObject({
  name: z.string().nullable().optional().catch(undefined),
  region: z.string().optional().catch(undefined),
  /** Host of the stack's Keboola-provisioned Snowflake account (writers, workspaces). */
  snowflakeHost: z.string().optional().catch(undefined),
  /** Addresses the stack connects from (for customers' IP whitelists). */
  outboundIpAddresses: z.array(z.string()).optional().catch(undefined),
});

export const ApiIndexSchema = z.looseObject({
  api: z.string().optional(),
  version: z.string().optional(),
  components: z.array(ApiIndexComponentSchema),
  services: z.array(z.looseObject({ id: z.string(), url: z.string() })),
  features: z.array(z.string()),
  stack: ApiIndexStackSchema.optional().catch(undefined),
});
export type ApiIndex = z.infer<typeof ApiIndexSchema>;
