/**
 * zod schemas of the Storage API answers the client reads, written from the documented fields of
 * /work/shared/reference/storage-api.apib (and docs/CONTRACTS.md for the GCP file detail).
 *
 * Conventions:
 * - every object is loose: undocumented extra fields pass through untouched;
 * - a field is required when every example of the blueprint for that resource shows it, optional otherwise;
 * - ids whose type differs between the blueprint's own examples (token, project, creator ids) accept string or number;
 * - PHP serialises an empty map as `[]`: maps (`columnMetadata`, `configuration`, `state`) accept `[]` as `{}`.
 */
import { z } from 'zod';

const idLike = z.union([z.string(), z.number()]);

/** `[]` (PHP's empty associative array) → `{}`. */
function emptyArrayAsObject(value: unknown): unknown {
  return Array.isArray(value) && value.length === 0 ? {} : value;
}

/** Arbitrary JSON object (configuration, state). */
export const JsonObjectSchema = z.preprocess(emptyArrayAsObject, z.record(z.string(), z.unknown()));
export type JsonObject = z.infer<typeof JsonObjectSchema>;

// ---------------------------------------------------------------- metadata

export const MetadataEntrySchema = z.looseObject({
  id: idLike,
  key: z.string(),
  value: z.string(),
  /** Absent on branch and configuration metadata. */
  provider: z.string().optional(),
  timestamp: z.string(),
});
export type MetadataEntry = z.infer<typeof MetadataEntrySchema>;
export const MetadataListSchema = z.array(MetadataEntrySchema);

/** `{ columnName: MetadataEntry[] }`, `[]` when empty. */
export const ColumnMetadataSchema = z.preprocess(emptyArrayAsObject, z.record(z.string(), z.array(MetadataEntrySchema)));
export type ColumnMetadata = z.infer<typeof ColumnMetadataSchema>;

/** What the caller sends: a key and a value. */
export interface MetadataInput {
  key: string;
  value: string;
}

// ---------------------------------------------------------------- tokens and index

const CreatorTokenSchema = z.looseObject({
  id: idLike.optional(),
  description: z.string().optional(),
  name: z.string().optional(),
});

export const TokenOwnerSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  type: z.string().optional(),
  region: z.string(),
  defaultBackend: z.string(),
  hasSnowflake: z.boolean(),
  hasRedshift: z.boolean().optional(),
  hasBigquery: z.boolean().optional(),
  hasSynapse: z.boolean().optional(),
  hasExasol: z.boolean().optional(),
  hasTeradata: z.boolean().optional(),
  hasMysql: z.boolean().optional(),
  features: z.array(z.string()),
  assignedBackends: z.array(z.string()).optional(),
  fileStorageProvider: z.string().optional(),
  dataSizeBytes: z.number().nullable().optional(),
  rowsCount: z.number().nullable().optional(),
  isDisabled: z.boolean().optional(),
});

export const TokenAdminSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  features: z.array(z.string()).optional(),
  isOrganizationMember: z.boolean().optional(),
  role: z.string().optional(),
});

/**
 * Note: the verify answer also carries the token itself (`token`); the client removes it before returning
 * a TokenInfo, so a TokenInfo can be logged or passed around without leaking the secret.
 */
export const TokenInfoSchema = z
  .looseObject({
    id: idLike,
    description: z.string().nullable().optional(),
    created: z.string().optional(),
    isMasterToken: z.boolean(),
    canManageBuckets: z.boolean(),
    canManageTokens: z.boolean().optional(),
    canReadAllFileUploads: z.boolean().optional(),
    expires: z.string().nullable().optional(),
    isExpired: z.boolean().optional(),
    isDisabled: z.boolean().optional(),
    bucketPermissions: z.preprocess(emptyArrayAsObject, z.record(z.string(), z.string())).optional(),
    admin: TokenAdminSchema.optional(),
    organization: z.looseObject({ id: idLike }).nullable().optional(),
    owner: TokenOwnerSchema,
  })
  .transform((info) => {
    const { token: _secret, ...rest } = info as typeof info & { token?: unknown };
    return rest as typeof info;
  });
export type TokenInfo = z.infer<typeof TokenInfoSchema>;

export const ApiIndexComponentSchema = z.looseObject({
  id: z.string(),
  /** The blueprint's example of the full index omits type and name (only `exclude=componentDetails` lists them). */
  type: z.string().optional(),
  name: z.string().optional(),
  flags: z.array(z.string()).optional(),
  uri: z.string().optional(),
});
export const ApiIndexSchema = z.looseObject({
  api: z.string().optional(),
  version: z.string().optional(),
  components: z.array(ApiIndexComponentSchema),
  services: z.array(z.looseObject({ id: z.string(), url: z.string() })),
  features: z.array(z.string()),
});
export type ApiIndex = z.infer<typeof ApiIndexSchema>;
export type ApiIndexComponent = z.infer<typeof ApiIndexComponentSchema>;

export const DevBranchSchema = z.looseObject({
  id: idLike,
  name: z.string(),
  description: z.string().nullable().optional(),
  created: z.string().optional(),
  isDefault: z.boolean(),
});
export type DevBranch = z.infer<typeof DevBranchSchema>;

// ---------------------------------------------------------------- buckets and tables

