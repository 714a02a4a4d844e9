// Restores component configurations with rows, state, rowsSortOrder and metadata, keeping their IDs
// (docs/domain.md#skipped-and-reported). What the destination cannot use is removed and reported: encrypted values, OAuth authorizations;
// Flows and schedules arrive disabled. Creates, and reads what the stack says exists already (activities/create-or-find.ts); rows
// are created when the configuration lacks them.
import { Context } from '@temporalio/activity';
import type { StackClient } from '../stack';
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome } from '../workflows/types';
import { files } from '../snapshot/layout';
import type { ConfigurationRef, SnapshotReader } from '../snapshot/reader';
import type { SnapshotConfiguration } from '../snapshot/schemas';
import type { ActivityDeps } from './deps';
import { translateComponentId } from './component-ids';
import { findEncryptedValues, hasOAuthAuthorization, hasSshTunnel } from './configuration-rules';
import { sameJson } from './json';
import { readOwnEdits, withAuthorizationOf, withEncryptedValuesOf } from './own-edits';
import { GOODDATA_PROJECT_METADATA_KEY, GOODDATA_WRITERS, SNOWFLAKE_WRITERS, WORKSPACE_METADATA_KEY, withGoodDataProject } from './writers';
import { heartbeat } from './heartbeat';
import { createOrFind } from './create-or-find';
import type { SyncPlanFile } from './sync-plan';

/** Components whose configurations would run on their own: they arrive disabled, to be enabled by a human. */
export const DISABLED_ON_ARRIVAL = new Set(['keboola.orchestrator', 'keboola.scheduler']);
const DATA_APP = 'keboola.data-apps';
const FLOW = 'keboola.orchestrator';

/** A restored configuration that differs from its snapshot; `repairable` when restoring it again can fix it (a part missing, the rows' order). */
export interface ConfigurationMismatch {
  configuration: string;
  difference: string;
  repairable: boolean;
}

export interface ConfigurationRestoreResult extends ConfigurationRef {
  destinationComponentId: string;
  name: string;
  created: boolean;
  rowsCreated: number;
  /** Encrypted values removed, by row (undefined = the configuration itself) and JSON path. */
  secrets: Array<{ rowId?: string; path: string }>;
  oauthRemoved: boolean;
  sshTunnel: boolean;
  disabled: boolean;
  skipped?: string;
}

