// `sync`, `cutover`, `rollback`: the updates of a migration kept in sync (docs/sync.md). Each is refused at once
// by the migration's validator when it cannot run now (another operation running, not ready, four-eyes rule),
// and otherwise answers when it has finished.
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import {
  cutoverPayloadSchema,
  cutoverUpdate,
  measureLagUpdate,
  migrateProject,
  rollbackPayloadSchema,
  rollbackUpdate,
  syncPayloadSchema,
  syncUpdate,
  type CutoverPayload,
  type RollbackPayload,
  type SyncPayload,
} from '../../workflows';
import { parseOr, type MigrationInput } from '../../workflows/input';
import { carriedFrom, type CutoverRecord, type MigrationResult, type SyncLag, type SyncPassSummary } from '../../workflows/types';
import { InputError } from './start';

const refused = (what: string) => (problems: string) => new InputError(`cannot ${what}: ${problems}`);

/**
 * Runs a sync pass and answers it. A migration still open (kept in sync) gets the update; one that completed
 * without --keep-in-sync is started again in sync with its last snapshot, and the pass runs at once
 * (Update-with-Start), so `sync` works on any completed migration.
 */
export async function syncMigration(client: Client, taskQueue: string, workflowId: string, payload: SyncPayload, everyHours?: number): Promise<SyncPassSummary> {
  const args: [SyncPayload] = [parseOr(syncPayloadSchema, payload, refused('run a sync pass'))];
  const handle = client.workflow.getHandle<typeof migrateProject>(workflowId);
  const description = await handle.describe();
  if (description.status.name === 'RUNNING') return handle.executeUpdate(syncUpdate, { args });
  if (description.status.name !== 'COMPLETED') {
    throw new InputError(`${workflowId} ended ${description.status.name.toLowerCase()}: only a migration that completed can be kept in sync; resume it first (stack-migrate start ... --resume)`);
  }
  const [input, result] = await Promise.all([startInputOf(client, workflowId), handle.result() as Promise<MigrationResult>]);
  if (result.outcome !== 'completed' || !result.snapshotDir) throw new InputError(`${workflowId} was ${result.outcome}: there is no copy to keep in sync`);
  const cutover = result.status.sync?.cutover;
  if (cutover) {
    throw new InputError(
      `${workflowId} was cut over at ${cutover.finishedAt ?? cutover.requestedAt}${cutover.rollback ? ` and rolled back at ${cutover.rollback.at}` : ''}, and its rollback window has ended: the destination is live, and a sync pass would overwrite what changed there since; start a new migration into a new, empty project instead`,
    );
  }
  const carried = carriedFrom(result.status, result.snapshotDir, result.verification, result.status.updatedAt, everyHours ?? input.syncEveryHours);
  const startWorkflowOperation = new WithStartWorkflowOperation(migrateProject, {
    workflowId,
    taskQueue,
    args: [{ ...input, keepInSync: true, ...(everyHours ? { syncEveryHours: everyHours } : {}), carried: carried as unknown as MigrationInput['carried'] }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return client.workflow.executeUpdateWithStart(syncUpdate, { args, startWorkflowOperation });
}

/** The input the migration's first run was started with (its history's first event). */
async function startInputOf(client: Client, workflowId: string): Promise<MigrationInput> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) throw new Error(`the history of ${workflowId} does not hold its input`);
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let payloads = [payload];
  for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads); // encrypted (temporal/payload-codec.ts)
  const input = payloadConverter.fromPayload<MigrationInput>(payloads[0]!);
  return { ...input, carried: undefined };
}

export async function cutoverMigration(client: Client, workflowId: string, payload: CutoverPayload): Promise<CutoverRecord> {
  return client.workflow.getHandle(workflowId).executeUpdate(cutoverUpdate, { args: [parseOr(cutoverPayloadSchema, payload, refused('cut over'))] });
}

export async function rollbackMigration(client: Client, workflowId: string, payload: RollbackPayload): Promise<CutoverRecord> {
  return client.workflow.getHandle(workflowId).executeUpdate(rollbackUpdate, { args: [parseOr(rollbackPayloadSchema, payload, refused('roll back'))] });
}

/** How far behind the destination is, measured now by the migration (it holds the tokens' references). */
export async function measureLag(client: Client, workflowId: string): Promise<SyncLag> {
  return client.workflow.getHandle(workflowId).executeUpdate(measureLagUpdate);
}

export function formatPass(pass: SyncPassSummary): string {
  const c = pass.changes;
  const copied = c.tablesAdded + c.tablesChanged + c.tablesAltered;
  return [
    `sync pass ${pass.pass} done in ${pass.seconds} s (asked by ${pass.by}${pass.reason ? `: ${pass.reason}` : ''}): ${copied} table(s) copied (${c.tablesAdded} new, ${c.tablesChanged} with new data, ${c.tablesAltered} with a new structure), ${pass.bytes} bytes`,
    `  removed: ${c.tablesRemoved} table(s), ${c.aliasesRemoved} alias(es), ${c.bucketsRemoved} bucket(s), ${c.configurationsRemoved} configuration(s); added: ${c.bucketsAdded} bucket(s), ${c.aliasesAdded} alias(es)`,
    `  configurations: ${c.configurationsAdded} new, ${c.configurationsChanged} changed; ${c.tablesRelabelled} table(s) relabelled`,
    `  verified: ${pass.verification.ok} of ${pass.verification.tables} copied table(s) match the source`,
    ...c.needsAPerson.map((n) => `  needs a person: ${n}`),
  ].join('\n');
}

export function formatCutover(record: CutoverRecord): string {
  const count = (s?: { schedules: string[]; orchestrations: string[]; configurations: string[] }) =>
    s ? `${s.schedules.length} schedule(s), ${s.orchestrations.length} orchestration(s), ${s.configurations.length} configuration(s)` : 'nothing';
  return [
    record.rollback
      ? `rolled back by ${record.rollback.by} at ${record.rollback.at}${record.rollback.comment ? ` (${record.rollback.comment})` : ''}: destination off (${count(record.rollback.destinationSwitchedOff)}), source on (${count(record.rollback.sourceSwitchedOn)})`
      : `cut over by ${record.by} at ${record.finishedAt}: downtime ${record.downtimeSeconds} s`,
    `  source switched off: ${record.switchOffSource ? count(record.sourceSwitchedOff) : 'no (left running)'}; final pass ${record.finalPass}; destination switched on: ${count(record.destinationSwitchedOn)}`,
  ].join('\n');
}
