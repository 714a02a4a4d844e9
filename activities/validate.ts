// Pre-migration validation (docs/domain.md#validation): reads both projects, writes nothing, and returns every blocker and
// warning with a stable code and what to do about it, plus the plan (counts and bytes).
import * as path from 'node:path';
import type { ApiIndex, StackClient, TokenInfo } from '../stack';
import { bucketIdOf, bucketSkipReason, type SnapshotReader } from '../snapshot/reader';
import { columnsForBackend, nullablePrimaryKeyColumns, typedColumnsOf, type PrimaryKeyShape } from '../snapshot/typed-columns';
import type { SnapshotBucket, SnapshotTable } from '../snapshot/schemas';
import { StackError } from '../stack';
import type { ComponentRules, StackRef } from '../workflows/input';
import type { Finding, Plan, ValidationReport } from '../workflows/types';
import type { ActivityDeps } from './deps';
import { findEncryptedValues, hasOAuthAuthorization, hasSshTunnel, usesChangedSince } from './configuration-rules';
import { isKeboolaSnowflakeHost, SNOWFLAKE_WRITERS } from './writers';

/** Apps that exist only on the US stack (Keboola's migration guide); matched by component ID or name. */
export const LEGACY_US_APPS: Array<{ name: string; pattern: RegExp }> = [
  { name: 'Rest Box extractor', pattern: /rest[-_ ]?box/i },
  { name: 'Anomaly detection application', pattern: /anomaly[-_ ]?detection/i },
  { name: 'Basket analysis application', pattern: /basket[-_ ]?analysis/i },
  { name: 'Correlations application', pattern: /correlations?/i },
  { name: 'Data Type Assistant application', pattern: /data[-_ ]?type[-_ ]?assistant/i },
  { name: 'Grouped histogram application', pattern: /grouped[-_ ]?histogram/i },
  { name: 'Linear dependency finder application', pattern: /linear[-_ ]?dependency/i },
  { name: 'Next event application', pattern: /next[-_ ]?event/i },
  { name: 'Segmentation application', pattern: /segmentation/i },
  { name: 'Table Content Overview application', pattern: /table[-_ ]?content[-_ ]?overview/i },
];

const NO_RULES: ComponentRules = { skip: [], strict: false };