export function createConfigurationActivities(deps: ActivityDeps) {
  return {
    /** How many configurations the snapshot restores (see SnapshotIndex.configurations); batches go by number. */
    async countSnapshotConfigurations(input: { snapshotDir: string }): Promise<number> {
      return (await deps.snapshot(input.snapshotDir).index()).configurations.length;
    },

    /**
     * Compares each restored configuration with the snapshot after the documented changes (encrypted values
     * emptied, OAuth ID removed, Flows disabled, component IDs translated): name, description, body, state,
     * rows with their bodies and state, and the rows' order. Run again on a resume, it takes the edits of the
     * migration's own later steps (new orchestration IDs, writers' workspaces and projects, re-encrypted secrets)
     * for what they are (activities/own-edits.ts).
     */
    /**
     * `changedOnly`: a sync pass checks only what it added or updated (its plan, files.syncPlan), with the own edits
     * known from the first copy's snapshot (`ownEditsSnapshotDir`: the legacy orchestrations' markers are that one's).
     */
    async verifyConfigurations(input: {
      destination: StackRef;
      snapshotDir: string;
      skipComponents?: string[];
      changedOnly?: boolean;
      ownEditsSnapshotDir?: string;
    }): Promise<{ checked: number; mismatches: ConfigurationMismatch[] }> {
      const client = await deps.stackClient(input.destination);
      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const snapshot = deps.snapshot(input.snapshotDir);
      const ownEdits = await readOwnEdits(client, input.ownEditsSnapshotDir ? deps.snapshot(input.ownEditsSnapshotDir) : snapshot);
      const plan = input.changedOnly ? await snapshot.record<SyncPlanFile>(files.syncPlan) : undefined;
      const changed = plan && new Set([...plan.configurations.added, ...plan.configurations.changed].map((ref) => `${ref.componentId}/${ref.configId}`));
      // What to check, by destination component, in the snapshot's order (the mismatches are reported in it).
      const wanted = new Map<string, Map<string, { ref: ConfigurationRef; order: number }>>();
      let order = 0;
      for (const ref of (await snapshot.index()).configurations) {
        if (changed && !changed.has(`${ref.componentId}/${ref.configId}`)) continue;
        const destinationComponentId = translateComponentId(ref.componentId, destinationComponents);
        if (!destinationComponentId || input.skipComponents?.includes(ref.componentId)) continue; // skipped on purpose and reported
        if (!wanted.has(destinationComponentId)) wanted.set(destinationComponentId, new Map());
        wanted.get(destinationComponentId)!.set(ref.configId, { ref, order: order++ });
      }
      const found: Array<{ order: number; mismatch: ConfigurationMismatch }> = [];
      let checked = 0;
      for (const [destinationComponentId, refs] of wanted) {
        // The restored configurations stream in one at a time: a component of 10,000 is one answer the API does not page.
        // Each checked is taken out of `refs`, so what is left there at the end is missing in the destination.
        for await (const actual of client.configurations.stream(destinationComponentId)) {
          const entry = refs.get(actual.id);
          if (!entry) continue;
          refs.delete(actual.id);
          const { ref } = entry;
          const expected = await snapshot.configuration(ref);
          const bodies = () =>
            ownEdits.bodiesOf({ ...ref, destinationComponentId }, sanitize(ref.componentId, expected.configuration, destinationComponents, ignore), expected.configuration, actual.configuration);
          const mismatch = await describeDifference(ref.componentId, expected, actual, destinationComponents, bodies);
          if (mismatch) found.push({ order: entry.order, mismatch: { configuration: `${destinationComponentId}/${ref.configId}`, ...mismatch } });
          if (++checked % 100 === 0) heartbeat(checked);
        }
        for (const [configId, { order: at }] of refs) {
          checked++;
          found.push({ order: at, mismatch: { configuration: `${destinationComponentId}/${configId}`, difference: 'missing in the destination', repairable: true } });
        }
      }
      const mismatches = found.sort((a, b) => a.order - b.order).map((f) => f.mismatch);
      return { checked, mismatches };
    },

    /**
     * Restores the named configurations (`component/config` in the destination) again: what verification found
     * missing (a configuration, a row) is created; what exists is left as it is.
     */
    async repairConfigurations(input: { destination: StackRef; snapshotDir: string; configurations: string[]; skipComponents?: string[] }): Promise<{ repaired: string[] }> {
      const snapshot = deps.snapshot(input.snapshotDir);
      const client = await deps.stackClient(input.destination);
      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const wanted = new Set(input.configurations);
      const repaired: string[] = [];
      for (const ref of (await snapshot.index()).configurations) {
        const id = `${translateComponentId(ref.componentId, destinationComponents) ?? ref.componentId}/${ref.configId}`;
        if (!wanted.has(id)) continue;
        const result = await restoreConfiguration(client, snapshot, ref, destinationComponents, new Set(input.skipComponents));
        if (result.created || result.rowsCreated > 0) repaired.push(id);
        heartbeat(repaired.length);
      }
      return { repaired };
    },

    /**
     * Restores a batch of configurations; a retry resumes after the last one it finished. The details go to
     * disk for the report (20,000 configurations would not fit in a Temporal payload); the workflow gets counts.
     */
    async restoreConfigurations(input: { destination: StackRef; snapshotDir: string; batchNumber: number; batchSize: number; skipComponents?: string[] }): Promise<RestoreOutcome> {
      const snapshot = deps.snapshot(input.snapshotDir);
      const batch = (await snapshot.index()).configurationBatch(input.batchNumber, input.batchSize);
      const client = await deps.stackClient(input.destination);
      const destinationComponents = new Set((await client.services.index()).components.map((c) => c.id));
      const context = Context.current();
      const results: ConfigurationRestoreResult[] = (context.info.heartbeatDetails as ConfigurationRestoreResult[] | undefined) ?? [];
      for (const ref of batch.slice(results.length)) {
        results.push(await restoreConfiguration(client, snapshot, ref, destinationComponents, new Set(input.skipComponents)));
        heartbeat(results);
      }
      await snapshot.write(files.configurationResults(input.batchNumber), results);
      deps.metrics?.entitiesMigrated('configurations', results.filter((r) => r.created).length);
      const idOf = (r: ConfigurationRestoreResult) => `${r.destinationComponentId}/${r.configId}`;
      return {
        created: results.filter((r) => r.created).map(idOf),
        existing: results.filter((r) => !r.created && !r.skipped).map(idOf),
        skipped: results.filter((r) => r.skipped).map((r) => ({ id: `${r.componentId}/${r.configId}`, reason: r.skipped! })),
      };
    },
  };
}

