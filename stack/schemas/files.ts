/** Files (blueprint "Group Files", docs/CONTRACTS.md for the GCP file provider). */
import { z } from 'zod';
import { CreatorTokenSchema, idLike } from './common';

export const GcsUploadParamsSchema = z.looseObject({
  projectId: z.string().optional(),
  bucket: z.string(),
  key: z.string(),
  access_token: z.string(),
  expires_in: z.number().optional(),
  token_type: z.string().optional(),
});

export const FileInfoSchema = z.looseObject({
  id: z.number(),
  name: z.string(),
  created: z.string().optional(),
  isSliced: z.boolean(),
  isEncrypted: z.boolean().optional(),
  isPublic: z.boolean().optional(),
  /** Signed GET URL of the object, or of the manifest when sliced. */
  url: z.string(),
  /** The file provider (`gcp`, `aws`, `azure`): decides how the file's objects are written and read. */
  provider: z.string().optional(),
  region: z.string().optional(),
  sizeBytes: z.number().nullable().optional(),
  tags: z.array(z.string()).optional(),
  maxAgeDays: z.number().nullable().optional(),
  runId: idLike.nullable().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  /** Only in the prepare (and refresh) answer (GCP). */
  gcsUploadParams: GcsUploadParamsSchema.optional(),
  /** File detail with `federationToken=1` (GCP, docs/CONTRACTS.md). */
  gcsCredentials: z
    .looseObject({
      access_token: z.string(),
      expires_in: z.number().optional(),
      token_type: z.string().optional(),
      projectId: z.string().optional(),
    })
    .optional(),
  gcsPath: z.looseObject({ bucket: z.string(), key: z.string() }).optional(),
});
export type FileInfo = z.infer<typeof FileInfoSchema>;

export const SliceManifestSchema = z.looseObject({
  entries: z.array(z.looseObject({ url: z.string() })),
});
export type SliceManifest = z.infer<typeof SliceManifestSchema>;
