// Writers that cannot simply be copied (docs/domain.md#provisioned-snowflake-writers): Keboola-provisioned Snowflake writers get a workspace in the
// destination, GoodData writers get their project exported and imported into the destination's GoodData, and
// (optionally) every configuration's encrypted values are re-encrypted for the destination through the Encryption
// API. They run after the configurations are restored and rewrite those restored configurations.
//
// Idempotency: what a step provisioned is remembered in the destination itself, as configuration metadata
// (KBC.stackMigrate.*), and written there before anything depends on it; a workspace also belongs to the
// configuration it was created for. A retry finds them and never creates a second workspace or GoodData project; a
// copy made by a create that landed after its retry is removed before the step ends (activities/created-once.ts).
// Passwords, tokens and export tokens never leave the activity: not in results, heartbeats or logs.
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { StackError, stackHost, type Configuration, type StackClient, type Workspace } from '../stack';
import type { StackRef } from '../workflows/input';
import type { RestoreOutcome } from '../workflows/types';
import type { SnapshotReader } from '../snapshot/reader';
import type { SnapshotConfiguration } from '../snapshot/schemas';
import { translateComponentId } from './component-ids';
import { findEncryptedValues } from './configuration-rules';
import type { ActivityDeps } from './deps';
import { DEFAULT_LATE_WRITE_GRACE_MS, awaitLateWrites, createNoting, removeDuplicates, settleLateWrites, type RemovedDuplicate } from './created-once';
import { heartbeat } from './heartbeat';

export const WORKSPACE_METADATA_KEY = 'KBC.stackMigrate.workspaceId';
export const SOURCE_DB_USER_METADATA_KEY = 'KBC.stackMigrate.sourceDbUser';
export const GOODDATA_PROJECT_METADATA_KEY = 'KBC.stackMigrate.goodDataProjectId';
export const GOODDATA_IMPORT_METADATA_KEY = 'KBC.stackMigrate.goodDataImportTask';
export const GOODDATA_IMPORTED_METADATA_KEY = 'KBC.stackMigrate.goodDataImported';
export const SECRETS_MIGRATED_METADATA_KEY = 'KBC.stackMigrate.secretsMigrated';

/** Snowflake writer components of every stack type (their IDs differ between AWS, Azure and GCP stacks). */
export const SNOWFLAKE_WRITERS: ReadonlySet<string> = new Set([
  'keboola.wr-snowflake',
  'keboola.wr-db-snowflake',
  'keboola.wr-snowflake-blob-storage',
  'keboola.wr-db-snowflake-gcs',
  'keboola.wr-db-snowflake-gcs-s3',
]);
export const GOODDATA_WRITERS: ReadonlySet<string> = new Set(['keboola.gooddata-writer']);

/** Where the report reads what these steps did. */
export const WRITERS_RESULTS_FILE = path.join('.stack-migrate', 'results', 'writers.json');

/** `created`: the writers moved to a new workspace; `moved` and `customerOwned` say more, for the report. */
export interface SnowflakeWritersResult extends RestoreOutcome {
  moved: Array<{ configuration: string; workspaceId: string; sharedWith: string[] }>;
  customerOwned: Array<{ configuration: string; host: string }>;
}

/** `created`: the writers pointed at a new GoodData project; `idMap` and `moved` say which. */
export interface GoodDataResult extends RestoreOutcome {
  moved: Array<{ configuration: string; oldProjectId: string; newProjectId: string }>;
}

export interface SecretsResult {
  migrated: string[];
  failed: Array<{ configuration: string; error: string }>;
  /** Configurations whose secrets another step replaces (provisioned Snowflake writers, GoodData writers). */
  skipped: Array<{ configuration: string; reason: string }>;
}

/** `<snapshotDir>/.stack-migrate/results/writers.json`: one section per step, written when the step ends. */
export interface WritersResults {
  snowflake?: SnowflakeWritersResult & { finishedAt: string };
  gooddata?: GoodDataResult & { finishedAt: string };
  secrets?: SecretsResult & { dryRun: boolean; finishedAt: string };
}

