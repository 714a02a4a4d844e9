// The migration report as one self-contained HTML page (report.html next to report.json and report.md), to open in
// a browser or attach to a ticket: summary, what moved per entity type, the old→new ID map, what was not migrated,
// and the checklist with tick boxes. Every value is escaped (names and messages come from the projects), and the
// page's Content-Security-Policy forbids scripts and remote loads, so it stays inert whatever the data holds.
import { ENTITIES, ENTITY_TYPES } from '../workflows/types';
import { verifiedBy, type MigrationReport } from './report-model';

/** Markup that is already safe (built by `html` from escaped parts). */
class Safe {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

type Part = Safe | string | number | undefined | null | false | Part[];

function render(part: Part): string {
  if (part instanceof Safe) return part.value;
  if (Array.isArray(part)) return part.map(render).join('');
  if (part === undefined || part === null || part === false) return '';
  return escapeHtml(part);
}

/** Tagged template: interpolated values are escaped unless they are markup made by `html` itself. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Safe {
  return new Safe(strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ''), ''));
}

/** Headings of the counts (one per entity type) and of the ID map's types. */
const LABELS: Record<string, string> = {
  ...Object.fromEntries(ENTITY_TYPES.map((type) => [type, ENTITIES[type].label.charAt(0).toUpperCase() + ENTITIES[type].label.slice(1)])),
  tableData: 'Table data (exports and imports)',
  aliases: 'Alias tables',
  configurationRows: 'Configuration rows',
  orchestration: 'Legacy orchestrations',
  configuration: 'Configurations',
};

function table(headers: string[], rows: Part[][], empty: string, className = ''): Safe {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table class="${className}"><thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows.map(
    (row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`,
  )}</tbody></table>`;
}

function groupBy<T>(items: T[], key: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function checklist(title: string, items: Part[], empty = 'Nothing to do.'): Safe {
  return html`<section class="check"><h3>${title}</h3>${
    items.length
      ? html`<ul>${items.map((item) => html`<li><label><input type="checkbox"> ${item}</label></li>`)}</ul>`
      : html`<p class="empty">${empty}</p>`
  }</section>`;
}

const STYLE = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1100px; padding: 24px; color: #1d2330; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { border-bottom: 1px solid #d8dde6; padding-bottom: 4px; margin-top: 32px; } h3 { font-size: 16px; margin: 18px 0 6px; }
.meta { color: #566074; } .summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin: 16px 0; }
.card { border: 1px solid #d8dde6; border-radius: 8px; padding: 10px 14px; } .card b { display: block; font-size: 22px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; } th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
th { background: #f4f6f9; } td.num, th.num { text-align: right; } code { font-size: 13px; background: #f4f6f9; padding: 1px 4px; border-radius: 3px; word-break: break-all; }
.ok { color: #1a7f37; } .bad { color: #b42318; font-weight: 600; } .empty { color: #566074; font-style: italic; }
.check ul { list-style: none; padding-left: 4px; } .check li { margin: 4px 0; }
@media print { input[type=checkbox] { -webkit-appearance: none; appearance: none; border: 1px solid #000; width: 11px; height: 11px; } }
`;

export function renderHtml(report: MigrationReport): string {
  const c = report.checklist;
  const v = report.verification;
  const verified = v.tables === v.ok;
  const counts = Object.entries(report.counts);
  const customerWriters = c.customerOwnedWriters ?? [];
  const writers = report.writers ?? { snowflake: [], goodData: [], secretsMigrated: [], secretsDryRun: false };
  const checklistItems = c.reauthorize.length + c.secrets.length + customerWriters.length + c.sshTunnels.length + c.enable.length + c.fullLoadOnFirstRun.length + 2;
  const skippedByType = groupBy(report.skipped, (s) => s.entity.split(' ')[0] || 'other');
  const idsByType = groupBy(report.idMap, (e) => e.type);

  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Migration report: ${report.workflowId}</title>
<style>${new Safe(STYLE)}</style>
</head>
<body>
<header>
<h1>Migration report</h1>
<p class="meta" id="workflow"><code>${report.workflowId}</code></p>
</header>

<section id="summary">
<h2>Summary</h2>
<p>Project <b>${report.source.projectId}</b> (${report.source.name}) on <code>${report.source.url}</code> →
project <b>${report.destination.projectId}</b> (${report.destination.name}) on <code>${report.destination.url}</code>.</p>
${report.approval ? html`<p>${report.approval.decision === 'approved' ? 'Approved' : 'Rejected'} by <b>${report.approval.by}</b> at ${report.approval.at}${report.approval.comment ? html`: “${report.approval.comment}”` : ''}.</p>` : ''}
<div class="summary">
${counts.map(([type, count]) => html`<div class="card">${LABELS[type] ?? type}<b>${count}</b></div>`)}
<div class="card">Verified tables<b class="${verified ? 'ok' : 'bad'}">${v.ok} / ${v.tables}</b></div>
<div class="card">Checklist items<b>${checklistItems}</b></div>
</div>
<p class="meta">Generated ${report.generatedAt}.</p>
</section>

<section id="moved">
<h2>What moved</h2>
${table(
  ['Entity type', 'Count'],
  counts.map(([type, count]) => [LABELS[type] ?? type, count]),
  'Nothing moved.',
  'counts',
)}
<h3>Verification</h3>
<p class="${verified ? 'ok' : 'bad'}">${v.ok} of ${v.tables} tables match the source by ${verifiedBy(v.mode)} (${v.rows} rows).</p>
${v.mismatches.length ? table(['Table', 'Expected rows', 'Found rows', 'Expected checksum', 'Found checksum'], v.mismatches.map((m) => [html`<code>${m.tableId}</code>`, m.expected.rows, m.actual.rows, html`<code>${m.expected.checksum.slice(0, 16)}</code>`, html`<code>${m.actual.checksum.slice(0, 16)}</code>`]), '', 'mismatches') : ''}
</section>

<section id="id-map">
<h2>Old → new IDs</h2>
${idsByType.length ? idsByType.map(([type, entries]) => html`<h3>${LABELS[type] ?? type}</h3>${table(['Old ID', 'New ID'], entries.map((e) => [html`<code>${e.oldId}</code>`, html`<code>${e.newId}</code>`]), '')}`) : html`<p class="empty">No ID changed.</p>`}
</section>

<section id="not-migrated">
<h2>Not migrated</h2>
${skippedByType.length ? skippedByType.map(([type, items]) => html`<h3>${type}</h3>${table(['Entity', 'Why'], items.map((s) => [s.entity, s.message]), '')}`) : html`<p class="empty">Everything was migrated.</p>`}
${report.warnings.length ? html`<h3>Warnings from the validation</h3>${table(['Code', 'Entity', 'Finding', 'What to do'], report.warnings.map((w) => [html`<code>${w.code}</code>`, w.entity ?? '', w.message, w.action]), '')}` : ''}
</section>

<section id="writers">
<h2>Writers moved to the destination stack</h2>
${writers.snowflake.length ? html`<h3>Keboola-provisioned Snowflake writers</h3>${table(['Configuration', 'New workspace', 'Shared with'], writers.snowflake.map((w) => [html`<code>${w.configuration}</code>`, html`<code>${w.workspaceId}</code>`, w.sharedWith.join(', ')]), '')}` : ''}
${writers.goodData.length ? html`<h3>GoodData writers</h3>${table(['Configuration', 'Old GoodData project', 'New GoodData project'], writers.goodData.map((g) => [html`<code>${g.configuration}</code>`, html`<code>${g.oldProjectId}</code>`, html`<code>${g.newProjectId}</code>`]), '')}` : ''}
${writers.snowflake.length + writers.goodData.length === 0 ? html`<p class="empty">No Keboola-provisioned Snowflake or GoodData writer.</p>` : ''}
${report.lateCopiesRemoved.length ? html`<h3>Late copies removed</h3><p>Creates that reached the stack after their retry made these copies; one of each is kept.</p>${table(['Entity', 'Removed', 'Kept'], report.lateCopiesRemoved.map((r) => [r.entity, html`<code>${r.removed}</code>`, html`<code>${r.kept}</code>`]), '')}` : ''}
${writers.secretsMigrated.length ? html`<p>Secrets re-encrypted for the destination${writers.secretsDryRun ? ' (dry run: nothing was written)' : ''}: ${writers.secretsMigrated.join(', ')}.</p>` : ''}
</section>

<section id="checklist">
<h2>Checklist for the destination project</h2>
${checklist('Re-authorize (OAuth)', c.reauthorize.map((i) => html`<code>${i.configuration}</code> (${i.name})`))}
${checklist('Re-enter encrypted values', c.secrets.map((i) => html`<code>${i.configuration}</code>${i.row ? ` row ${i.row}` : ''}: <code>${i.path}</code>${i.error ? ` (re-encryption failed: ${i.error})` : ''}`))}
${checklist('Re-enter the passwords of customer-owned Snowflake writers', customerWriters.map((i) => html`<code>${i.configuration}</code> (database host ${i.host})`))}
${checklist('Set up SSH tunnels', c.sshTunnels.map((i) => html`<code>${i.configuration}</code> (${i.name})`))}
${checklist('Enable orchestrations and Flows', c.enable.map((i) => html`<code>${i.configuration}</code> (${i.name})`))}
${checklist('Incremental loads that will read everything on their first run', c.fullLoadOnFirstRun.map((i) => html`${i.entity}: ${i.message}`))}
${checklist('IP whitelists', [c.ipWhitelists])}
${checklist('Users and tokens', [c.usersToInvite])}
</section>

<section id="notes">
<h2>Notes</h2>
<ul>${c.notes.map((n) => html`<li>${n}</li>`)}</ul>
</section>
</body>
</html>
`;
  return page.value;
}