export async function restoreConfiguration(
  client: StackClient,
  snapshot: SnapshotReader,
  ref: ConfigurationRef,
  destinationComponents: ReadonlySet<string>,
  leftOut: ReadonlySet<string>,
): Promise<ConfigurationRestoreResult> {
  const source = await snapshot.configuration(ref);
  const destinationComponentId = translateComponentId(ref.componentId, destinationComponents);
  const base = { ...ref, name: source.name, destinationComponentId: destinationComponentId ?? ref.componentId, rowsCreated: 0 };
  if (leftOut.has(ref.componentId)) {
    return { ...base, created: false, secrets: [], oauthRemoved: false, sshTunnel: false, disabled: false, skipped: 'its component is left out on request (--skip-component)' };
  }
  if (!destinationComponentId) {
    return { ...base, created: false, secrets: [], oauthRemoved: false, sshTunnel: false, disabled: false, skipped: 'the component does not exist on the destination stack' };
  }

  const secrets: ConfigurationRestoreResult['secrets'] = [];
  const configuration = sanitize(ref.componentId, source.configuration, destinationComponents, (p) => secrets.push({ path: p }));
  const oauthRemoved = hasOAuthAuthorization(source.configuration);
  const disabled = DISABLED_ON_ARRIVAL.has(ref.componentId) || source.isDisabled === true;
  const sshTunnel = hasSshTunnel(source.configuration) || (source.rows ?? []).some((row) => hasSshTunnel(row.configuration));

  const outcome = await createOrFind(
    () =>
      client.configurations.create(destinationComponentId, {
        configurationId: ref.configId,
        name: source.name,
        description: source.description ?? '',
        configuration,
        state: isEmptyObject(source.state) ? undefined : (source.state as Record<string, unknown>),
        isDisabled: disabled,
        changeDescription: `Migrated by stack-migrate from ${ref.componentId}/${ref.configId}`,
      }),
    () => client.configurations.get(destinationComponentId, ref.configId),
  );
  const created = 'created' in outcome;
  const existing = 'created' in outcome ? outcome.created : outcome.existing;

  const existingRows = new Set((existing.rows ?? []).map((row) => String(row.id)));
  let rowsCreated = 0;
  for (const row of source.rows ?? []) {
    const rowConfiguration = sanitize(ref.componentId, row.configuration, destinationComponents, (p) => secrets.push({ rowId: String(row.id), path: p }));
    if (existingRows.has(String(row.id))) continue;
    await client.configurations.createRow(destinationComponentId, ref.configId, {
      rowId: String(row.id),
      name: row.name ?? '',
      description: row.description ?? '',
      configuration: rowConfiguration,
      state: isEmptyObject(row.state) ? undefined : (row.state as Record<string, unknown>),
      isDisabled: row.isDisabled ?? false,
    });
    rowsCreated++;
  }
  if (source.rowsSortOrder?.length && JSON.stringify(existing.rowsSortOrder ?? []) !== JSON.stringify(source.rowsSortOrder)) {
    await client.configurations.update(destinationComponentId, ref.configId, { rowsSortOrder: source.rowsSortOrder, changeDescription: 'Rows sort order restored by stack-migrate' });
  }
  const metadata = await snapshot.configurationMetadata(ref);
  if (metadata.length) {
    await client.configurations.setMetadata(destinationComponentId, ref.configId, metadata.map(({ key, value }) => ({ key, value })));
  }
  return { ...base, created, rowsCreated, secrets, oauthRemoved, sshTunnel, disabled };
}

/**
 * Brings a configuration the destination has up to the snapshot's version (a sync pass, docs/sync.md): name,
 * description, body, state and rows (new ones created, changed ones updated, removed ones deleted), their order and
 * metadata, with the same documented changes as a restore. Encrypted values the destination holds (re-encrypted by the
 * migration, or entered by a person) are kept where the source's ciphertext is useless here. One the destination
 * lacks is restored.
 */
