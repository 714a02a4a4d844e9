// `npm run conformance -- --blueprint FILE [--api storage|orchestrator] [--update] [--fixtures-only]`
//
// Checks our reference shapes against a full API Blueprint of Keboola's Storage API or legacy Orchestrator API
// (which one is detected from the file's title; `--api` says it explicitly):
//   (a) every checked-in fixture under test/fixtures/reference/<api>-api still equals the example the blueprint
//       has at the place the fixture names (`source`); `--update` rewrites the fixtures that differ;
//   (b) the emulator (two stacks started through `startStack`) answers the endpoints our tests cover in the shape
//       of the blueprint's examples: every example key present with the same JSON type, and the same status code.
// Prints PASS/FAIL per fixture and per endpoint. Exit code 0 when everything matches, 1 on any difference, 2 when
// the blueprint cannot be read or the arguments are wrong.
//
// Tests never read a blueprint; this script is how the fixtures are kept honest when Keboola updates its docs.
import { basename } from 'node:path';
import { Command } from 'commander';
import { type ApiName, Blueprint } from './reference/blueprint';
import { EMULATOR_CHECKS, initialState, startStacks, type EmulatorCheck, type Stacks } from './reference/emulator-checks';
import { compareFixture, extractFixture, FIXTURE_DIRS, listFixtures, readFixture, writeFixture } from './reference/fixtures';
import { shapeDiff } from './reference/shape';

const API_TITLES: Record<ApiName, string> = { storage: 'Storage API', orchestrator: 'Orchestrator API' };

interface Tally {
  pass: number;
  fail: number;
}

const line = (ok: boolean | 'updated', label: string, note = '') => {
  const tag = ok === 'updated' ? 'UPDATED' : ok ? 'PASS   ' : 'FAIL   ';
  console.log(`  ${tag} ${label}${note ? `  ${note}` : ''}`);
};
const details = (diffs: string[]) => diffs.forEach((d) => console.log(`          ${d}`));
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

function checkFixtures(api: ApiName, blueprint: Blueprint, update: boolean): Tally {
  const tally: Tally = { pass: 0, fail: 0 };
  const names = listFixtures(api);
  console.log(`\nReference fixtures (test/fixtures/reference/${FIXTURE_DIRS[api]}, ${names.length}) against the blueprint`);
  for (const name of names) {
    const fixture = readFixture(api, name);
    const where = (fixture.source.headings ?? []).join(' > ');
    let diffs: string[];
    let fresh;
    try {
      fresh = extractFixture(blueprint, fixture.source);
      diffs = compareFixture(fixture, fresh);
    } catch (e) {
      diffs = [`cannot extract ${fixture.source.kind} "${fixture.source.lookup}": ${message(e)}`];
    }
    if (diffs.length && update && fresh) {
      writeFixture(api, name, fresh);
      line('updated', `${name}.json`, where);
      details(diffs);
      tally.pass++;
    } else {
      line(diffs.length === 0, `${name}.json`, where);
      details(diffs);
      tally[diffs.length ? 'fail' : 'pass']++;
    }
  }
  return tally;
}

/** The example a check compares with, taken from the blueprint now (never from the checked-in fixture). */
function expectedOf(api: ApiName, blueprint: Blueprint, check: EmulatorCheck): { where: string; status?: number; body: unknown } {
  if (check.fixture) {
    const fresh = extractFixture(blueprint, readFixture(api, check.fixture).source);
    return { where: fresh.source.headings[fresh.source.headings.length - 1]!, status: check.status ?? fresh.status, body: fresh.example };
  }
  const e = blueprint.example(check.action!, check.response);
  return { where: e.heading, status: check.status ?? e.status, body: e.body };
}

