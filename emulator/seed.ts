/**
 * Seed format of an emulated Keboola stack: the stack itself (region, component list, Snowflake host, outbound IPs)
 * and the projects living in it. Validated with zod so that a broken fixture fails loudly at start.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const keyValue = z.object({ key: z.string(), value: z.string() });
const providerMetadata = z.object({ key: z.string(), value: z.string(), provider: z.string() });
const jsonObject = z.record(z.string(), z.unknown());

export const componentSeedSchema = z.object({
  id: z.string().min(1),
  type: z.enum(['extractor', 'writer', 'application', 'transformation', 'other']),
  name: z.string(),
  description: z.string().optional(),
  flags: z.array(z.string()).optional(),
  uri: z.string().optional(),
});

/** A project of the stack's GoodData domain, with its logical data model and the data loaded into it. */
export const goodDataProjectSeedSchema = z.object({
  pid: z.string().regex(/^[a-z0-9]+$/, 'a GoodData project id is lower-case letters and digits'),
  title: z.string(),
  /** The Keboola project (of this stack) whose token may manage it. */
  ownerProjectId: z.number().int().positive(),
  model: z.object({ datasets: z.array(z.looseObject({ id: z.string(), title: z.string() })) }),
  /** Rows by dataset id. */
  data: z.record(z.string(), z.array(z.array(z.string()))).optional(),
});

export const stackSeedSchema = z.object({
  region: z.string().min(1),
  name: z.string().optional(),
  snowflakeHost: z.string().min(1),
  outboundIpAddresses: z.array(z.string()),
  /** Where the stack keeps its files: S3 (`aws`), Azure Blob Storage (`azure`) or Cloud Storage (`gcp`, the default). */
  fileProvider: z.enum(['aws', 'azure', 'gcp']).optional(),
  components: z.array(componentSeedSchema),
  features: z.array(z.string()).optional(),
  /** Manage API tokens accepted by the stack's services (Encryption API `migrate-configuration`). */
  manageTokens: z.array(z.object({ token: z.string().min(1), description: z.string() })).optional(),
  /** The stack's GoodData domain. */
  gooddata: z.object({ projects: z.array(goodDataProjectSeedSchema) }).optional(),
});

export const tokenSeedSchema = z.object({
  token: z.string().min(1),
  description: z.string(),
  isMasterToken: z.boolean().optional(),
  canManageBuckets: z.boolean().optional(),
  canManageTokens: z.boolean().optional(),
  canReadAllFileUploads: z.boolean().optional(),
  canPurgeTrash: z.boolean().optional(),
  bucketPermissions: z.record(z.string(), z.string()).optional(),
  componentAccess: z.array(z.string()).optional(),
  admin: z.object({ id: z.number(), name: z.string(), role: z.string().optional() }).optional(),
});

export const columnDefinitionSchema = z.object({
  type: z.string(),
  nullable: z.boolean().optional(),
  length: z.string().optional(),
  default: z.string().optional(),
});

export const typedColumnSchema = z.object({
  name: z.string().min(1),
  definition: columnDefinitionSchema,
  basetype: z.string(),
});

export const bucketSeedSchema = z.object({
  id: z.string().regex(/^(in|out|sys)\.c-[A-Za-z0-9_-]+$/, 'bucket id must look like in.c-name'),
  displayName: z.string().optional(),
  description: z.string().optional(),
  backend: z.string().optional(),
  color: z.string().nullable().optional(),
  metadata: z.array(providerMetadata).optional(),
  linkedFrom: z.object({ projectId: z.number(), bucketId: z.string() }).optional(),
});

