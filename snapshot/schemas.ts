// One zod schema per file of a snapshot: Keboola's project-backup layout plus our manifest and orchestrations
// (docs/domain.md, "Snapshot layout"). A backup folder written by someone else is untrusted input, so every file
// is checked against these before anything is restored from it. The schemas are loose: Keboola's files carry
// more fields than the restore reads, and those pass through untouched.
import { z } from 'zod';

/** IDs are strings in the Storage API, but older backups and the Orchestrator write numbers. */
const id = z.union([z.string().min(1), z.number()]).transform(String);
const nullableString = z.string().nullable().optional();

export const MetadataEntrySchema = z.looseObject({
  key: z.string(),
  value: z.string(),
  provider: z.string().optional(),
});
export type MetadataEntry = z.infer<typeof MetadataEntrySchema>;
const metadataList = z.array(MetadataEntrySchema);

export const SnapshotBucketSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  stage: z.string().min(1),
  description: nullableString,
  displayName: nullableString,
  color: nullableString,
  backend: nullableString,
  sourceBucket: z.unknown().optional(),
  isLinkedBucket: z.boolean().optional(),
  metadata: metadataList.optional(),
});
export type SnapshotBucket = z.infer<typeof SnapshotBucketSchema>;

const TypedColumnSchema = z.looseObject({
  name: z.string(),
  definition: z.looseObject({
    type: z.string(),
    nullable: z.boolean().optional(),
    // The Storage API answers a length such as "38,0"; some writers of backups use a number.
    length: z.union([z.string(), z.number()]).transform(String).nullable().optional(),
    default: z.union([z.string(), z.number()]).transform(String).nullable().optional(),
  }),
  basetype: z.string().optional(),
});
export type TypedColumn = z.infer<typeof TypedColumnSchema>;

export const SnapshotTableSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  displayName: nullableString,
  bucket: z.looseObject({ id: z.string() }).optional(),
  columns: z.array(z.string()),
  primaryKey: z.array(z.string()).optional(),
  isAlias: z.boolean().optional(),
  isTyped: z.boolean().optional(),
  definition: z.looseObject({ columns: z.array(TypedColumnSchema).optional() }).nullable().optional(),
  metadata: metadataList.optional(),
  // PHP writes an empty object as `[]`.
  columnMetadata: z.union([z.record(z.string(), metadataList), z.array(z.never()).transform((): Record<string, MetadataEntry[]> => ({}))]).optional(),
  sourceTable: z.looseObject({ id: z.string() }).nullable().optional(),
  aliasFilter: z.looseObject({ column: z.string(), values: z.array(z.string()), operator: z.string().optional() }).nullable().optional(),
  aliasColumnsAutoSync: z.boolean().optional(),
  rowsCount: z.number().nullable().optional(),
  dataSizeBytes: z.number().nullable().optional(),
  // What a sync pass compares to see that the data changed (docs/sync.md).
  created: nullableString,
  lastImportDate: nullableString,
  lastChangeDate: nullableString,
});
export type SnapshotTable = z.infer<typeof SnapshotTableSchema>;

/** `configurations.json`: the components and their configurations' IDs; the bodies are in `configurations/`. */
export const ConfigurationsIndexSchema = z.array(
  z.looseObject({
    id: z.string().min(1),
    name: z.string().optional(),
    configurations: z.array(z.looseObject({ id, name: z.string().optional(), description: nullableString })).optional(),
  }),
);
export type ConfigurationsIndex = z.infer<typeof ConfigurationsIndexSchema>;

const ConfigurationRowSchema = z.looseObject({
  id,
  name: z.string().optional(),
  description: nullableString,
  configuration: z.unknown().optional(),
  state: z.unknown().optional(),
  isDisabled: z.boolean().optional(),
});