interface WriterConfig {
  componentId: string;
  configId: string;
  name: string;
  configuration: Record<string, any>;
  rows: SnapshotConfiguration['rows'];
}

interface StepInput {
  source: StackRef;
  destination: StackRef;
  snapshotDir: string;
}

export function createWriterActivities(deps: ActivityDeps) {
  return {
    /**
     * Keboola-provisioned Snowflake writers (database host = a Keboola Snowflake host of the source stack) get a new
     * workspace in the destination, one per source database user (writers sharing a user share the workspace); the
     * password is encrypted by the destination's Encryption API and the writer's `db` block replaced.
     * Customer-owned writers stay as restored and are listed: their password must be entered again.
     */
    async provisionSnowflakeWriters(input: StepInput): Promise<SnowflakeWritersResult> {
      const [source, destination] = await Promise.all([deps.stackClient(input.source), deps.stackClient(input.destination)]);
      const [sourceIndex, destinationIndex] = await Promise.all([source.services.index(), destination.services.index()]);
      const keboolaHost = sourceIndex.stack?.snowflakeHost;
      const destinationComponents = new Set(destinationIndex.components.map((c) => c.id));
      const reader = deps.snapshot(input.snapshotDir);
      const grace = deps.lateWriteGraceMs ?? DEFAULT_LATE_WRITE_GRACE_MS;
      const writers = await readConfigs(reader, SNOWFLAKE_WRITERS);
      const result: SnowflakeWritersResult = { created: [], existing: [], skipped: [], moved: [], customerOwned: [] };

      const groups = new Map<string, Array<WriterConfig & { destinationComponentId: string }>>();
      for (const writer of writers) {
        const db = writer.configuration.parameters?.db as Record<string, unknown> | undefined;
        const host = typeof db?.host === 'string' ? db.host : '';
        const destinationComponentId = translateComponentId(writer.componentId, destinationComponents);
        const id = `${destinationComponentId ?? writer.componentId}/${writer.configId}`;
        if (!destinationComponentId) {
          result.skipped.push({ id, reason: 'the component does not exist on the destination stack' });
        } else if (!host || !isKeboolaSnowflakeHost(host, keboolaHost)) {
          result.customerOwned.push({ configuration: id, host: host || '(no host)' });
        } else {
          const key = `${host.toLowerCase()}|${String(db?.user ?? '').toUpperCase()}`;
          groups.set(key, [...(groups.get(key) ?? []), { ...writer, destinationComponentId }]);
        }
      }

      const encryption = destination.encryption;
      for (const [key, members] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        members.sort((a, b) => `${a.destinationComponentId}/${a.configId}`.localeCompare(`${b.destinationComponentId}/${b.configId}`));
        const sourceUser = key.split('|')[1]!;
        const restored: Array<{ member: (typeof members)[number]; config: Configuration; metadata: Map<string, string> }> = [];
        for (const member of members) {
          const config = await destination.configurations.get(member.destinationComponentId, member.configId);
          if (!config) {
            result.skipped.push({ id: `${member.destinationComponentId}/${member.configId}`, reason: 'the configuration was not restored in the destination' });
            continue;
          }
          const metadata = new Map((await destination.configurations.listMetadata(member.destinationComponentId, member.configId)).map((m) => [m.key, m.value] as const));
          restored.push({ member, config, metadata });
        }
        if (!restored.length) continue;
        const owner = restored[0]!.member;
        const ownerRef = { componentId: owner.destinationComponentId, configId: owner.configId };

        // 1. the group's workspace: remembered in metadata, else the one created for the owner, else a new one
        let workspace: Workspace | null = null;
        let password: string | undefined;
        for (const { metadata } of restored) {
          const id = metadata.get(WORKSPACE_METADATA_KEY);
          if (id && !workspace) workspace = await destination.workspaces.get(id);
        }
        workspace ??= (await destination.workspaces.list(ownerRef))[0] ?? null;
        if (!workspace) {
          const created = await createNoting(reader, WORKSPACES_STEP, () => destination.workspaces.create({ configuration: ownerRef }));
          password = created.connection.password;
          workspace = created;
        }
        const workspaceId = String(workspace.id);
        // a create that landed after its retry made a second workspace of the owner: it goes (this one is kept)
        await awaitLateWrites(reader, WORKSPACES_STEP, grace);
        await removeLateWorkspaces(destination, reader, ownerRef, workspaceId);
        await settleLateWrites(reader, WORKSPACES_STEP);
        if (restored[0]!.metadata.get(WORKSPACE_METADATA_KEY) !== workspaceId) {
          await destination.configurations.setMetadata(ownerRef.componentId, ownerRef.configId, [{ key: WORKSPACE_METADATA_KEY, value: workspaceId }]);
        }
        heartbeat({ group: key, workspaceId });

        // 2. every writer of the group points at it; a lost password is reset, and then every writer gets the new one
        const isDone = (r: (typeof restored)[number]) => {
          const db = (r.config.configuration as Record<string, any> | undefined)?.parameters?.db ?? {};
          return r.metadata.get(WORKSPACE_METADATA_KEY) === workspaceId && db.user === workspace!.connection.user && typeof db['#password'] === 'string' && db['#password'].startsWith('KBC::');
        };
        let pending = restored.filter((r) => !isDone(r));
        if (pending.length && password === undefined) {
          password = await destination.workspaces.resetPassword(workspace.id);
          pending = restored;
        }
        for (const r of pending) {
          const { member } = r;
          const ciphertext = await encryption.encryptValue(password!, { componentId: member.destinationComponentId, projectId: input.destination.projectId });
          await destination.configurations.update(member.destinationComponentId, member.configId, {
            configuration: withWorkspace(r.config.configuration, workspace.connection, ciphertext),
            changeDescription: `stack-migrate: Snowflake workspace ${workspaceId} of the destination stack`,
          });
          await destination.configurations.setMetadata(member.destinationComponentId, member.configId, [
            { key: WORKSPACE_METADATA_KEY, value: workspaceId },
            { key: SOURCE_DB_USER_METADATA_KEY, value: sourceUser },
          ]);
          heartbeat({ group: key, workspaceId });
        }
        const ids = restored.map((r) => `${r.member.destinationComponentId}/${r.member.configId}`);
        for (const id of ids) result.moved.push({ configuration: id, workspaceId, sharedWith: ids.filter((other) => other !== id) });
        result.created.push(...ids);
      }
      await writeSection(deps.snapshot(input.snapshotDir), 'snowflake', result);
      return result;
    },

    /**
     * GoodData writers: a new project in the destination's GoodData domain, the source project exported
     * (cross-data-center) and imported into it, and the writer pointed at the new project.
     */
    async moveGoodDataProjects(input: StepInput): Promise<GoodDataResult> {
      const [source, destination] = await Promise.all([deps.stackClient(input.source), deps.stackClient(input.destination)]);
      const destinationComponents = new Set((await destination.services.index()).components.map((c) => c.id));
      const reader = deps.snapshot(input.snapshotDir);
      const grace = deps.lateWriteGraceMs ?? DEFAULT_LATE_WRITE_GRACE_MS;
      const writers = await readConfigs(reader, GOODDATA_WRITERS);
      const result: GoodDataResult = { created: [], existing: [], skipped: [], idMap: [], moved: [] };
      if (!writers.length) {
        await writeSection(deps.snapshot(input.snapshotDir), 'gooddata', result);
        return result;
      }
      const [sourceGoodData, destinationGoodData] = [source.gooddata, destination.gooddata];
      const poll = { onPoll: () => heartbeat(), pollMs: 100 };
      for (const writer of writers) {
        const componentId = translateComponentId(writer.componentId, destinationComponents);
        const id = `${componentId ?? writer.componentId}/${writer.configId}`;
        const oldPid = writer.configuration.parameters?.project?.pid;
        if (!componentId) {
          result.skipped.push({ id, reason: 'the component does not exist on the destination stack' });
          continue;
        }
        if (typeof oldPid !== 'string' || !oldPid) {
          result.skipped.push({ id, reason: 'the writer has no GoodData project (parameters.project.pid)' });
          continue;
        }
        const config = await destination.configurations.get(componentId, writer.configId);
        if (!config) {
          result.skipped.push({ id, reason: 'the configuration was not restored in the destination' });
          continue;
        }
        const metadata = new Map((await destination.configurations.listMetadata(componentId, writer.configId)).map((m) => [m.key, m.value] as const));
        const remember = (key: string, value: string) => destination.configurations.setMetadata(componentId, writer.configId, [{ key, value }]).then(() => metadata.set(key, value));

        // 1. the destination project: remembered in metadata, else found by its marker, else created
        const marker = goodDataMarker(oldPid, input.source);
        let newPid = metadata.get(GOODDATA_PROJECT_METADATA_KEY);
        if (newPid && !(await destinationGoodData.getProject(newPid))) newPid = undefined;
        if (!newPid) {
          const sourceProject = await sourceGoodData.getProject(oldPid);
          if (!sourceProject) {
            result.skipped.push({ id, reason: `GoodData project ${oldPid} does not exist in the source stack's GoodData (or the source token cannot see it)` });
            continue;
          }
          const existing = (await destinationGoodData.listProjects()).find((p) => p.summary === marker);
          newPid = existing?.pid ?? (await createNoting(reader, GOODDATA_STEP, () => destinationGoodData.createProject(sourceProject.title, marker)));
          await remember(GOODDATA_PROJECT_METADATA_KEY, newPid);
        }
        // a create that landed after its retry made a second project with the marker: it goes (the remembered one stays)
        await awaitLateWrites(reader, GOODDATA_STEP, grace);
        await removeLateGoodDataProjects(destination, reader, marker, newPid);
        await settleLateWrites(reader, GOODDATA_STEP);
        await destinationGoodData.waitForProject(newPid, poll);

        // 2. model and data: export from the source, import into the new project (once)
        if (metadata.get(GOODDATA_IMPORTED_METADATA_KEY) !== 'true') {
          let imported = false;
          const started = metadata.get(GOODDATA_IMPORT_METADATA_KEY);
          if (started) {
            const state = await destinationGoodData.taskStatus(started).catch((error: unknown) => {
              if (error instanceof StackError && error.kind === 'not-found') return { status: 'ERROR' as const };
              throw error;
            });
            if (state.status === 'RUNNING') await destinationGoodData.waitForTask(started, poll);
            imported = state.status !== 'ERROR';
          }
          if (!imported) {
            const exported = await sourceGoodData.exportProject(oldPid);
            await sourceGoodData.waitForTask(exported.statusUri, poll);
            const task = await destinationGoodData.importProject(newPid, exported.token);
            await remember(GOODDATA_IMPORT_METADATA_KEY, task.statusUri);
            await destinationGoodData.waitForTask(task.statusUri, poll);
          }
          await remember(GOODDATA_IMPORTED_METADATA_KEY, 'true');
        }

        // 3. the writer points at the new project
        if ((config.configuration as Record<string, any> | undefined)?.parameters?.project?.pid !== newPid) {
          await destination.configurations.update(componentId, writer.configId, {
            configuration: withGoodDataProject(config.configuration, newPid),
            changeDescription: `stack-migrate: GoodData project ${oldPid} moved to ${newPid}`,
          });
        }
        result.moved.push({ configuration: id, oldProjectId: oldPid, newProjectId: newPid });
        result.created.push(id);
        result.idMap!.push({ type: `GoodData project (${id})`, oldId: oldPid, newId: newPid });
        heartbeat();
      }
      await writeSection(deps.snapshot(input.snapshotDir), 'gooddata', result);
      return result;
    },

    /**
     * Re-encrypts each configuration's encrypted values for the destination through the source stack's Encryption
     * API (`migrate-configuration`, after its dry run), with the operator's Manage API token. A configuration that
     * fails is recorded and the others go on; a retry resumes after the last configuration done.
     */
    async migrateSecrets(input: StepInput & { manageTokenRef: string; dryRun?: boolean }): Promise<SecretsResult> {
      const [manageToken, sourceToken, destinationToken] = await Promise.all([
        deps.resolveToken(input.manageTokenRef),
        deps.resolveToken(input.source.tokenRef),
        deps.resolveToken(input.destination.tokenRef),
      ]);
      const [source, destination] = await Promise.all([deps.stackClient(input.source), deps.stackClient(input.destination)]);
      const [sourceIndex, destinationIndex] = await Promise.all([source.services.index(), destination.services.index()]);
      const keboolaHost = sourceIndex.stack?.snowflakeHost;
      const destinationComponents = new Set(destinationIndex.components.map((c) => c.id));
      const encryption = source.encryption;
      const candidates = (await readConfigs(deps.snapshot(input.snapshotDir))).filter(
        (c) => findEncryptedValues(c.configuration).length > 0 || (c.rows ?? []).some((row) => findEncryptedValues(row.configuration).length > 0),
      );
      const result: SecretsResult = (Context.current().info.heartbeatDetails as SecretsResult | undefined) ?? { migrated: [], failed: [], skipped: [] };
      const done = new Set([...result.migrated, ...result.failed.map((f) => f.configuration), ...result.skipped.map((s) => s.configuration)]);
      for (const c of candidates) {
        const componentId = translateComponentId(c.componentId, destinationComponents);
        const id = `${componentId ?? c.componentId}/${c.configId}`;
        if (done.has(id)) continue;
        const db = c.configuration.parameters?.db as { host?: unknown } | undefined;
        if (!componentId) {
          result.failed.push({ configuration: id, error: 'the component does not exist on the destination stack' });
        } else if (GOODDATA_WRITERS.has(c.componentId)) {
          result.skipped.push({ configuration: id, reason: 'a GoodData writer: its project is moved by the GoodData step' });
        } else if (SNOWFLAKE_WRITERS.has(c.componentId) && typeof db?.host === 'string' && isKeboolaSnowflakeHost(db.host, keboolaHost)) {
          result.skipped.push({ configuration: id, reason: 'a Keboola-provisioned Snowflake writer: it gets a new workspace and password' });
        } else if (componentId !== c.componentId) {
          result.failed.push({ configuration: id, error: `the component is ${componentId} on the destination stack and ${c.componentId} on the source: the Encryption API migrates within one component ID, enter the values again` });
        } else if ((await destination.configurations.listMetadata(componentId, c.configId).catch(() => [])).some((m) => m.key === SECRETS_MIGRATED_METADATA_KEY && m.value === 'true')) {
          result.migrated.push(id);
        } else {
          const request = {
            manageToken,
            sourceStorageApiToken: sourceToken,
            destinationStack: stackHost(input.destination.url),
            destinationStorageApiToken: destinationToken,
            componentId: c.componentId,
            configId: c.configId,
          };
          try {
            await encryption.migrateConfiguration({ ...request, dryRun: true });
            if (!input.dryRun) {
              await encryption.migrateConfiguration(request);
              await destination.configurations.setMetadata(componentId, c.configId, [{ key: SECRETS_MIGRATED_METADATA_KEY, value: 'true' }]);
            }
            result.migrated.push(id);
          } catch (error) {
            // a stack outage is retried by Temporal (resuming here); anything else belongs to this configuration
            if (!(error instanceof StackError) || error.retryable) throw error;
            result.failed.push({ configuration: id, error: error.message });
          }
        }
        heartbeat(result);
      }
      await writeSection(deps.snapshot(input.snapshotDir), 'secrets', { ...result, dryRun: input.dryRun === true });
      return result;
    },
  };
}