export async function updateConfiguration(
  client: StackClient,
  snapshot: SnapshotReader,
  ref: ConfigurationRef,
  destinationComponents: ReadonlySet<string>,
  leftOut: ReadonlySet<string>,
): Promise<ConfigurationRestoreResult> {
  const destinationComponentId = translateComponentId(ref.componentId, destinationComponents);
  const current = destinationComponentId && !leftOut.has(ref.componentId) ? await client.configurations.get(destinationComponentId, ref.configId) : null;
  if (!destinationComponentId || !current) return restoreConfiguration(client, snapshot, ref, destinationComponents, leftOut);
  const source = await snapshot.configuration(ref);
  const secrets: ConfigurationRestoreResult['secrets'] = [];
  const changeDescription = `Synced by stack-migrate from ${ref.componentId}/${ref.configId}`;
  const disabled = DISABLED_ON_ARRIVAL.has(ref.componentId) || source.isDisabled === true;
  const body = (value: unknown, actual: unknown, rowId?: string) =>
    withAuthorizationOf(withEncryptedValuesOf(sanitize(ref.componentId, value, destinationComponents, (p) => secrets.push({ rowId, path: p })), actual), actual);
  await client.configurations.update(destinationComponentId, ref.configId, {
    name: source.name,
    description: source.description ?? '',
    configuration: await withWriterSetup(client, destinationComponentId, ref, body(source.configuration, current.configuration), current.configuration),
    state: (isEmptyObject(source.state) ? {} : source.state) as Record<string, unknown>,
    isDisabled: disabled,
    changeDescription,
  });
  const currentRows = new Map((current.rows ?? []).map((row) => [String(row.id), row]));
  const sourceRows = new Set((source.rows ?? []).map((row) => String(row.id)));
  let rowsCreated = 0;
  for (const row of source.rows ?? []) {
    const existing = currentRows.get(String(row.id));
    const input = {
      name: row.name ?? '',
      description: row.description ?? '',
      configuration: body(row.configuration, existing?.configuration, String(row.id)),
      state: (isEmptyObject(row.state) ? {} : row.state) as Record<string, unknown>,
      isDisabled: row.isDisabled ?? false,
      changeDescription,
    };
    if (existing) await client.configurations.updateRow(destinationComponentId, ref.configId, String(row.id), input);
    else {
      await client.configurations.createRow(destinationComponentId, ref.configId, { rowId: String(row.id), ...input });
      rowsCreated++;
    }
  }
  for (const rowId of currentRows.keys()) {
    if (!sourceRows.has(rowId)) await client.configurations.deleteRow(destinationComponentId, ref.configId, rowId);
  }
  if (source.rowsSortOrder?.length) await client.configurations.update(destinationComponentId, ref.configId, { rowsSortOrder: source.rowsSortOrder, changeDescription });
  const metadata = await snapshot.configurationMetadata(ref);
  if (metadata.length) await client.configurations.setMetadata(destinationComponentId, ref.configId, metadata.map(({ key, value }) => ({ key, value })));
  return {
    ...ref,
    name: source.name,
    destinationComponentId,
    created: false,
    rowsCreated,
    secrets,
    oauthRemoved: hasOAuthAuthorization(source.configuration),
    sshTunnel: hasSshTunnel(source.configuration),
    disabled,
  };
}

/**
 * A writer's body with what the migration set up for it in the destination kept: a provisioned Snowflake writer's
 * workspace connection (`parameters.db`), a GoodData writer's new project (activities/writers.ts, both recorded in
 * the configuration's metadata).
 */
async function withWriterSetup(client: StackClient, componentId: string, ref: ConfigurationRef, body: Record<string, unknown>, actual: unknown): Promise<Record<string, unknown>> {
  if (!SNOWFLAKE_WRITERS.has(ref.componentId) && !GOODDATA_WRITERS.has(ref.componentId)) return body;
  const metadata = new Map((await client.configurations.listMetadata(componentId, ref.configId)).map((m) => [m.key, m.value] as const));
  const pid = metadata.get(GOODDATA_PROJECT_METADATA_KEY);
  if (GOODDATA_WRITERS.has(ref.componentId) && pid) return withGoodDataProject(body, pid);
  const db = (actual as { parameters?: { db?: unknown } } | undefined)?.parameters?.db;
  if (SNOWFLAKE_WRITERS.has(ref.componentId) && metadata.has(WORKSPACE_METADATA_KEY) && db) {
    return { ...body, parameters: { ...((body.parameters as object | undefined) ?? {}), db } };
  }
  return body;
}

