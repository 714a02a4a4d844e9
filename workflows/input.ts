// The migration's input, validated at every boundary (CLI, `temporal workflow start`, the Web UI).
// Deterministic and free of I/O: imported by the workflow bundle as well as by activities and the CLI.
import { z } from 'zod';

/**
 * The documented limits of an input (docs/CONTRACTS.md, "Input limits"), far below Temporal's own payload limit
 * (2 MB by default), so that an input too big is refused with a message that names the field, by our CLI before it
 * starts anything and by the workflow for an input started around it (`temporal workflow start`, the Web UI).
 */
export const INPUT_LIMITS = {
  /** The whole input as JSON, in UTF-8. */
  inputBytes: 64 * 1024,
  urlChars: 2048,
  tokenRefChars: 1024,
  nameChars: 63,
  requestedByChars: 200,
  skipComponents: 500,
  componentIdChars: 255,
} as const;

/** What is wrong with the size of a raw input, or undefined: the size, the limit and the biggest field. */
export function inputSizeProblem(raw: unknown): string | undefined {
  // What the workflow carries into its next run is its own state, bounded by Temporal's payload limit instead.
  if (raw && typeof raw === 'object' && 'carried' in raw) raw = { ...raw, carried: undefined };
  const bytes = utf8Length(JSON.stringify(raw) ?? '');
  if (bytes <= INPUT_LIMITS.inputBytes) return undefined;
  const biggest = fieldsOf(raw)
    .map(([field, value]) => ({ field, bytes: utf8Length(JSON.stringify(value) ?? '') }))
    .sort((a, b) => b.bytes - a.bytes)[0];
  const kib = (n: number) => Math.ceil(n / 1024);
  return `the input is ${kib(bytes)} KiB, more than the ${kib(INPUT_LIMITS.inputBytes)} KiB accepted${biggest ? `; the biggest field is ${biggest.field} (${kib(biggest.bytes)} KiB)` : ''}: shorten it (docs/CONTRACTS.md, "Input limits")`;
}

/** The input's fields two levels deep (`options.skipComponents`), for naming the biggest. */
function fieldsOf(raw: unknown): Array<[string, unknown]> {
  if (!raw || typeof raw !== 'object') return [];
  return Object.entries(raw as Record<string, unknown>).flatMap(([key, value]): Array<[string, unknown]> =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value as Record<string, unknown>).map(([inner, v]): [string, unknown] => [`${key}.${inner}`, v]) : [[key, value]],
  );
}

/** UTF-8 length without Buffer or TextEncoder (this module runs in the workflow sandbox too). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

function tryUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

const stackUrl = z
  .string()
  .max(INPUT_LIMITS.urlChars, `must be at most ${INPUT_LIMITS.urlChars} characters`)
  .refine((value) => tryUrl(value) !== undefined, 'must be a URL such as https://connection.keboola.com')
  .refine((value) => /^https?:$/.test(tryUrl(value)?.protocol ?? 'http:'), 'must use http or https')
  .refine((value) => ['', '/'].includes(tryUrl(value)?.pathname ?? '/'), 'must be the stack root, without a path (not .../v2/storage)')
  .transform((value) => value.replace(/\/$/, ''));

// A token never travels in the input: only a reference that the worker resolves (docs/architecture.md#secrets).
export const tokenRefSchema = z
  .string()
  .max(INPUT_LIMITS.tokenRefChars, `must be at most ${INPUT_LIMITS.tokenRefChars} characters`)
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be a token reference "env:VARIABLE" or "file:/absolute/path", never the token itself');

export const stackRefSchema = z.object({
  url: stackUrl,
  projectId: z.coerce.number().int('must be a whole number').positive('must be positive'),
  tokenRef: tokenRefSchema,
  name: z
    .string()
    .max(INPUT_LIMITS.nameChars, `must be at most ${INPUT_LIMITS.nameChars} characters`)
    .regex(/^[a-z0-9][a-z0-9.-]*$/, 'must be lower-case letters, digits, dots and dashes')
    .optional()
    .describe('short stack name for IDs and search attributes; defaults to the URL host'),
});

/**
 * How long an activity may go without a heartbeat before another worker takes it over: how soon a killed worker's
 * work goes on elsewhere. Activities heartbeat every few seconds while they run (activities/heartbeat.ts).
 */
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 20;