export function createValidateActivities(deps: ActivityDeps) {
  return {
    async validateMigration(input: { source: StackRef; destination: StackRef; resume?: boolean; components?: ComponentRules }): Promise<ValidationReport> {
      const findings: Finding[] = [];
      const [source, destination] = await Promise.all([deps.stackClient(input.source), deps.stackClient(input.destination)]);
      const [sourceToken, destinationToken] = await Promise.all([
        verify(source, 'source', findings),
        verify(destination, 'destination', findings),
      ]);
      if (!sourceToken || !destinationToken) {
        return { sourceProject: describe(sourceToken), destinationProject: describe(destinationToken), findings, plan: EMPTY_PLAN };
      }
      checkProject(sourceToken, input.source, 'source', findings);
      checkProject(destinationToken, input.destination, 'destination', findings);
      checkBackends(sourceToken, destinationToken, findings);
      const [sourceIndex, buckets, tables, components] = await Promise.all([source.services.index(), source.buckets.list(), source.tables.list(), source.components.heads()]);
      const content = { sourceIndex, buckets, tables, components, bodiesOf: (componentId: string) => source.configurations.stream(componentId) };
      const checked = await checkDestinationAndContent(destination, destinationToken, input.destination, content, findings, input.resume === true, input.components ?? NO_RULES);
      return { sourceProject: describe(sourceToken), destinationProject: describe(destinationToken), findings, ...checked };
    },

    /** Validation of a restore from a snapshot folder: the snapshot stands in for the source project. */
    async validateRestore(input: { destination: StackRef; snapshotDir: string; components?: ComponentRules }): Promise<ValidationReport> {
      const findings: Finding[] = [];
      const destination = await deps.stackClient(input.destination);
      const destinationToken = await verify(destination, 'destination', findings);
      const snapshot = await readSnapshotContent(deps.snapshot(input.snapshotDir));
      const sourceProject = { id: 0, name: `snapshot ${path.basename(input.snapshotDir)}`, region: '', backend: snapshot.backends[0] ?? '' };
      if (!destinationToken) return { sourceProject, destinationProject: describe(undefined), findings, plan: EMPTY_PLAN };
      checkProject(destinationToken, input.destination, 'destination', findings);
      const available = new Set(backendsOf(destinationToken));
      const defaultBackend = destinationToken.owner.defaultBackend ?? '';
      for (const backend of snapshot.backends.filter((b) => !available.has(b))) {
        if (backend === 'redshift') {
          findings.push({
            code: 'REDSHIFT_BACKEND',
            severity: 'blocker',
            entity: `project ${destinationToken.owner.id}`,
            message: 'the snapshot has redshift buckets, which the destination stacks no longer offer',
            action: 'migrate the source project to Snowflake first, then take a new backup',
          });
          continue;
        }
        // As Keboola's restore can: the buckets go onto the destination's default backend, typed columns by base type.
        findings.push({
          code: 'BACKEND_DEFAULTED',
          severity: 'warning',
          entity: `project ${destinationToken.owner.id}`,
          message: `the snapshot has ${backend} buckets and the destination project has no ${backend} backend: they are restored onto its default backend, ${defaultBackend}, typed columns mapped by their base type`,
          action: `check the typed tables' column types, and rewrite ${backend} transformations for ${defaultBackend}`,
        });
        const index = await deps.snapshot(input.snapshotDir).index();
        const bucketBackend = new Map(index.buckets.map((b) => [b.id, b.backend]));
        for (const table of index.tables.filter((t) => bucketBackend.get(bucketIdOf(t)) === backend && !t.isAlias)) {
          const columns = typedColumnsOf(table);
          const mapped = columns && columnsForBackend(columns, defaultBackend);
          if (!mapped || !('unmappable' in mapped)) continue;
          findings.push({
            code: 'TYPE_NOT_MAPPABLE',
            severity: 'blocker',
            entity: `table ${table.id}`,
            message: `its typed columns cannot move from ${backend} to ${defaultBackend}: ${mapped.unmappable.map((u) => `${u.column} (${u.reason})`).join(', ')}`,
            action: `create the destination project with the ${backend} backend, or change those columns in the source`,
          });
        }
      }
      const checked = await checkDestinationAndContent(destination, destinationToken, input.destination, snapshot, findings, false, input.components ?? NO_RULES);
      return { sourceProject, destinationProject: describe(destinationToken), findings, ...checked };
    },
  };
}

/** Keboola's documented index does not list a stack's outbound addresses; some stacks (and the emulator) add them. */
function outboundIps(index: ApiIndex): string[] | undefined {
  return index.stack?.outboundIpAddresses;
}

const EMPTY_PLAN: Plan = { buckets: 0, tables: 0, aliases: 0, configurations: 0, configurationRows: 0, rows: 0, bytes: 0 };

/** A component and the IDs of its configurations, without their bodies. */
interface ComponentContent {
  id: string;
  name?: string;
  configurations?: Array<{ id: string }>;
}

/** A configuration with its rows, as a live source lists them and as a snapshot holds them. */
interface ConfigurationBody {
  id: string;
  name: string;
  configuration?: unknown;
  rows?: Array<{ configuration?: unknown }>;
}

/** What is to be migrated, from a live source project or from a snapshot. */
interface SourceContent {
  /** The source stack's API index; absent for a snapshot (component names and flags then come from the destination). */
  sourceIndex?: ApiIndex;
  buckets: Array<Pick<SnapshotBucket, 'id' | 'name' | 'stage' | 'sourceBucket' | 'isLinkedBucket'>>;
  tables: Array<Pick<SnapshotTable, 'id' | 'bucket' | 'isAlias' | 'rowsCount' | 'dataSizeBytes'> & PrimaryKeyShape>;
  components: ComponentContent[];
  /** One component's configurations with their bodies, read one at a time as they are checked. */
  bodiesOf(componentId: string): AsyncIterable<ConfigurationBody>;
}