/** `configurations/<componentId>/<configId>.json`: one configuration with its rows and state. */
export const SnapshotConfigurationSchema = z.looseObject({
  name: z.string(),
  description: nullableString,
  configuration: z.unknown().optional(),
  state: z.unknown().optional(),
  isDisabled: z.boolean().optional(),
  rowsSortOrder: z.array(z.union([z.string(), z.number()]).transform(String)).nullable().optional(),
  rows: z.array(ConfigurationRowSchema).optional(),
});
export type SnapshotConfiguration = z.infer<typeof SnapshotConfigurationSchema> & { id: string };

export const BranchMetadataSchema = metadataList;

export const SnapshotTriggerSchema = z.looseObject({
  id,
  runWithTokenId: id.optional(),
  component: z.string(),
  configurationId: id,
  coolDownPeriodMinutes: z.union([z.number(), z.string()]).optional(),
  tables: z.array(z.looseObject({ tableId: z.string() })),
});
export type SnapshotTrigger = z.infer<typeof SnapshotTriggerSchema>;

/** Subscriptions of Keboola's Notification service; kept as they are. */
/** Notification service subscriptions (`GET project-subscriptions` of the source, as Keboola's backup writes them). */
export const SnapshotSubscriptionSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String).optional(),
  event: z.string(),
  filters: z.array(z.looseObject({ field: z.string(), value: z.union([z.string(), z.number()]).transform(String), operator: z.string().default('==') })).default([]),
  recipient: z.union([z.looseObject({ channel: z.literal('email'), address: z.string() }), z.looseObject({ channel: z.literal('webhook'), url: z.string() })]),
});
export type SnapshotSubscription = z.infer<typeof SnapshotSubscriptionSchema>;
export const NotificationsSchema = z.array(SnapshotSubscriptionSchema);

/** Permanent files (`permanentFiles.json`): their tags here, their content at `files/{name}`. A tag is a string, or `{name}` in older backups. */
export const PermanentFilesSchema = z.array(
  z.looseObject({
    id: id.optional(),
    name: z.string().min(1),
    tags: z.array(z.union([z.string(), z.looseObject({ name: z.string() }).transform((tag) => tag.name)])).default([]),
  }),
);
export type SnapshotPermanentFile = z.infer<typeof PermanentFilesSchema>[number];

const OrchestrationTaskSchema = z.looseObject({
  component: z.string().nullable().optional(),
  componentUrl: z.string().nullable().optional(),
  action: z.string().nullable().optional(),
  actionParameters: z.record(z.string(), z.unknown()).optional(),
  continueOnFailure: z.boolean().optional(),
  timeoutMinutes: z.number().nullable().optional(),
  active: z.boolean().optional(),
  phase: z.union([z.string(), z.number()]).nullable().optional(),
});

/** Our extension of the layout: every legacy orchestration in full (the Orchestrator API's detail). */
export const SnapshotOrchestrationSchema = z.looseObject({
  id,
  name: z.string(),
  crontabRecord: z.string().nullable().optional(),
  crontabTimezone: z.string().nullable().optional(),
  active: z.boolean().optional(),
  tasks: z.array(OrchestrationTaskSchema).default([]),
  notifications: z.array(z.looseObject({ email: z.string(), channel: z.string(), parameters: z.record(z.string(), z.unknown()).optional() })).default([]),
});
export type SnapshotOrchestration = z.infer<typeof SnapshotOrchestrationSchema>;

export const TableDataSnapshotSchema = z.object({
  tableId: z.string(),
  files: z.array(z.string()),
  bytes: z.number(),
  rows: z.number(),
  checksum: z.string(),
  digests: z.record(z.string(), z.string()).optional(),
});

/** Our manifest: written last, so a snapshot with one is complete and never changes. */
export const ManifestSchema = z.looseObject({
  formatVersion: z.number().int(),
  createdAt: z.string(),
  source: z.object({ url: z.string(), projectId: z.number() }),
  counts: z.object({ buckets: z.number(), tables: z.number(), aliases: z.number(), configurations: z.number(), configurationRows: z.number() }),
  bytes: z.number(),
  tables: z.array(TableDataSnapshotSchema),
});
export type SnapshotManifest = z.infer<typeof ManifestSchema>;