export const migrationOptionsSchema = z.object({
  tableConcurrency: z.number().int().min(1).max(64).default(4),
  configurationConcurrency: z.number().int().min(1).max(64).default(8),
  approvalTimeoutHours: z.number().positive().max(24 * 30).default(24 * 7),
  /** Four-eyes rule: the approver must not be the person who started the migration. */
  fourEyes: z.boolean().default(false),
  /** On cancellation, delete what this migration created in the destination. */
  cleanupOnCancel: z.boolean().default(false),
  /** How long an activity may go without a heartbeat before another worker takes it over. */
  heartbeatTimeoutSeconds: z.number().int().min(5).max(3600).default(DEFAULT_HEARTBEAT_TIMEOUT_SECONDS),
  /** Components whose configurations are left out on purpose (`--skip-component`); listed in the report. */
  skipComponents: z
    .array(z.string().trim().min(1).max(INPUT_LIMITS.componentIdChars, `must be a component ID of at most ${INPUT_LIMITS.componentIdChars} characters`))
    .max(INPUT_LIMITS.skipComponents, `at most ${INPUT_LIMITS.skipComponents} components`)
    .default([]),
  /** A component the destination stack lacks blocks the migration, instead of its configurations being skipped. */
  strictComponents: z.boolean().default(false),
  /**
   * How each table is verified: `checksum` (default) exports it again and compares row count and content checksum;
   * `rows` compares the row count the destination reports (what Keboola's own post-check does), reading no data.
   */
  verify: z.enum(['checksum', 'rows']).default('checksum'),
});

/** What validation and the configuration restore do with components: the ones left out, and whether a missing one blocks. */
export interface ComponentRules {
  skip: string[];
  strict: boolean;
}

export function componentRules(options: Pick<z.infer<typeof migrationOptionsSchema>, 'skipComponents' | 'strictComponents'>): ComponentRules {
  return { skip: options.skipComponents, strict: options.strictComponents };
}

/**
 * What a migration kept in sync carries into its next run (continueAsNew between passes): where it stands and
 * what its report needs. Checked loosely: the workflow wrote it.
 */
export const carriedStateSchema = z.looseObject({
  sync: z.looseObject({
    phase: z.enum(['copying', 'in-sync', 'cutting-over', 'cut-over']),
    passes: z.number().int().min(0),
    lastSnapshotDir: z.string().min(1),
  }),
  progress: z.record(z.string(), z.unknown()),
  idMap: z.array(z.looseObject({ type: z.string(), oldId: z.string(), newId: z.string() })),
  startedAt: z.string(),
});

export const requestedBySchema = z.string().trim().min(1).max(INPUT_LIMITS.requestedByChars, `must be at most ${INPUT_LIMITS.requestedByChars} characters`).optional();

export const migrationInputSchema = z
  .object({
    source: stackRefSchema,
    destination: stackRefSchema,
    requireApproval: z.boolean().default(true),
    /** Who started the migration (for the four-eyes rule and the report). */
    requestedBy: requestedBySchema,
    /**
     * Continue a failed or cancelled migration into the same destination: what exists there is kept (nothing is
     * duplicated) and the last complete snapshot of this migration is reused.
     */
    resume: z.boolean().default(false),
    /**
     * A Manage API token reference: when given, encrypted values are re-encrypted for the destination through
     * the Encryption API instead of being left for a human to re-enter.
     */
    manageTokenRef: tokenRefSchema.optional(),
    options: migrationOptionsSchema.default(() => migrationOptionsSchema.parse({})),
    /**
     * After the first copy is verified, stay open and keep the destination in step with the source through sync
     * passes (on request, and every `syncEveryHours`) until a planned cutover (docs/sync.md).
     */
    keepInSync: z.boolean().default(false),
    syncEveryHours: z.number().positive().max(24 * 30).optional(),
    /** Written by the workflow itself when it continues as new between passes; never by an operator. */
    carried: carriedStateSchema.optional(),
  })
  .refine(
    (input) => !(input.source.url === input.destination.url && input.source.projectId === input.destination.projectId),
    { message: 'source and destination are the same project: choose a new, empty project on the destination stack', path: ['destination'] },
  );

export type StackRef = z.infer<typeof stackRefSchema>;
export type MigrationInput = z.infer<typeof migrationInputSchema>;
export type MigrationInputDraft = z.input<typeof migrationInputSchema>;

/** `value` parsed by `schema`; otherwise the error `fail` makes of its problems, described in one line. */
export function parseOr<S extends z.ZodType>(schema: S, value: unknown, fail: (problems: string) => Error): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fail(describeIssues(parsed.error));
  return parsed.data;
}

/** One readable line per problem: `destination.tokenRef: must be a token reference ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : 'input'}: ${issue.message}`).join('; ');
}

export function stackName(ref: Pick<StackRef, 'url' | 'name'>): string {
  return ref.name ?? new URL(ref.url).host.replace(/:/g, '-').toLowerCase();
}

/** Business key: a second start of the same migration finds the first (docs/architecture.md#workflow-ids-are-business-keys). */
export function migrationWorkflowId(input: Pick<MigrationInput, 'source' | 'destination'>): string {
  return `migrate-${stackName(input.source)}-${input.source.projectId}-to-${stackName(input.destination)}`;
}
