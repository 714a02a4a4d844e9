// The migration report (JSON and Markdown): what moved, the old→new ID map, what was skipped and why, and the
// checklist of what a human must do in the destination project.
import * as path from 'node:path';
import { summarizeVerification, type IdMapEntry, type TableVerification } from '../workflows/types';
import { files } from '../snapshot/layout';
import type { ActivityDeps } from './deps';
import type { ConfigurationRestoreResult } from './configurations';
import { WRITERS_RESULTS_FILE, type WritersResults } from './writers';
import { renderHtml } from './report-html';
import { syncSection, verifiedBy, type MigrationReport, type ReportInput } from './report-model';
import { DUPLICATES_REMOVED_FILE, type RemovedDuplicate } from './created-once';

export function createReportActivities(deps: ActivityDeps) {
  return {
    /** Writes report.json, report.md and report.html into the snapshot's working area; answers where they are. */
    async writeReport(input: ReportInput): Promise<{ json: string; markdown: string; html: string; checklistItems: number }> {
      const snapshot = deps.snapshot(input.snapshotDir);
      const writers = (await snapshot.record<WritersResults>(WRITERS_RESULTS_FILE)) ?? {};
      const verification: TableVerification[] = [];
      for await (const record of snapshot.eachRecord<TableVerification>(path.posix.dirname(files.verificationRecord('x')))) verification.push(record);
      // A batch file of results at a time: the report keeps what a person must see to, not every configuration.
      const configurations = new ConfigurationTally(writers);
      for await (const batch of snapshot.eachRecord<ConfigurationRestoreResult[]>(path.posix.dirname(files.configurationResults(0)), 'configurations-')) configurations.add(batch);
      const lateCopies = (await snapshot.record<RemovedDuplicate[]>(DUPLICATES_REMOVED_FILE)) ?? [];
      const report = buildReport(input, configurations, writers, verification, lateCopies);
      const keys = { json: files.report('json'), markdown: files.report('md'), html: files.report('html') };
      await snapshot.write(keys.json, report);
      await snapshot.store.writeText(keys.markdown, renderMarkdown(report));
      await snapshot.store.writeText(keys.html, renderHtml(report));
      const c = report.checklist;
      const checklistItems = c.reauthorize.length + c.secrets.length + c.customerOwnedWriters.length + c.sshTunnels.length + c.enable.length + c.fullLoadOnFirstRun.length;
      return { json: snapshot.store.describe(keys.json), markdown: snapshot.store.describe(keys.markdown), html: snapshot.store.describe(keys.html), checklistItems };
    },
  };
}

/** What the report keeps of the restored configurations: the rows created, the changed IDs, and what a person must do. */
export class ConfigurationTally {
  rowsCreated = 0;
  readonly translated: IdMapEntry[] = [];
  readonly reauthorize: MigrationReport['checklist']['reauthorize'] = [];
  readonly secrets: MigrationReport['checklist']['secrets'] = [];
  readonly sshTunnels: MigrationReport['checklist']['sshTunnels'] = [];
  readonly enable: MigrationReport['checklist']['enable'] = [];
  // Secrets that a later step replaced need no human: a provisioned writer's password, re-encrypted configurations.
  private readonly provisioned: Set<string>;
  private readonly reEncrypted: Set<string>;
  private readonly secretFailures: Map<string, string>;

  constructor(writers: WritersResults = {}) {
    this.provisioned = new Set((writers.snowflake?.moved ?? []).map((m) => m.configuration));
    this.reEncrypted = new Set(writers.secrets?.dryRun ? [] : (writers.secrets?.migrated ?? []));
    this.secretFailures = new Map((writers.secrets?.failed ?? []).map((f) => [f.configuration, f.error]));
  }