const WORKSPACES_STEP = 'snowflake-workspaces';
const GOODDATA_STEP = 'gooddata-projects';

/** The summary that marks a GoodData project as the copy of a source project (a retry looks for it). */
const GOODDATA_MARKER = 'stack-migrate: copy of GoodData project';
export const goodDataMarker = (oldPid: string, source: Pick<StackRef, 'url'>) => `${GOODDATA_MARKER} ${oldPid} of ${stackHost(source.url)}`;
/** Whether a GoodData project's summary marks it as a copy that a migration from `source` made. */
export const isGoodDataCopyFrom = (summary: string | null | undefined, source: Pick<StackRef, 'url'>) =>
  Boolean(summary?.startsWith(`${GOODDATA_MARKER} `) && summary.endsWith(` of ${stackHost(source.url)}`));

/** Removes every workspace of the owner configuration but `keep` (copies made by late creates), recorded for the report. */
export async function removeLateWorkspaces(destination: StackClient, reader: SnapshotReader, owner: { componentId: string; configId: string }, keep: string): Promise<RemovedDuplicate[]> {
  const all = await destination.workspaces.list(owner);
  const kept = all.find((w) => String(w.id) === keep);
  if (!kept) return [];
  return removeDuplicates(reader, `workspace of ${owner.componentId}/${owner.configId}`, new Map([['', all]]), (w) => String(w.id), (w) => destination.workspaces.delete(w.id), () => kept);
}

