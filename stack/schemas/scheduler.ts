/**
 * The Scheduler service (the `scheduler` service of the API index): the project's active schedules, each a
 * `keboola.scheduler` configuration as it read when activated (Keboola's Scheduler API, schema `Schedule`).
 */
import { z } from 'zod';
import { idLike } from './common';

const id = idLike.transform(String);

export const ScheduleSchema = z.looseObject({
  id,
  /** The Storage token the schedule runs its target with. */
  tokenId: id,
  /** The `keboola.scheduler` configuration activated. */
  configurationId: id,
  /** Its version when activated: the one the schedule keeps using until the configuration is activated again. */
  configurationVersionId: id,
  schedule: z.looseObject({ cronTab: z.string(), timezone: z.string(), state: z.enum(['enabled', 'disabled']) }),
  /** The configuration run; `tag` (the component's image tag) is in the spec but in none of its examples. */
  target: z.looseObject({ componentId: z.string(), configurationId: id, mode: z.string(), tag: z.string().nullable().optional() }),
  executions: z.array(z.looseObject({ jobId: id, executionTime: z.string() })).default([]),
});
export type Schedule = z.infer<typeof ScheduleSchema>;