  add(results: Iterable<ConfigurationRestoreResult>): this {
    for (const c of results) {
      if (c.skipped) continue;
      const id = `${c.destinationComponentId}/${c.configId}`;
      this.rowsCreated += c.rowsCreated;
      if (c.destinationComponentId !== c.componentId) this.translated.push({ type: 'configuration', oldId: `${c.componentId}/${c.configId}`, newId: id });
      if (c.oauthRemoved) this.reauthorize.push({ configuration: id, name: c.name });
      if (c.sshTunnel) this.sshTunnels.push({ configuration: id, name: c.name });
      if (c.disabled) this.enable.push({ configuration: id, name: c.name });
      if (this.reEncrypted.has(id)) continue;
      const error = this.secretFailures.get(id);
      for (const s of c.secrets) {
        if (this.provisioned.has(id) && s.path === 'parameters.db.#password' && s.rowId === undefined) continue;
        this.secrets.push({ configuration: id, row: s.rowId, path: s.path, ...(error !== undefined ? { error } : {}) });
      }
    }
    return this;
  }
}

export function buildReport(
  input: ReportInput,
  configurations: ConfigurationTally,
  writers: WritersResults = {},
  verification: TableVerification[] = [],
  lateCopiesRemoved: RemovedDuplicate[] = [],
): MigrationReport {
  return {
    workflowId: input.workflowId,
    generatedAt: new Date().toISOString(),
    source: { url: input.source.url, projectId: input.source.projectId, name: input.validation.sourceProject.name },
    destination: { url: input.destination.url, projectId: input.destination.projectId, name: input.validation.destinationProject.name },
    approval: input.approval,
    counts: { ...input.counts, configurationRows: configurations.rowsCreated },
    idMap: [...input.idMap, ...configurations.translated],
    skipped: input.skipped,
    verification: {
      ...summarizeVerification(verification),
      mode: verification.some((v) => v.mode === 'rows') ? 'rows' : 'checksum',
      perTable: verification.sort((a, b) => a.tableId.localeCompare(b.tableId)),
    },
    writers: {
      snowflake: writers.snowflake?.moved ?? [],
      goodData: writers.gooddata?.moved ?? [],
      secretsMigrated: writers.secrets?.migrated ?? [],
      secretsDryRun: writers.secrets?.dryRun ?? false,
    },
    checklist: {
      reauthorize: configurations.reauthorize,
      secrets: configurations.secrets,
      customerOwnedWriters: writers.snowflake?.customerOwned ?? [],
      sshTunnels: configurations.sshTunnels,
      enable: configurations.enable,
      ipWhitelists: `The destination stack (${input.destination.url}) connects from other IP addresses than the source: add ${
        input.validation.destinationOutboundIps?.length ? `its addresses ${input.validation.destinationOutboundIps.join(', ')}` : 'its addresses (https://help.keboola.com/components/ip-addresses/)'
      } to every firewall and database whitelist that admits Keboola, before the first run.`,
      fullLoadOnFirstRun: input.validation.findings
        .filter((f) => f.code === 'INCREMENTAL_CHANGED_SINCE')
        .map((f) => ({ entity: f.entity ?? '', message: f.message })),
      usersToInvite: `Users, their roles and API tokens are not migrated: invite the users of project ${input.source.projectId} to project ${input.destination.projectId} and create new tokens.`,
      notes: [
        'Every table row carries the migration date as its internal timestamp: incremental loads based on "changed in last" read all rows on their first run.',
        'Configuration creation dates and authors are those of the migration; configuration versions, job history, events, files and trash stay in the source project.',
        'Legacy orchestration IDs changed (see the ID map); Flows kept theirs.',
        'The source project is unchanged; delete it when the destination works.',
      ],
    },
    warnings: input.validation.findings.filter((f) => f.severity === 'warning'),
    lateCopiesRemoved,
    ...(input.sync ? { sync: input.sync } : {}),
  };
}