async function checkEmulator(api: ApiName, blueprint: Blueprint): Promise<Tally> {
  const tally: Tally = { pass: 0, fail: 0 };
  const checks = EMULATOR_CHECKS[api];
  console.log(`\nEmulator answers against the blueprint's examples (${checks.length} checks)`);
  const stacks = await startStacks();
  stacks.state = initialState(api, blueprint);
  try {
    for (const check of checks) {
      const diffs: string[] = [];
      let label = check.name;
      let where = check.fixture ?? check.action ?? '';
      try {
        const expected = expectedOf(api, blueprint, check);
        where = expected.where;
        const actual = await run(stacks, check);
        label = `${actual.endpoint || '(no request)'}  ${check.name}`;
        if (expected.status !== undefined && actual.status !== expected.status) diffs.push(`status: expected ${expected.status}, got ${actual.status}`);
        if (expected.body !== undefined) {
          const example = check.pickExample ? check.pickExample(expected.body) : expected.body;
          diffs.push(...shapeDiff(example, actual.body, check.shape ?? {}));
        }
      } catch (e) {
        diffs.push(`error: ${message(e)}`);
      }
      line(diffs.length === 0, label, `(${where})`);
      details(diffs);
      tally[diffs.length ? 'fail' : 'pass']++;
    }
  } finally {
    await stacks.close();
  }
  return tally;
}

async function run(stacks: Stacks, check: EmulatorCheck): Promise<{ status: number; body: unknown; endpoint: string }> {
  stacks.source.last = '';
  stacks.destination.last = '';
  const res = await check.call(stacks);
  return { ...res, endpoint: stacks.source.last || stacks.destination.last };
}

async function main(): Promise<number> {
  const program = new Command('conformance')
    .description('check the reference fixtures and the emulator against an API Blueprint of the Storage or Orchestrator API')
    .requiredOption('--blueprint <file>', 'the API Blueprint file (storage-api.apib or orchestrator-api.apib)')
    .option('--api <api>', 'storage or orchestrator (default: detected from the blueprint)')
    .option('--update', 'rewrite the fixtures that differ from the blueprint')
    .option('--fixtures-only', 'check the fixtures only, do not start the emulator')
    .exitOverride();
  try {
    program.parse(process.argv);
  } catch (e) {
    return (e as { exitCode?: number }).exitCode === 0 ? 0 : 2;
  }
  const opts = program.opts<{ blueprint: string; api?: string; update?: boolean; fixturesOnly?: boolean }>();
  if (opts.api !== undefined && opts.api !== 'storage' && opts.api !== 'orchestrator') {
    console.error(`conformance: --api must be "storage" or "orchestrator", not "${opts.api}"`);
    return 2;
  }
  let blueprint: Blueprint;
  try {
    blueprint = Blueprint.read(opts.blueprint);
  } catch (e) {
    console.error(`conformance: ${message(e)}`);
    return 2;
  }
  const detected = blueprint.detectApi();
  const api = (opts.api as ApiName | undefined) ?? detected;
  if (!api) {
    console.error(`conformance: cannot tell which API ${opts.blueprint} documents (its title is neither the Storage nor the Orchestrator API): pass --api storage|orchestrator`);
    return 2;
  }
  if (detected && detected !== api) {
    console.error(`conformance: ${opts.blueprint} looks like the ${API_TITLES[detected]} blueprint, not the ${API_TITLES[api]} one`);
    return 2;
  }
  console.log(`conformance: ${API_TITLES[api]} blueprint ${basename(opts.blueprint)}${opts.api ? '' : ' (detected)'}`);

  const fixtures = checkFixtures(api, blueprint, Boolean(opts.update));
  const emulator = opts.fixturesOnly ? undefined : await checkEmulator(api, blueprint);

  const part = (name: string, t: Tally) => `${name} ${t.pass}/${t.pass + t.fail} pass`;
  const failed = fixtures.fail + (emulator?.fail ?? 0);
  console.log(`\n${failed ? 'FAIL' : 'PASS'}: ${part('fixtures', fixtures)}${emulator ? `, ${part('emulator', emulator)}` : ', emulator not checked'}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`conformance: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(2);
  },
);