/**
 * The checks of the destination and of what moves there, shared by migrations and restores; returns the plan and
 * the destination's outbound addresses (from the index it reads anyway).
 */
async function checkDestinationAndContent(
  destination: StackClient,
  destinationToken: TokenInfo,
  ref: StackRef,
  content: SourceContent,
  findings: Finding[],
  resume: boolean,
  rules: ComponentRules,
): Promise<{ plan: Plan; destinationOutboundIps?: string[] }> {
  if (!destinationToken.canManageBuckets) {
    findings.push({
      code: 'DESTINATION_TOKEN_READ_ONLY',
      severity: 'blocker',
      entity: `project ${ref.projectId}`,
      message: 'the destination token cannot manage buckets, so nothing could be restored',
      action: 'use a master token (or a token with "manage buckets") of the destination project',
    });
  }
  const [destinationIndex, destinationBuckets, destinationComponents] = await Promise.all([
    destination.services.index(),
    destination.buckets.list(),
    destination.components.heads(),
  ]);
  const { buckets, tables, components } = content;
  checkDestinationEmpty(destinationBuckets.length, destinationComponents, findings, resume);
  checkComponents(components, content.sourceIndex ?? destinationIndex, destinationIndex, findings, rules);
  const configurationRows = await checkConfigurations(content, findings, content.sourceIndex ? { sourceIndex: content.sourceIndex } : undefined);
  const legacyOrchestrations = components.find((c) => c.id === 'orchestrator')?.configurations?.length ?? 0;
  if (legacyOrchestrations > 0 && !destinationIndex.services.some((service) => service.id === 'orchestrator')) {
    findings.push({
      code: 'ORCHESTRATOR_UNAVAILABLE',
      severity: 'blocker',
      entity: `${legacyOrchestrations} legacy orchestration(s)`,
      message: 'the destination stack offers no Orchestrator API, so legacy orchestrations cannot be recreated',
      action: 'convert the legacy orchestrations to Flows in the source project first',
    });
  }
  for (const bucket of buckets.filter((b) => isLinked(b))) {
    findings.push({
      code: 'LINKED_BUCKET',
      severity: 'warning',
      entity: `bucket ${bucket.id}`,
      message: 'linked (shared) buckets are not migrated: they belong to another project',
      action: 'share the source bucket again on the destination stack and link it in the new project',
    });
  }

  // What the restore will bring over, by the same rule the restore uses (snapshot/reader.ts).
  const ownBuckets = buckets.filter((b) => !bucketSkipReason(b));
  const ownBucketIds = new Set(ownBuckets.map((b) => b.id));
  const ownTables = tables.filter((t) => ownBucketIds.has(bucketIdOf(t)));
  const dataTables = ownTables.filter((t) => !t.isAlias);
  for (const table of dataTables) {
    const nullable = nullablePrimaryKeyColumns(table);
    if (nullable.length === 0) continue;
    findings.push({
      code: 'PRIMARY_KEY_NULLABLE',
      severity: 'blocker',
      entity: `table ${table.id}`,
      message: `its primary key column(s) ${nullable.join(', ')} are nullable, and a stack refuses a typed table with a primary key on a nullable column (Keboola's own restore fails such a table too)`,
      action: `make ${nullable.join(', ')} NOT NULL in the source table, or remove ${nullable.length > 1 ? 'them' : 'it'} from its primary key, then validate again`,
    });
  }
  const plan: Plan = {
    buckets: ownBuckets.length,
    tables: dataTables.length,
    aliases: ownTables.length - dataTables.length,
    configurations: components.reduce((sum, c) => sum + (c.configurations?.length ?? 0), 0),
    configurationRows,
    rows: dataTables.reduce((sum, t) => sum + (t.rowsCount ?? 0), 0),
    bytes: dataTables.reduce((sum, t) => sum + (t.dataSizeBytes ?? 0), 0),
  };
  return { plan, destinationOutboundIps: outboundIps(destinationIndex) };
}