export function renderMarkdown(report: MigrationReport): string {
  const c = report.checklist;
  const list = <T>(items: T[], line: (item: T) => string, empty = '_none_') => (items.length ? items.map((i) => `- [ ] ${line(i)}`).join('\n') : empty);
  const lines = [
    `# Migration report: ${report.workflowId}`,
    '',
    `Project ${report.source.projectId} (${report.source.name}) on ${report.source.url} → project ${report.destination.projectId} (${report.destination.name}) on ${report.destination.url}.`,
    report.approval ? `Approved by ${report.approval.by} at ${report.approval.at}${report.approval.comment ? `: ${report.approval.comment}` : ''}.` : '',
    `Generated ${report.generatedAt}.`,
    '',
    '## What moved',
    '',
    '| entity | count |',
    '| --- | ---: |',
    ...Object.entries(report.counts).map(([type, count]) => `| ${type} | ${count} |`),
    '',
    `Verification: ${report.verification.ok} of ${report.verification.tables} tables match the source by ${verifiedBy(report.verification.mode)} (${report.verification.rows} rows).`,
    ...report.verification.mismatches.map((m) => `- MISMATCH ${m.tableId}: expected ${m.expected.rows} rows, found ${m.actual.rows}${m.reason ? ` (${m.reason})` : ''}`),
    '',
    ...syncSection(report.sync),
    '## Old → new IDs',
    '',
    report.idMap.length ? ['| type | old | new |', '| --- | --- | --- |', ...report.idMap.map((e) => `| ${e.type} | ${e.oldId} | ${e.newId} |`)].join('\n') : '_No ID changed._',
    '',
    '## Writers moved to the destination stack',
    '',
    ...report.writers.snowflake.map((w) => `- ${w.configuration}: new Snowflake workspace ${w.workspaceId}${w.sharedWith.length ? ` (shared with ${w.sharedWith.join(', ')})` : ''}`),
    ...report.writers.goodData.map((g) => `- ${g.configuration}: GoodData project ${g.oldProjectId} → ${g.newProjectId}`),
    ...(report.writers.snowflake.length + report.writers.goodData.length === 0 ? ['_No Keboola-provisioned Snowflake or GoodData writer._'] : []),
    ...(report.writers.secretsMigrated.length
      ? ['', `Secrets re-encrypted for the destination${report.writers.secretsDryRun ? ' (dry run: nothing was written)' : ''}: ${report.writers.secretsMigrated.join(', ')}.`]
      : []),
    '',
    ...(report.lateCopiesRemoved.length
      ? ['', 'Copies made by creates that reached the stack after their retry, removed (one of each kept):', ...report.lateCopiesRemoved.map((r) => `- ${r.entity}: removed ${r.removed}, kept ${r.kept}`)]
      : []),
    '',
    '## Not migrated',
    '',
    list(report.skipped, (s) => `${s.entity}: ${s.message}`),
    '',
    '## Checklist for the destination project',
    '',
    '### Re-authorize (OAuth)',
    list(c.reauthorize, (i) => `${i.configuration} (${i.name})`),
    '',
    '### Re-enter encrypted values',
    list(c.secrets, (i) => `${i.configuration}${i.row ? ` row ${i.row}` : ''}: \`${i.path}\`${i.error ? ` (re-encryption failed: ${i.error})` : ''}`),
    '',
    '### Re-enter the passwords of customer-owned Snowflake writers',
    list(c.customerOwnedWriters, (i) => `${i.configuration} (database host ${i.host})`),
    '',
    '### Set up SSH tunnels',
    list(c.sshTunnels, (i) => `${i.configuration} (${i.name})`),
    '',
    '### Enable orchestrations and Flows',
    list(c.enable, (i) => `${i.configuration} (${i.name})`),
    '',
    '### Incremental loads that will read everything on their first run',
    list(c.fullLoadOnFirstRun, (i) => `${i.entity}: ${i.message}`),
    '',
    '### IP whitelists',
    `- [ ] ${c.ipWhitelists}`,
    '',
    '### Users and tokens',
    `- [ ] ${c.usersToInvite}`,
    '',
    '## Notes',
    '',
    ...c.notes.map((n) => `- ${n}`),
    '',
  ];
  return lines.join('\n');
}