const ProjectRefSchema = z.looseObject({ id: idLike, name: z.string().optional() });

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

/** The bucket embedded in a table: the blueprint's examples omit some bucket fields there. */
export const TableBucketSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  displayName: z.string().optional(),
  stage: z.string().optional(),
  description: z.string().nullable().optional(),
  backend: z.string().optional(),
  isLinkedBucket: z.boolean().optional(),
});

export const ColumnDefinitionSchema = z.looseObject({
  name: z.string(),
  definition: z.looseObject({
    type: z.string(),
    nullable: z.boolean().optional(),
    length: z.union([z.string(), z.number()]).nullable().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
  }),
  basetype: z.string().nullable().optional(),
  canBeFiltered: z.boolean().optional(),
});
export type ColumnDefinition = z.infer<typeof ColumnDefinitionSchema>;

export const TableDefinitionSchema = z.looseObject({
  primaryKeysNames: z.array(z.string()),
  columns: z.array(ColumnDefinitionSchema),
});
export type TableDefinition = z.infer<typeof TableDefinitionSchema>;

export const AliasFilterSchema = z.looseObject({
  column: z.string(),
  operator: z.string().optional(),
  values: z.array(z.string()),
});
export type AliasFilter = z.infer<typeof AliasFilterSchema>;

export const TableSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  displayName: z.string().optional(),
  uri: z.string().optional(),
  primaryKey: z.array(z.string()),
  columns: z.array(z.string()),
  transactional: z.boolean().optional(),
  created: z.string().optional(),
  lastImportDate: z.string().nullable().optional(),
  lastChangeDate: z.string().nullable().optional(),
  rowsCount: z.number().nullable().optional(),
  dataSizeBytes: z.number().nullable().optional(),
  isAlias: z.boolean(),
  isAliasable: z.boolean().optional(),
  isTyped: z.boolean().optional(),
  timestampType: z.string().optional(),
  tableType: z.string().optional(),
  path: z.string().nullable().optional(),
  definition: TableDefinitionSchema.optional(),
  sourceTable: z
    .looseObject({
      id: z.string(),
      uri: z.string().optional(),
      isAlias: z.boolean().optional(),
      project: ProjectRefSchema.optional(),
    })
    .nullable()
    .optional(),
  aliasColumnsAutoSync: z.boolean().optional(),
  aliasFilter: AliasFilterSchema.nullable().optional(),
  metadata: MetadataListSchema.optional(),
  columnMetadata: ColumnMetadataSchema.optional(),
  bucket: TableBucketSchema.optional(),
});
export type Table = z.infer<typeof TableSchema>;

/**
 * The blueprint documents both answers of `POST tables/{id}/metadata`: `{metadata, columnsMetadata}` and, for the
 * deprecated table-only form, the plain list of the table's metadata. A list is read as `{metadata: list}`.
 */
export const TableMetadataResultSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { metadata: value } : value),
  z.looseObject({
    metadata: MetadataListSchema.optional(),
    columnsMetadata: ColumnMetadataSchema.optional(),
  }),
);
export type TableMetadataResult = z.infer<typeof TableMetadataResultSchema>;

// ---------------------------------------------------------------- jobs

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

// ---------------------------------------------------------------- files

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
  provider: z.string().optional(),
  region: z.string().optional(),
  sizeBytes: z.number().nullable().optional(),
  tags: z.array(z.string()).optional(),
  maxAgeDays: z.number().nullable().optional(),
  runId: idLike.nullable().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  /** Only in the prepare answer (GCP). */
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

// ---------------------------------------------------------------- components and configurations

const ConfigurationVersionSchema = z.looseObject({
  created: z.string().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  changeDescription: z.string().nullable().optional(),
  versionIdentifier: z.string().optional(),
});

export const ConfigurationRowSchema = z.looseObject({
  id: z.string(),
  name: z.string().nullable().optional(),
  description: z.string().nullable().optional(),
  configuration: JsonObjectSchema,
  state: JsonObjectSchema.optional(),
  isDisabled: z.boolean().optional(),
  version: z.number().optional(),
  created: z.string().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  changeDescription: z.string().nullable().optional(),
});
export type ConfigurationRow = z.infer<typeof ConfigurationRowSchema>;

export const ConfigurationSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable().optional(),
  created: z.string().optional(),
  creatorToken: CreatorTokenSchema.optional(),
  version: z.number().optional(),
  changeDescription: z.string().nullable().optional(),
  isDisabled: z.boolean().optional(),
  isDeleted: z.boolean().optional(),
  configuration: JsonObjectSchema,
  state: JsonObjectSchema.optional(),
  rowsSortOrder: z.array(z.string()).optional(),
  rows: z.array(ConfigurationRowSchema).optional(),
  currentVersion: ConfigurationVersionSchema.optional(),
});
export type Configuration = z.infer<typeof ConfigurationSchema>;

export const ComponentWithConfigurationsSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  description: z.string().nullable().optional(),
  flags: z.array(z.string()).optional(),
  uri: z.string().optional(),
  configurations: z.array(ConfigurationSchema),
});
export type ComponentWithConfigurations = z.infer<typeof ComponentWithConfigurationsSchema>;

// ---------------------------------------------------------------- workspaces (blueprint "Group Workspaces")

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