/** A snapshot folder read as the source: its buckets, tables and configurations (the bodies when asked). */
async function readSnapshotContent(snapshot: SnapshotReader): Promise<SourceContent & { backends: string[] }> {
  const index = await snapshot.index();
  const components = index.components.map(({ id, name }) => ({ id, name, configurations: index.configurationsOf(id).map((ref) => ({ id: ref.configId })) }));
  const bodiesOf = async function* (componentId: string) {
    for (const ref of index.configurationsOf(componentId)) yield await snapshot.configuration(ref);
  };
  return { buckets: index.buckets, tables: index.tables, components, bodiesOf, backends: index.backends() };
}

async function verify(client: StackClient, side: 'source' | 'destination', findings: Finding[]): Promise<TokenInfo | undefined> {
  try {
    return await client.tokens.verify();
  } catch (error) {
    if (error instanceof StackError && (error.kind === 'invalid-token' || error.kind === 'forbidden')) {
      findings.push({
        code: side === 'source' ? 'SOURCE_TOKEN_INVALID' : 'DESTINATION_TOKEN_INVALID',
        severity: 'blocker',
        entity: client.url,
        message: `the ${side} token was rejected by ${client.url}`,
        action: `create a new master token in the ${side} project and point the token reference at it`,
      });
      return undefined;
    }
    throw error;
  }
}

function describe(token: TokenInfo | undefined) {
  return token
    ? { id: Number(token.owner.id), name: token.owner.name, region: token.owner.region ?? '', backend: token.owner.defaultBackend ?? '' }
    : { id: 0, name: '(unknown: token rejected)', region: '', backend: '' };
}

function checkProject(token: TokenInfo, ref: StackRef, side: string, findings: Finding[]) {
  if (Number(token.owner.id) !== ref.projectId) {
    findings.push({
      code: side === 'source' ? 'SOURCE_PROJECT_MISMATCH' : 'DESTINATION_PROJECT_MISMATCH',
      severity: 'blocker',
      entity: `project ${ref.projectId}`,
      message: `the ${side} token belongs to project ${token.owner.id} (${token.owner.name}), not to project ${ref.projectId}`,
      action: `check the ${side} project ID, or use a token of project ${ref.projectId}`,
    });
  }
}

const BACKENDS: Array<[flag: keyof TokenInfo['owner'], name: string]> = [
  ['hasSnowflake', 'snowflake'],
  ['hasRedshift', 'redshift'],
  ['hasBigquery', 'bigquery'],
  ['hasSynapse', 'synapse'],
  ['hasExasol', 'exasol'],
  ['hasTeradata', 'teradata'],
];

/** The storage backends a project has (the `has*` flags of `tokens/verify`). */
export function backendsOf(token: TokenInfo): string[] {
  return BACKENDS.filter(([flag]) => token.owner[flag] === true).map(([, name]) => name);
}

function checkBackends(source: TokenInfo, destination: TokenInfo, findings: Finding[]) {
  const sourceBackends = backendsOf(source);
  const destinationBackends = new Set(backendsOf(destination));
  if (source.owner.defaultBackend === 'redshift' || sourceBackends.includes('redshift')) {
    findings.push({
      code: 'REDSHIFT_BACKEND',
      severity: 'blocker',
      entity: `project ${source.owner.id}`,
      message: 'the source project uses the Redshift backend, which the destination stacks no longer offer',
      action: 'migrate the source project to Snowflake first (ask Keboola support), then run this migration',
    });
  }
  const missing = sourceBackends.filter((backend) => backend !== 'redshift' && !destinationBackends.has(backend));
  if (missing.length > 0 || (source.owner.defaultBackend && source.owner.defaultBackend !== destination.owner.defaultBackend && source.owner.defaultBackend !== 'redshift')) {
    findings.push({
      code: 'BACKEND_MISMATCH',
      severity: 'blocker',
      entity: `project ${destination.owner.id}`,
      message: `the backends differ: source ${source.owner.defaultBackend} (${sourceBackends.join(', ') || 'none'}), destination ${destination.owner.defaultBackend} (${[...destinationBackends].join(', ') || 'none'})`,
      action: `create the destination project with the ${source.owner.defaultBackend} backend${missing.length ? ` and enable ${missing.join(', ')}` : ''}`,
    });
  }
}