/**
 * The configuration as the destination can use it: encrypted (`#`) values emptied (ciphertext of another stack
 * is useless; the paths are reported for re-entry), the OAuth authorization ID removed, a data app's
 * `parameters.id` removed, and a Flow's task component IDs translated for the destination stack.
 */
export function sanitize(componentId: string, value: unknown, destinationComponents: ReadonlySet<string>, onSecret: (path: string) => void): Record<string, unknown> {
  const copy = structuredClone(value && typeof value === 'object' && !Array.isArray(value) ? value : {}) as Record<string, any>;
  for (const secretPath of findEncryptedValues(copy)) {
    onSecret(secretPath);
    const keys = secretPath.split('.');
    const parent = keys.slice(0, -1).reduce((node, key) => node[key], copy);
    parent[keys[keys.length - 1]] = '';
  }
  if (copy.authorization?.oauth_api?.id !== undefined) delete copy.authorization.oauth_api.id;
  if (componentId === DATA_APP && copy.parameters && 'id' in copy.parameters) delete copy.parameters.id;
  if (componentId === FLOW && Array.isArray(copy.tasks)) {
    for (const task of copy.tasks) {
      const taskComponent = task?.task?.componentId;
      if (typeof taskComponent === 'string') task.task.componentId = translateComponentId(taskComponent, destinationComponents) ?? taskComponent;
    }
  }
  return copy;
}

interface RestoredConfiguration {
  name?: string | null;
  description?: string | null;
  configuration?: unknown;
  state?: unknown;
  isDisabled?: boolean;
  rowsSortOrder?: unknown;
  rows?: Array<{ id: string; configuration?: unknown; state?: unknown }>;
}

const ignore = () => undefined;

/**
 * What differs between a snapshot configuration (after the documented changes) and its restored copy, if anything.
 * `bodies` answers the bodies the migration's own later steps may have given it (activities/own-edits.ts).
 */
async function describeDifference(
  componentId: string,
  snapshot: SnapshotConfiguration,
  actual: RestoredConfiguration,
  destinationComponents: ReadonlySet<string>,
  bodies: () => Promise<unknown[]>,
): Promise<Omit<ConfigurationMismatch, 'configuration'> | undefined> {
  const fixed = (difference: string) => ({ difference, repairable: false });
  const repairable = (difference: string) => ({ difference, repairable: true });
  if (actual.name !== snapshot.name) return fixed('name');
  if ((actual.description ?? '') !== (snapshot.description ?? '')) return fixed('description');
  if (!(await bodies()).some((body) => sameJson(actual.configuration, body))) return fixed('configuration body');
  if (!sameJson(actual.state ?? {}, snapshot.state ?? {})) return fixed('state');
  if ((actual.isDisabled ?? false) !== (DISABLED_ON_ARRIVAL.has(componentId) || snapshot.isDisabled === true)) return fixed('disabled flag');
  const rows = new Map((actual.rows ?? []).map((row) => [String(row.id), row]));
  const expectedRows = snapshot.rows ?? [];
  const lost = expectedRows.filter((row) => !rows.has(String(row.id)));
  if (lost.length) return repairable(`${lost.length} row(s) missing: ${lost.map((row) => row.id).join(', ')}`);
  // the restore sets the order again when it differs
  if (snapshot.rowsSortOrder?.length && !sameJson(actual.rowsSortOrder, snapshot.rowsSortOrder)) return repairable('rows sort order');
  if (rows.size !== expectedRows.length) return fixed(`rows: ${expectedRows.length} expected, ${rows.size} found`);
  for (const row of expectedRows) {
    const copy = rows.get(String(row.id))!;
    if (!sameJson(copy.configuration, withEncryptedValuesOf(sanitize(componentId, row.configuration, destinationComponents, ignore), copy.configuration))) return fixed(`row ${row.id} body`);
    if (!sameJson(copy.state ?? {}, row.state ?? {})) return fixed(`row ${row.id} state`);
  }
  return undefined;
}

function isEmptyObject(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'object' && Object.keys(value as object).length === 0);
}