/** Removes every GoodData project with the marker but `keep` (copies made by late creates), recorded for the report. */
export async function removeLateGoodDataProjects(destination: StackClient, reader: SnapshotReader, marker: string, keep: string): Promise<RemovedDuplicate[]> {
  const all = (await destination.gooddata.listProjects()).filter((p) => p.summary === marker);
  const kept = all.find((p) => p.pid === keep);
  if (!kept) return [];
  return removeDuplicates(reader, `GoodData project (${marker})`, new Map([['', all]]), (p) => p.pid, (p) => destination.gooddata.deleteProject(p.pid), () => kept);
}

/** A writer's configuration with its `db` block pointing at the workspace, the password given as its ciphertext. */
export function withWorkspace(configuration: unknown, connection: Workspace['connection'], passwordCiphertext: string): Record<string, any> {
  const copy = structuredClone((configuration ?? {}) as Record<string, any>);
  copy.parameters ??= {};
  copy.parameters.db = {
    ...(copy.parameters.db ?? {}),
    driver: 'snowflake',
    host: connection.host,
    database: connection.database,
    schema: connection.schema,
    warehouse: connection.warehouse ?? copy.parameters.db?.warehouse,
    user: connection.user,
    '#password': passwordCiphertext,
  };
  return copy;
}

