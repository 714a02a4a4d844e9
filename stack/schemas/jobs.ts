/** Storage jobs (blueprint "Group Jobs"): the answer of every asynchronous (202) call and of `jobs/{id}`. */
import { z } from 'zod';
import { CreatorTokenSchema, idLike } from './common';

export const JobStatusSchema = z.enum(['waiting', 'processing', 'success', 'error']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const JobErrorSchema = z.union([
  z.looseObject({ code: idLike.optional(), message: z.string().optional(), exceptionId: z.string().optional() }),
  z.string(),
]);

export const JobSchema = z.looseObject({
  id: z.number(),
  status: JobStatusSchema,
  url: z.string(),
  operationName: z.string(),
  operationParams: z.unknown().optional(),
  tableId: z.string().nullable().optional(),
  createdTime: z.string().optional(),
  startTime: z.string().nullable().optional(),
  endTime: z.string().nullable().optional(),
  runId: idLike.nullable().optional(),
  results: z.unknown().optional(),
  error: JobErrorSchema.nullable().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  metrics: z.looseObject({}).optional(),
});
export type Job = z.infer<typeof JobSchema>;

/** `results` of a finished tableExport job. */
export const ExportJobResultsSchema = z.looseObject({
  file: z.looseObject({ id: z.number() }),
  cacheHit: z.boolean().optional(),
});

/** `results` of a job that created or changed a table: the table when it names it (jobs may also set `tableId`). */
export const TableJobResultsSchema = z.looseObject({ id: z.string().optional() });
