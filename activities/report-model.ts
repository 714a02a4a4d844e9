// The shape of the migration report, shared by its builder (report.ts) and its renderers (Markdown, HTML).
import type { StackRef } from '../workflows/input';
import type { RemovedDuplicate } from './created-once';
import type { Approval, EntityType, Finding, IdMapEntry, SyncStatus, TableVerification, ValidationReport, VerificationSummary } from '../workflows/types';

export interface ReportInput {
  workflowId: string;
  /** The source project, or the snapshot folder (`file://...`) a restore read from. */
  source: Pick<StackRef, 'url' | 'projectId'>;
  destination: StackRef;
  snapshotDir: string;
  validation: ValidationReport;
  approval?: Approval;
  counts: Partial<Record<EntityType, number>>;
  skipped: Array<{ entity: string; message: string }>;
  /** Entities whose IDs changed (legacy orchestrations, GoodData projects, translated components). */
  idMap: IdMapEntry[];
  /** A migration kept in sync: its passes and cutover (docs/sync.md). */
  sync?: SyncStatus;
}

export interface MigrationReport {
  workflowId: string;
  generatedAt: string;
  source: { url: string; projectId: number; name: string };
  destination: { url: string; projectId: number; name: string };
  approval?: Approval;
  counts: Record<string, number>;
  idMap: ReportInput['idMap'];
  skipped: ReportInput['skipped'];
  verification: VerificationSummary & { perTable: TableVerification[] };
  /** Writers moved to the destination stack's Snowflake and GoodData, and secrets re-encrypted there. */
  writers: {
    snowflake: Array<{ configuration: string; workspaceId: string; sharedWith: string[] }>;
    goodData: Array<{ configuration: string; oldProjectId: string; newProjectId: string }>;
    secretsMigrated: string[];
    secretsDryRun: boolean;
  };
  checklist: {
    reauthorize: Array<{ configuration: string; name: string }>;
    secrets: Array<{ configuration: string; row?: string; path: string; error?: string }>;
    customerOwnedWriters: Array<{ configuration: string; host: string }>;
    sshTunnels: Array<{ configuration: string; name: string }>;
    enable: Array<{ configuration: string; name: string }>;
    ipWhitelists: string;
    fullLoadOnFirstRun: Array<{ entity: string; message: string }>;
    usersToInvite: string;
    notes: string[];
  };
  warnings: Finding[];
  /** Copies that creates landing after their retry had made, found and removed (activities/created-once.ts). */
  lateCopiesRemoved: RemovedDuplicate[];
  sync?: SyncStatus;
}

/** The sync passes and the cutover in Markdown lines, for the report (none for a one-off migration). */
export function syncSection(sync: SyncStatus | undefined): string[] {
  if (!sync) return [];
  const c = sync.cutover;
  const switched = (s: { schedules: string[]; orchestrations: string[]; configurations: string[] } | undefined) =>
    s ? `${s.schedules.length} schedule(s), ${s.orchestrations.length} legacy orchestration(s), ${s.configurations.length} configuration(s)` : 'nothing';
  return [
    '## Kept in sync',
    '',
    `Phase: ${sync.phase}. ${sync.passes} sync pass(es) after the first copy; the last at ${sync.lastPassAt}.`,
    '',
    ...(sync.recentPasses.length
      ? [
          '| pass | by | seconds | tables copied | tables removed | configurations | bytes | verified |',
          '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |',
          ...sync.recentPasses.map((p) => {
            const ch = p.changes;
            return `| ${p.pass} | ${p.by}${p.reason ? ` (${p.reason})` : ''} | ${p.seconds} | ${ch.tablesAdded + ch.tablesChanged + ch.tablesAltered} | ${ch.tablesRemoved} | ${ch.configurationsAdded + ch.configurationsChanged + ch.configurationsRemoved} | ${p.bytes} | ${p.verification.ok} of ${p.verification.tables} |`;
          }),
          '',
        ]
      : []),
    ...(sync.lastPass?.changes.needsAPerson.length ? ['What the last pass could not bring over (a person does it):', ...sync.lastPass.changes.needsAPerson.map((n) => `- [ ] ${n}`), ''] : []),
    ...(c
      ? [
          `Cutover approved by ${c.by} at ${c.requestedAt}${c.comment ? `: ${c.comment}` : ''}.`,
          `- source switched off: ${c.switchOffSource ? `${switched(c.sourceSwitchedOff)} at ${c.sourceSwitchedOffAt ?? '(not yet)'}` : 'no (left running on request)'}`,
          `- final pass: ${c.finalPass ?? '(not yet)'}`,
          `- destination switched on: ${switched(c.destinationSwitchedOn)} at ${c.destinationSwitchedOnAt ?? '(not yet)'}`,
          `- downtime: ${c.downtimeSeconds !== undefined ? `${c.downtimeSeconds} s` : '(not measured)'}`,
          ...(c.failed ? [`- FAILED: ${c.failed}`] : []),
          ...(c.rollback ? [`- rolled back by ${c.rollback.by} at ${c.rollback.at}${c.rollback.comment ? ` (${c.rollback.comment})` : ''}: destination off (${switched(c.rollback.destinationSwitchedOff)}), source on (${switched(c.rollback.sourceSwitchedOn)})`] : []),
          '',
        ]
      : []),
  ];
}

/** What a verification compared, in words (the report says which mode ran). */
export function verifiedBy(mode: 'checksum' | 'rows' | undefined): string {
  return mode === 'rows' ? 'row count only (--verify rows: the contents were not compared)' : 'row count and content checksum';
}