/** A GoodData writer's configuration pointing at the project `pid`. */
export function withGoodDataProject(configuration: unknown, pid: string): Record<string, any> {
  const copy = structuredClone((configuration ?? {}) as Record<string, any>);
  copy.parameters ??= {};
  copy.parameters.project = { ...(copy.parameters.project ?? {}), pid };
  return copy;
}

/** A Keboola-provisioned Snowflake host: the source stack's own (from its API index) or any `keboola…snowflakecomputing.com`. */
export function isKeboolaSnowflakeHost(host: string, stackSnowflakeHost?: string): boolean {
  const h = host.trim().toLowerCase();
  if (stackSnowflakeHost && h === stackSnowflakeHost.toLowerCase()) return true;
  return /^keboola(\.[a-z0-9-]+)*\.snowflakecomputing\.com$/.test(h);
}

/** The snapshot's configurations of the given components (all restored ones without a filter), with their bodies. */
async function readConfigs(snapshot: SnapshotReader, components?: ReadonlySet<string>): Promise<WriterConfig[]> {
  const out: WriterConfig[] = [];
  for (const ref of (await snapshot.index()).configurations) {
    if (components && !components.has(ref.componentId)) continue;
    const c = await snapshot.configuration(ref);
    const configuration = c.configuration && typeof c.configuration === 'object' ? (c.configuration as Record<string, any>) : {};
    out.push({ componentId: ref.componentId, configId: ref.configId, name: c.name, configuration, rows: c.rows ?? [] });
  }
  return out;
}

async function writeSection<K extends keyof WritersResults>(snapshot: SnapshotReader, key: K, value: Omit<NonNullable<WritersResults[K]>, 'finishedAt'>): Promise<void> {
  const current = (await snapshot.record<WritersResults>(WRITERS_RESULTS_FILE)) ?? {};
  await snapshot.write(WRITERS_RESULTS_FILE, { ...current, [key]: { ...value, finishedAt: new Date().toISOString() } });
}