function checkDestinationEmpty(bucketCount: number, components: ComponentContent[], findings: Finding[], resuming: boolean) {
  const configurations = components.flatMap((c) => (c.configurations ?? []).map((cfg) => `${c.id}/${cfg.id}`));
  if (bucketCount > 0 || configurations.length > 0) {
    if (resuming) {
      findings.push({
        code: 'DESTINATION_RESUMED',
        severity: 'warning',
        entity: 'destination project',
        message: `resuming into a destination that holds ${bucketCount} bucket(s) and ${configurations.length} configuration(s): what exists is kept and not duplicated`,
        action: 'resume only a migration of this same source project into this destination',
      });
      return;
    }
    findings.push({
      code: 'DESTINATION_NOT_EMPTY',
      severity: 'blocker',
      entity: 'destination project',
      message: `the destination project is not empty: ${bucketCount} bucket(s), ${configurations.length} configuration(s)${configurations.length ? ` (${configurations.slice(0, 5).join(', ')}${configurations.length > 5 ? ', ...' : ''})` : ''}`,
      action: 'use a new, empty project on the destination stack (or delete its buckets and configurations)',
    });
  }
}

/**
 * Legacy and deprecated components block; one the destination lacks is skipped with a warning, as Keboola's restore
 * skips it, unless the operator asked for strict mode; one the operator left out is listed and not checked further.
 */
function checkComponents(components: ComponentContent[], sourceIndex: ApiIndex, destinationIndex: ApiIndex, findings: Finding[], rules: ComponentRules) {
  const sourceById = new Map(sourceIndex.components.map((c) => [c.id, c]));
  const destinationById = new Map(destinationIndex.components.map((c) => [c.id, c]));
  for (const component of components) {
    if (!component.configurations?.length) continue;
    const name = sourceById.get(component.id)?.name ?? component.name ?? component.id;
    const entity = `component ${component.id} (${component.configurations.length} configuration(s))`;
    if (rules.skip.includes(component.id)) {
      findings.push({
        code: 'COMPONENT_SKIPPED',
        severity: 'warning',
        entity,
        message: `${name} is left out on request (--skip-component): its configurations are not migrated`,
        action: 'recreate them in the destination project if they are still needed',
      });
      continue;
    }
    const legacy = LEGACY_US_APPS.find((app) => app.pattern.test(component.id) || app.pattern.test(name));
    if (legacy) {
      findings.push({
        code: 'LEGACY_COMPONENT',
        severity: 'blocker',
        entity,
        message: `${legacy.name} is a legacy app available only on the US stack`,
        action: 'remove its configurations from the source project, or replace them with a current component',
      });
      continue;
    }
    const flags = [...(sourceById.get(component.id)?.flags ?? []), ...(destinationById.get(component.id)?.flags ?? [])];
    if (flags.includes('deprecated')) {
      findings.push({
        code: 'DEPRECATED_COMPONENT',
        severity: 'blocker',
        entity,
        message: `${name} is deprecated`,
        action: 'migrate its configurations to the component that replaces it, or remove them',
      });
      continue;
    }
    if (!destinationById.has(component.id)) {
      findings.push({
        code: 'COMPONENT_MISSING',
        severity: rules.strict ? 'blocker' : 'warning',
        entity,
        message: rules.strict
          ? `${name} does not exist on the destination stack (strict mode: a missing component blocks)`
          : `${name} does not exist on the destination stack: its configurations are skipped`,
        action: rules.strict
          ? 'remove its configurations, replace the component with one the destination stack offers, or leave it out with --skip-component'
          : 'recreate the configurations with a component the destination stack offers, if they are still needed',
      });
    }
  }
}