export const tableSeedSchema = z.object({
  id: z.string().regex(/^(in|out|sys)\.c-[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'table id must look like in.c-bucket.table'),
  displayName: z.string().optional(),
  primaryKey: z.array(z.string()).optional(),
  columns: z.array(z.string().min(1)).min(1),
  typed: z.object({ columns: z.array(typedColumnSchema) }).optional(),
  metadata: z.array(providerMetadata).optional(),
  columnMetadata: z.record(z.string(), z.array(providerMetadata)).optional(),
  rows: z.array(z.array(z.string())).optional(),
});

export const aliasFilterSchema = z.object({
  column: z.string(),
  values: z.array(z.string()),
  operator: z.enum(['eq', 'ne']).default('eq'),
});

export const aliasSeedSchema = z.object({
  id: z.string().regex(/^(in|out|sys)\.c-[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
  sourceTable: z.string(),
  aliasFilter: aliasFilterSchema.optional(),
  aliasColumns: z.array(z.string()).optional(),
  displayName: z.string().optional(),
});

export const rowSeedSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  description: z.string().optional(),
  configuration: jsonObject.optional(),
  state: jsonObject.optional(),
  isDisabled: z.boolean().optional(),
});

export const configurationSeedSchema = z.object({
  componentId: z.string().min(1),
  id: z.string().min(1),
  name: z.string(),
  description: z.string().optional(),
  configuration: jsonObject.optional(),
  state: jsonObject.optional(),
  isDisabled: z.boolean().optional(),
  rowsSortOrder: z.array(z.string()).optional(),
  rows: z.array(rowSeedSchema).optional(),
  metadata: z.array(keyValue).optional(),
});

/** A task of a legacy orchestration (Orchestrator API): one of `component` and `componentUrl` is required. */
export const orchestrationTaskSeedSchema = z
  .object({
    component: z.string().min(1).optional(),
    componentUrl: z.string().regex(/^https:\/\//, 'componentUrl must be an https URL').optional(),
    action: z.string().optional(),
    actionParameters: jsonObject.optional(),
    continueOnFailure: z.boolean().optional(),
    active: z.boolean().optional(),
    timeoutMinutes: z.number().int().positive().nullable().optional(),
    phase: z.string().nullable().optional(),
  })
  .refine((t) => t.component !== undefined || t.componentUrl !== undefined, 'a task needs component or componentUrl');

export const orchestrationNotificationSeedSchema = z.object({
  email: z.string().min(1),
  channel: z.enum(['error', 'waiting', 'processing']),
  parameters: jsonObject.optional(),
});

/** A legacy orchestration; its ID is kept (the IDs of new ones come from the stack's counter). */
export const orchestrationSeedSchema = z.object({
  id: z.number().int().positive(),
  name: z.string().min(1),
  crontabRecord: z.string().nullable().optional(),
  crontabTimezone: z.string().optional(),
  active: z.boolean().optional(),
  notifications: z.array(orchestrationNotificationSeedSchema).optional(),
  tasks: z.array(orchestrationTaskSeedSchema).optional(),
});

/** A Storage API trigger; it runs with a new `[_internal]` token unless `runWithToken` names a seeded token. */
export const triggerSeedSchema = z.object({
  component: z.string().min(1).default('orchestration'),
  configurationId: z.string().min(1),
  coolDownPeriodMinutes: z.number().int().min(1),
  tableIds: z.array(z.string().min(1)).min(1),
  runWithToken: z.string().optional(),
});

/** A Notification service subscription (checked further when the project is created). */
export const notificationSeedSchema = z.object({
  event: z.string(),
  filters: z.array(z.object({ field: z.string(), value: z.union([z.string(), z.number()]), operator: z.string().optional() })).optional(),
  recipient: z.union([z.object({ channel: z.literal('email'), address: z.string() }), z.object({ channel: z.literal('webhook'), url: z.string() })]),
});

/**
 * A schedule activated through the Scheduler service once the project's configurations exist: `configurationId` names
 * a seeded `keboola.scheduler` configuration (checked then, as the service checks an activation).
 */
export const scheduleSeedSchema = z.object({
  configurationId: z.string().min(1),
  configurationVersionId: z.string().min(1).optional(),
});

export const projectSeedSchema = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  defaultBackend: z.enum(['snowflake', 'redshift', 'bigquery']),
  backends: z.array(z.string()),
  features: z.array(z.string()).optional(),
  tokens: z.array(tokenSeedSchema).min(1),
  branchMetadata: z.array(keyValue).optional(),
  buckets: z.array(bucketSeedSchema).optional(),
  tables: z.array(tableSeedSchema).optional(),
  aliases: z.array(aliasSeedSchema).optional(),
  configurations: z.array(configurationSeedSchema).optional(),
  orchestrations: z.array(orchestrationSeedSchema).optional(),
  triggers: z.array(triggerSeedSchema).optional(),
  notifications: z.array(notificationSeedSchema).optional(),
  /** Active schedules (Scheduler service); saving a `keboola.scheduler` configuration alone activates nothing. */
  schedules: z.array(scheduleSeedSchema).optional(),
  /** Files kept until deleted (`isPermanent`), with their tags and text content. */
  permanentFiles: z.array(z.object({ name: z.string().min(1), tags: z.array(z.string()).optional(), content: z.string() })).optional(),
});

export const seedFileSchema = z.object({
  stack: stackSeedSchema,
  projects: z.array(projectSeedSchema),
});

export type ComponentSeed = z.infer<typeof componentSeedSchema>;
export type StackSeed = z.infer<typeof stackSeedSchema>;
export type GoodDataProjectSeed = z.infer<typeof goodDataProjectSeedSchema>;
export type TokenSeed = z.infer<typeof tokenSeedSchema>;
export type BucketSeed = z.infer<typeof bucketSeedSchema>;
export type TableSeed = z.infer<typeof tableSeedSchema>;
export type AliasSeed = z.infer<typeof aliasSeedSchema>;
export type ConfigurationSeed = z.infer<typeof configurationSeedSchema>;
export type OrchestrationSeed = z.infer<typeof orchestrationSeedSchema>;
export type TriggerSeed = z.infer<typeof triggerSeedSchema>;
export type ProjectSeed = z.input<typeof projectSeedSchema>;
export type ParsedProjectSeed = z.infer<typeof projectSeedSchema>;
export type SeedFile = z.input<typeof seedFileSchema>;
export type ParsedSeedFile = z.infer<typeof seedFileSchema>;

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Parses and validates a seed given as an object or a path to a JSON file. */
export function loadSeed(seed: SeedFile | string): ParsedSeedFile {
  const raw: unknown = typeof seed === 'string' ? JSON.parse(readFileSync(seed, 'utf8')) : seed;
  const result = seedFileSchema.safeParse(raw);
  if (!result.success) throw new Error(`invalid seed: ${formatIssues(result.error)}`);
  return result.data;
}

export function parseProjectSeed(raw: unknown): ParsedProjectSeed {
  const result = projectSeedSchema.safeParse(raw);
  if (!result.success) throw new Error(`invalid project: ${formatIssues(result.error)}`);
  return result.data;
}
