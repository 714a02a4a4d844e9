// What the migration's later steps change in the configurations it restored (docs/domain.md, "Resume"): the
// legacy orchestrations' new IDs in Flows and schedules, a provisioned Snowflake writer's workspace credentials, a
// GoodData writer's new project, and encrypted values re-encrypted for the destination. Verification runs again
// when a migration is resumed, after those steps may have run: each edit is recognised from what the migration
// itself wrote (the orchestrations' markers, the writers' metadata, the re-encrypted values), and nothing else.
import type { StackClient } from '../stack';
import type { SnapshotReader } from '../snapshot/reader';
import { sameJson } from './json';
import { orchestrationIdMap, rewriteFlow, rewriteSchedule } from './orchestrations';
import { GOODDATA_PROJECT_METADATA_KEY, GOODDATA_WRITERS, SECRETS_MIGRATED_METADATA_KEY, SNOWFLAKE_WRITERS, WORKSPACE_METADATA_KEY, withGoodDataProject, withWorkspace } from './writers';

const FLOW = 'keboola.orchestrator';
const SCHEDULER = 'keboola.scheduler';
/** How the Encryption API writes a value it encrypted (any stack, any scope). */
const CIPHERTEXT = /^KBC::/;

type Body = Record<string, any>;

export interface RestoredCopy {
  /** The component ID in the source (the snapshot's) and in the destination. */
  componentId: string;
  destinationComponentId: string;
  configId: string;
}

export interface OwnEdits {
  /**
   * The bodies the configuration may have after the migration's own steps: `restored` (the snapshot's body after
   * the documented changes) and, for the configurations a later step edits, that body after the edit. Encrypted
   * values the restore emptied may hold a value encrypted since (the secrets step, the writer step, or an operator
   * entering it again, as the checklist asks): they are taken from `actual`.
   */
  bodiesOf(copy: RestoredCopy, restored: Body, source: unknown, actual: unknown): Promise<unknown[]>;
}

export async function readOwnEdits(client: StackClient, reader: SnapshotReader): Promise<OwnEdits> {
  let orchestrationIds: Promise<Map<string, string>> | undefined;
  return {
    async bodiesOf(copy, restored, source, actual) {
      const bodies: Body[] = [restored];
      if (copy.componentId === FLOW || copy.componentId === SCHEDULER) {
        orchestrationIds ??= orchestrationIdMap(client, reader);
        const rewritten = structuredClone(restored);
        const rewrite = copy.componentId === FLOW ? rewriteFlow : rewriteSchedule;
        if (rewrite(rewritten, await orchestrationIds)) bodies.push(rewritten);
      }
      const withSecrets = () => bodies.map((body) => withAuthorizationOf(withEncryptedValuesOf(body, actual), actual));
      const restoredOrRewritten = withSecrets();
      if (restoredOrRewritten.some((body) => sameJson(body, actual))) return restoredOrRewritten;

      // Edits a step records in the configuration's metadata: read only for a configuration that differs.
      const metadata = new Map((await client.configurations.listMetadata(copy.destinationComponentId, copy.configId)).map((m) => [m.key, m.value] as const));
      const workspaceId = metadata.get(WORKSPACE_METADATA_KEY);
      if (SNOWFLAKE_WRITERS.has(copy.componentId) && workspaceId) {
        const workspace = await client.workspaces.get(workspaceId);
        if (workspace) bodies.push(withWorkspace(restored, workspace.connection, ''));
      }
      const pid = metadata.get(GOODDATA_PROJECT_METADATA_KEY);
      if (GOODDATA_WRITERS.has(copy.componentId) && pid) bodies.push(withGoodDataProject(restored, pid));
      // The Encryption API's migrate-configuration writes the source's body with the values re-encrypted.
      if (metadata.get(SECRETS_MIGRATED_METADATA_KEY) === 'true' && source && typeof source === 'object') bodies.push(source as Body);
      return withSecrets();
    },
  };
}

/**
 * `expected` with the OAuth authorization `actual` holds where `expected` has none: the restore removes the source's
 * (it means nothing on another stack), and a person authorizes the destination's copy again, as the checklist asks.
 */
export function withAuthorizationOf<T>(expected: T, actual: unknown): T {
  const id = (actual as Body | undefined)?.authorization?.oauth_api?.id;
  if (id === undefined || !expected || typeof expected !== 'object' || (expected as Body).authorization?.oauth_api?.id !== undefined) return expected;
  const copy = structuredClone(expected) as Body;
  copy.authorization = { ...(copy.authorization ?? {}), oauth_api: { ...(copy.authorization?.oauth_api ?? {}), id } };
  return copy as T;
}

/** `expected` with each encrypted value that is empty there taken from `actual`, when `actual` holds a ciphertext. */
export function withEncryptedValuesOf<T>(expected: T, actual: unknown): T {
  if (!expected || typeof expected !== 'object' || !actual || typeof actual !== 'object') return expected;
  const copy = structuredClone(expected) as Body;
  const other = actual as Body;
  for (const [key, value] of Object.entries(copy)) {
    if (key.startsWith('#') && (value === '' || (typeof value === 'string' && CIPHERTEXT.test(value))) && typeof other[key] === 'string' && CIPHERTEXT.test(other[key])) copy[key] = other[key];
    else if (value && typeof value === 'object') copy[key] = withEncryptedValuesOf(value, other[key]);
  }
  return copy as T;
}
