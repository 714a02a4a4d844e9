// The HTML report as a person sees it: rendered by headless Chromium (Debian's `chromium`, installed by .ci/run),
// with hostile names from a project shown as text, never run. Without Chromium this test is reported as NOT RUN.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { escapeHtml, renderHtml } from '../../activities/report-html';
import { buildReport, ConfigurationTally } from '../../activities/report';
import type { ValidationReport } from '../../workflows/types';

const run = promisify(execFile);
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));
const HOSTILE = `<script>document.title='pwned'</script><img src=x onerror="alert(1)">`;

function sampleReport() {
  const validation: ValidationReport = {
    sourceProject: { id: 101, name: `Sales & ${HOSTILE}`, region: 'us-east-1', backend: 'snowflake' },
    destinationProject: { id: 202, name: 'Sales EU', region: 'eu-central-1', backend: 'snowflake' },
    findings: [{ code: 'OAUTH_CONFIGURATION', severity: 'warning', entity: 'configuration keboola.ex-google-drive/7', message: 'OAuth must be authorized again', action: 'authorize it' }],
    plan: { buckets: 2, tables: 3, aliases: 1, configurations: 4, configurationRows: 2, rows: 100, bytes: 4096 },
  };
  return buildReport(
    {
      workflowId: 'migrate-us-101-to-eu',
      source: { url: 'https://connection.keboola.com', projectId: 101 },
      destination: { url: 'https://connection.eu-central-1.keboola.com', projectId: 202, tokenRef: 'env:DEST' },
      snapshotDir: '/tmp/none',
      validation,
      approval: { decision: 'approved', by: 'lead', comment: `ok "${HOSTILE}"`, at: '2026-01-02T03:04:05.000Z' },
      counts: { buckets: 2, tables: 3, tableData: 6, aliases: 1, configurations: 4 },
      skipped: [
        { entity: 'bucket in.c-shared', message: 'linked bucket: link the shared bucket again in the destination project' },
        { entity: `configuration ${HOSTILE}`, message: 'the component does not exist on the destination stack' },
      ],
      idMap: [{ type: 'orchestration', oldId: '111', newId: '999' }],
    },
    new ConfigurationTally().add([
      { componentId: 'keboola.ex-db-mysql', destinationComponentId: 'keboola.ex-db-mysql', configId: '12', name: 'MySQL prod', created: true, rowsCreated: 1, secrets: [{ path: 'parameters.db.#password' }], oauthRemoved: false, sshTunnel: true, disabled: false },
      { componentId: 'keboola.orchestrator', destinationComponentId: 'keboola.orchestrator', configId: '34', name: 'Nightly flow', created: true, rowsCreated: 0, secrets: [], oauthRemoved: false, sshTunnel: false, disabled: true },
    ] as never),
    {},
    [
      { tableId: 'in.c-main.orders', expected: { rows: 10, checksum: 'a'.repeat(32) }, actual: { rows: 10, checksum: 'a'.repeat(32) }, ok: true },
      { tableId: 'in.c-main.users', expected: { rows: 5, checksum: 'b'.repeat(32) }, actual: { rows: 4, checksum: 'c'.repeat(32) }, ok: false },
    ],
  );
}

/** The text a person reads: the DOM without tags, scripts and styles, whitespace collapsed. */
function visibleText(dom: string): string {
  return dom
    .replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/<script[\s\S]*?<\/script>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

async function chromium(args: string[]): Promise<string> {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'chromium-profile-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`];
  try {
    const { stdout } = await run(CHROMIUM!, [...flags, ...args], { timeout: 60_000, maxBuffer: 20 * 1024 * 1024 });
    return stdout;
  } finally {
    await fs.rm(profile, { recursive: true, force: true });
  }
}

test('escapeHtml escapes every character that could open markup or leave an attribute', () => {
  expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('the HTML source holds no markup from the data', () => {
  const page = renderHtml(sampleReport());
  expect(page).not.toContain('<script');
  expect(page).not.toContain('<img');
  expect(page).toContain('&lt;script&gt;');
  expect(page).toContain("default-src 'none'");
});

if (!CHROMIUM) {
  // Say it loudly: this check did not run (it is not a pass).
  console.warn('report-html: NOT RUN - no Chromium at /usr/bin/chromium (install it: apt-get install -y chromium, or set CHROMIUM_PATH)');
}
(CHROMIUM ? test : test.skip)(
  CHROMIUM ? 'headless Chromium shows the summary, tables per entity type, the ID map and the checklist' : 'headless Chromium render - NOT RUN: Chromium is not installed',
  async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'report-html-'));
    const file = path.join(dir, 'report.html');
    await fs.writeFile(file, renderHtml(sampleReport()));
    const dom = await chromium(['--dump-dom', `file://${file}`]);
    const text = visibleText(dom);

    expect(dom).toContain('<title>Migration report: migrate-us-101-to-eu</title>'); // the title was not replaced by a script
    expect(dom).not.toMatch(/<script|<img/i); // nothing from the data became an element
    expect(text).toContain('Project 101 (Sales & <script>'); // shown as text, as the project calls itself
    for (const heading of ['Summary', 'What moved', 'Verification', 'Old → new IDs', 'Not migrated', 'Checklist for the destination project', 'Notes']) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(/Entity type Count Buckets 2 Tables 3/);
    expect(text).toContain('1 of 2 tables match the source');
    expect(text).toMatch(/in\.c-main\.users 5 4/);
    expect(text).toMatch(/Orchestrations? Old ID New ID 111 999/i);
    expect(text).toContain('Re-enter encrypted values');
    expect(text).toContain('keboola.ex-db-mysql/12 : parameters.db.#password');
    expect(text).toContain('Enable orchestrations and Flows keboola.orchestrator/34 (Nightly flow)');
    expect((dom.match(/<input type="checkbox">/g) ?? []).length).toBeGreaterThanOrEqual(5);

    const png = path.join(dir, 'report.png');
    await chromium([`--screenshot=${png}`, '--window-size=1200,2400', `file://${file}`]);
    if (process.env.REPORT_HTML_SCREENSHOT) await fs.copyFile(png, process.env.REPORT_HTML_SCREENSHOT); // to look at it
    const image = await fs.readFile(png);
    expect(image.subarray(1, 4).toString()).toBe('PNG');
    expect(image.length).toBeGreaterThan(20_000); // a page with content, not a blank one
  },
);
