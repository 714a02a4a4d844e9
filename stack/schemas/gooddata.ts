/** GoodData's own answers, as the stack's `gooddata-provisioning` service relays them. */
import { z } from 'zod';

export const GoodDataProjectSchema = z.looseObject({
  project: z.looseObject({
    meta: z.looseObject({ title: z.string(), summary: z.string().optional(), created: z.string().optional() }),
    content: z.looseObject({ state: z.string() }),
    links: z.looseObject({ self: z.string() }),
  }),
});
export const GoodDataProjectListSchema = z.looseObject({ projects: z.array(GoodDataProjectSchema) });
export const GoodDataUriSchema = z.looseObject({ uri: z.string() });
export const GoodDataExportSchema = z.looseObject({
  exportArtifact: z.looseObject({ token: z.string().min(1), status: z.looseObject({ uri: z.string() }) }),
});
export const GoodDataTaskStateSchema = z.looseObject({
  taskState: z.looseObject({ status: z.enum(['RUNNING', 'OK', 'ERROR']), msg: z.string().optional() }),
});
export type GoodDataTaskState = z.infer<typeof GoodDataTaskStateSchema>['taskState'];
