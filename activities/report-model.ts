// The shape of the migration report, shared by its builder (report.ts) and its renderers (Markdown, HTML).
import type { StackRef } from '../workflows/input';
import type { RemovedDuplicate } from './created-once';
import type { Approval, EntityType, Finding, IdMapEntry, TableVerification, ValidationReport, VerificationSummary } from '../workflows/types';

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
}

/** What a verification compared, in words (the report says which mode ran). */
export function verifiedBy(mode: 'checksum' | 'rows' | undefined): string {
  return mode === 'rows' ? 'row count only (--verify rows: the contents were not compared)' : 'row count and content checksum';
}
