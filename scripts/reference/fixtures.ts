/**
 * The reference fixtures: example requests and responses of the Keboola APIs, taken from their API Blueprints and
 * checked in under test/fixtures/reference/<api>-api/<name>.json, so that tests never read a blueprint (the
 * repository stands alone). Each fixture records where it came from (`source`): `npm run conformance` re-extracts
 * it from a given blueprint and reports any difference, and `--update` rewrites it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiName, Blueprint } from './blueprint';

export const FIXTURE_ROOT = join(__dirname, '../../test/fixtures/reference');
export const FIXTURE_DIRS: Record<ApiName, string> = { storage: 'storage-api', orchestrator: 'orchestrator-api' };
export const BLUEPRINT_FILES: Record<ApiName, string> = { storage: 'storage-api.apib', orchestrator: 'orchestrator-api.apib' };

export type FixtureKind = 'response' | 'model' | 'request' | 'data-structure';

export interface FixtureSource {
  /** the blueprint's file name as Keboola publishes it (no path) */
  blueprint: string;
  kind: FixtureKind;
  /**
   * What is looked up. response: an action heading or a part of it, "Section > Action" to pick one below a
   * section; model: a resource section name; request: an action heading; data-structure: a `### Name` heading.
   */
  lookup: string;
  /** response only: which response code, and the n-th response with it */
  status?: number;
  index?: number;
  /** data-structure only: the structure it inherits from */
  base?: string;
  /** the blueprint headings above the example, outermost first (informative; checked by the conformance script) */
  headings: string[];
}

export interface ReferenceFixture {
  source: FixtureSource;
  /** response only: the response code of the example */
  status?: number;
  example: unknown;
}

const fixturePath = (api: ApiName, name: string) => join(FIXTURE_ROOT, FIXTURE_DIRS[api], `${name}.json`);

export function listFixtures(api: ApiName): string[] {
  return readdirSync(join(FIXTURE_ROOT, FIXTURE_DIRS[api]))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function readFixture(api: ApiName, name: string): ReferenceFixture {
  return JSON.parse(readFileSync(fixturePath(api, name), 'utf8')) as ReferenceFixture;
}

export function writeFixture(api: ApiName, name: string, fixture: ReferenceFixture): void {
  writeFileSync(fixturePath(api, name), `${JSON.stringify(fixture, null, 2)}\n`);
}

/** Extracts a fixture afresh from a blueprint, following its recorded source. */
export function extractFixture(blueprint: Blueprint, source: Omit<FixtureSource, 'headings'>): ReferenceFixture {
  const { blueprint: file, kind, lookup, status, index, base } = source;
  const common = { blueprint: file, kind, lookup };
  switch (kind) {
    case 'response': {
      const e = blueprint.example(lookup, { status, index });
      if (e.body === undefined) throw new Error(`the response ${e.status} of "${lookup}" has no example body`);
      const selector = { ...(status !== undefined ? { status } : {}), ...(index !== undefined ? { index } : {}) };
      return { source: { ...common, ...selector, headings: e.headings }, status: e.status, example: e.body };
    }
    case 'model': {
      const m = blueprint.model(lookup);
      return { source: { ...common, headings: m.headings }, example: m.body };
    }
    case 'request': {
      const r = blueprint.request(lookup);
      return { source: { ...common, headings: r.headings }, example: r.body };
    }
    case 'data-structure': {
      const parent = base ? blueprint.dataStructure(base).body : {};
      const d = blueprint.dataStructure(lookup, parent);
      return { source: { ...common, ...(base ? { base } : {}), headings: d.headings }, example: d.body };
    }
    default:
      throw new Error(`unknown fixture kind ${String(kind)}`);
  }
}

const show = (v: unknown) => {
  const text = JSON.stringify(v) ?? 'nothing';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

/** Differences between two JSON values, as `path: what` lines (at most `limit`). */
export function valueDiff(expected: unknown, actual: unknown, path = '', out: string[] = [], limit = 10): string[] {
  if (out.length >= limit) return out;
  const where = path || '(root)';
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) {
    out.push(`${where}: ${show(expected)} in the fixture, ${show(actual)} in the blueprint`);
  } else if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (expected.length !== a.length) out.push(`${where}: ${expected.length} elements in the fixture, ${a.length} in the blueprint`);
    for (let i = 0; i < Math.min(expected.length, a.length); i++) valueDiff(expected[i], a[i], `${path}[${i}]`, out, limit);
  } else if (expected && typeof expected === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    for (const key of new Set([...Object.keys(e), ...Object.keys(a)])) {
      const p = path ? `${path}.${key}` : key;
      if (!(key in a)) out.push(`${p}: only in the fixture`);
      else if (!(key in e)) out.push(`${p}: only in the blueprint`);
      else valueDiff(e[key], a[key], p, out, limit);
      if (out.length >= limit) break;
    }
  } else if (expected !== actual) {
    out.push(`${where}: ${show(expected)} in the fixture, ${show(actual)} in the blueprint`);
  }
  return out.slice(0, limit);
}

/** What differs between a checked-in fixture and the same example extracted from the blueprint now. */
export function compareFixture(fixture: ReferenceFixture, fresh: ReferenceFixture): string[] {
  const diffs: string[] = [];
  if (fixture.status !== fresh.status) diffs.push(`status: ${fixture.status} in the fixture, ${fresh.status} in the blueprint`);
  const recorded = fixture.source.headings ?? [];
  if (JSON.stringify(recorded) !== JSON.stringify(fresh.source.headings)) {
    diffs.push(`found under "${fresh.source.headings.join(' > ')}", the fixture says "${recorded.join(' > ')}"`);
  }
  diffs.push(...valueDiff(fixture.example, fresh.example).map((d) => `example ${d}`));
  return diffs;
}