/**
 * Checks every configuration's body, a component at a time; answers how many rows they have.
 * `movesWriters`: the source stack is live (not a backup), so Keboola-provisioned Snowflake writers get new
 * credentials from the writer step, and their password needs no human.
 */
async function checkConfigurations(content: SourceContent, findings: Finding[], movesWriters?: { sourceIndex: ApiIndex }): Promise<number> {
  const keboolaSnowflakeHost = movesWriters?.sourceIndex.stack?.snowflakeHost;
  let rows = 0;
  for (const component of content.components) {
    if (!component.configurations?.length) continue;
    for await (const configuration of content.bodiesOf(component.id)) {
      rows += configuration.rows?.length ?? 0;
      const entity = `configuration ${component.id}/${configuration.id} (${configuration.name})`;
      const bodies = [configuration.configuration, ...(configuration.rows ?? []).map((row) => row.configuration)];
      if (component.id === 'transformation') {
        const backends = new Set((configuration.rows ?? []).map((row) => String((row.configuration as { backend?: string } | undefined)?.backend ?? '')));
        for (const backend of ['mysql', 'redshift'].filter((b) => backends.has(b))) {
          findings.push({
            code: 'LEGACY_TRANSFORMATION_BACKEND',
            severity: 'blocker',
            entity,
            message: `legacy ${backend === 'mysql' ? 'MySQL' : 'Redshift'} transformations cannot run on the destination stack`,
            action: 'rewrite them as Snowflake transformations before the migration',
          });
        }
      }
      if (hasOAuthAuthorization(configuration.configuration)) {
        findings.push({
          code: 'OAUTH_AUTHORIZATION',
          severity: 'warning',
          entity,
          message: 'its OAuth authorization is not migrated',
          action: 're-authorize the configuration in the destination project after the migration',
        });
      }
      const db = (configuration.configuration as { parameters?: { db?: { host?: unknown } } } | undefined)?.parameters?.db;
      const provisioned = movesWriters !== undefined && SNOWFLAKE_WRITERS.has(component.id) && typeof db?.host === 'string' && isKeboolaSnowflakeHost(db.host, keboolaSnowflakeHost);
      const secrets = [
        ...findEncryptedValues(configuration.configuration).filter((p) => !(provisioned && p === 'parameters.db.#password')),
        ...(configuration.rows ?? []).flatMap((row) => findEncryptedValues(row.configuration)),
      ];
      if (secrets.length > 0) {
        findings.push({
          code: 'ENCRYPTED_VALUES',
          severity: 'warning',
          entity,
          message: `${secrets.length} encrypted value(s) cannot be decrypted by the destination stack (${secrets.slice(0, 3).join(', ')})`,
          action: 're-enter these values in the destination project after the migration',
        });
      }
      if (bodies.some((body) => hasSshTunnel(body))) {
        findings.push({
          code: 'SSH_TUNNEL',
          severity: 'warning',
          entity,
          message: 'its SSH tunnel private key is not migrated',
          action: 'generate a new SSH key pair in the destination project and install its public key on the tunnel host',
        });
      }
      if (bodies.some((body) => usesChangedSince(body))) {
        findings.push({
          code: 'INCREMENTAL_CHANGED_SINCE',
          severity: 'warning',
          entity,
          message: 'an input mapping reads only rows "changed in last"; all rows get the migration date, so its first run reads everything',
          action: 'expect a full load on the first run, or run it once by hand after the migration',
        });
      }
    }
  }
  return rows;
}

function isLinked(bucket: { sourceBucket?: unknown; isLinkedBucket?: boolean }): boolean {
  return Boolean(bucket.sourceBucket) || bucket.isLinkedBucket === true;
}
