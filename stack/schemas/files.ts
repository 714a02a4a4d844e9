/**
 * Files (blueprint "Group Files"; each file provider's fields: docs/CONTRACTS.md#file-transfer).
 *
 * Two views of one answer: `FileAnswerSchema`, what the stack sends (credentials included), read only inside
 * stack/; and `FileInfo`, what the client answers: only the documented fields that grant nothing, `url` without
 * its signature. Unlike every other schema of stack/schemas/, FileInfo is not loose: an undocumented field of a
 * file answer could be a credential, and a FileInfo may be logged, heartbeated or returned to Temporal.
 * The credential fields of each provider are validated by that provider (stack/file-providers/), where they are used.
 */
import { z } from 'zod';
import { CreatorTokenSchema, idLike } from './common';

const ObjectPathSchema = z.looseObject({ bucket: z.string(), key: z.string() });

const fileFields = {
  id: z.number(),
  name: z.string(),
  created: z.string().optional(),
  isSliced: z.boolean(),
  isEncrypted: z.boolean().optional(),
  isPublic: z.boolean().optional(),
  fileType: z.string().optional(),
  /** Signed GET URL of the object, or of the manifest when sliced (in a FileInfo: without the signature). */
  url: z.string(),
  /** The file provider (`aws`, `azure`, `gcp`): decides how the file's objects are written and read. */
  provider: z.string().optional(),
  region: z.string().optional(),
  sizeBytes: z.number().nullable().optional(),
  tags: z.array(z.string()).optional(),
  maxAgeDays: z.number().nullable().optional(),
  runId: idLike.nullable().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  /** Where the file's objects are (file detail with `federationToken=1`): AWS. */
  s3Path: ObjectPathSchema.optional(),
  /** Azure. */
  absPath: z.looseObject({ container: z.string(), name: z.string() }).optional(),
  /** GCP. */
  gcsPath: ObjectPathSchema.optional(),
};

/** A file answer as the stack sends it (prepare, refresh, detail): its credentials pass through, unread here. */
export const FileAnswerSchema = z.looseObject(fileFields);
export type FileAnswer = z.infer<typeof FileAnswerSchema>;

/** What the client answers for a file: documented fields only (unknown ones are dropped), no credentials. */
export const FileInfoSchema = z.object(fileFields);
export type FileInfo = z.infer<typeof FileInfoSchema>;

export const SliceManifestSchema = z.looseObject({
  entries: z.array(z.looseObject({ url: z.string() })),
});
export type SliceManifest = z.infer<typeof SliceManifestSchema>;

// ---------------------------------------------------------------- credentials, per provider

/** GCP: a short-lived OAuth access token (one hour). */
const gcsToken = { access_token: z.string(), expires_in: z.number().optional(), token_type: z.string().optional() };

/** GCP prepare and refresh answers. */
export const GcsUploadAnswerSchema = z.looseObject({
  gcsUploadParams: z.looseObject({ projectId: z.string().optional(), bucket: z.string(), key: z.string(), ...gcsToken }),
});
/** GCP file detail. */
export const GcsDownloadAnswerSchema = z.looseObject({
  gcsCredentials: z.looseObject({ ...gcsToken, projectId: z.string().optional() }),
  gcsPath: ObjectPathSchema,
});

/** AWS: temporary STS credentials (`SessionToken` empty or absent for an emulated stack, docs/object-stores.md). */
const AwsCredentialsSchema = z.looseObject({
  AccessKeyId: z.string(),
  SecretAccessKey: z.string(),
  SessionToken: z.string().optional(),
  Expiration: z.string().optional(),
});
/** AWS prepare answer. */
export const AwsUploadAnswerSchema = z.looseObject({
  region: z.string().optional(),
  uploadParams: z.looseObject({
    bucket: z.string(),
    key: z.string(),
    acl: z.string().optional(),
    'x-amz-server-side-encryption': z.string().optional(),
    credentials: AwsCredentialsSchema,
  }),
});
/** AWS file detail. */
export const AwsDownloadAnswerSchema = z.looseObject({
  region: z.string().optional(),
  s3Path: ObjectPathSchema,
  credentials: AwsCredentialsSchema,
});

/** Azure: a SAS connection string (`BlobEndpoint=...;SharedAccessSignature=...`). */
const AbsCredentialsSchema = z.looseObject({ SASConnectionString: z.string(), expiration: z.string().optional() });
/** Azure prepare answer: the blob is `blobName` (the blueprint), `name` in some answers. */
export const AbsUploadAnswerSchema = z.looseObject({
  absUploadParams: z
    .looseObject({
      blobName: z.string().optional(),
      name: z.string().optional(),
      accountName: z.string().optional(),
      container: z.string(),
      absCredentials: AbsCredentialsSchema,
    })
    .refine((params) => params.blobName !== undefined || params.name !== undefined, { message: 'blobName (or name) is required' }),
});
/** Azure file detail. */
export const AbsDownloadAnswerSchema = z.looseObject({
  absPath: z.looseObject({ container: z.string(), name: z.string() }),
  absCredentials: AbsCredentialsSchema,
});

/** The fields of a file answer that hold credentials, of every provider. */
export const FILE_CREDENTIAL_FIELDS = ['gcsUploadParams', 'gcsCredentials', 'uploadParams', 'credentials', 'absUploadParams', 'absCredentials'] as const;
