/** Buckets (blueprint "Group Buckets"). */
import { z } from 'zod';
import { MetadataListSchema, ProjectRefSchema, idLike } from './common';

export const BucketSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  /** `in`, `out` (and `sys` for system buckets, which are listed but not documented for creation). */
  stage: z.string(),
  displayName: z.string().optional(),
  description: z.string().nullable().optional(),
  uri: z.string().optional(),
  tables: z.string().optional(),
  backend: z.string(),
  created: z.string().optional(),
  lastChangeDate: z.string().nullable().optional(),
  updated: z.string().nullable().optional(),
  isReadOnly: z.boolean().optional(),
  isMaintenance: z.boolean().optional(),
  dataSizeBytes: z.number().nullable().optional(),
  rowsCount: z.number().nullable().optional(),
  color: z.string().nullable().optional(),
  isLinkedBucket: z.boolean().optional(),
  sourceBucket: z
    .looseObject({ id: z.string(), name: z.string().optional(), project: ProjectRefSchema.optional() })
    .nullable()
    .optional(),
  linkedBy: z.array(z.looseObject({ id: z.string(), project: ProjectRefSchema.optional() })).optional(),
  sharing: z.string().nullable().optional(),
  owner: z.looseObject({ id: idLike, name: z.string().optional() }).nullable().optional(),
  path: z.string().nullable().optional(),
  backendPath: z.array(z.string()).optional(),
  metadata: MetadataListSchema.optional(),
});
export type Bucket = z.infer<typeof BucketSchema>;
