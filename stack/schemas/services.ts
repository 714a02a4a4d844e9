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

export const ApiIndexSchema = z.looseObject({
  api: z.string().optional(),
  version: z.string().optional(),
  components: z.array(ApiIndexComponentSchema),
  services: z.array(z.looseObject({ id: z.string(), url: z.string() })),
  features: z.array(z.string()),
});
export type ApiIndex = z.infer<typeof ApiIndexSchema>;
