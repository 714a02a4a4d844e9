/**
 * Reference shapes of the Keboola APIs for tests: the checked-in fixtures under test/fixtures/reference (taken from
 * the Storage API and Orchestrator API blueprints; see the README there). Tests read only these files, never a
 * blueprint: `npm run conformance -- --blueprint FILE` checks the fixtures against a blueprint.
 */
import { readFixture } from '../../scripts/reference/fixtures';

export { shapeDiff, jsonType, type JsonType, type ShapeOptions } from '../../scripts/reference/shape';

export interface ReferenceExample {
  status: number;
  body: any;
}

/** An example response of the Storage API: `test/fixtures/reference/storage-api/<name>.json`. */
export function storageExample(name: string): ReferenceExample {
  const f = readFixture('storage', name);
  if (f.source.kind !== 'response' || f.status === undefined) throw new Error(`storage-api/${name}.json is a ${f.source.kind}, not a response`);
  return { status: f.status, body: structuredClone(f.example) };
}

/** An example object of a Storage API data structure (MSON), e.g. `workspace`. */
export function storageDataStructure(name: string): Record<string, unknown> {
  const f = readFixture('storage', name);
  if (f.source.kind !== 'data-structure') throw new Error(`storage-api/${name}.json is a ${f.source.kind}, not a data structure`);
  return structuredClone(f.example) as Record<string, unknown>;
}

/** A model or request example of the Orchestrator API: `test/fixtures/reference/orchestrator-api/<name>.json`. */
export function orchestratorExample(name: string): any {
  return structuredClone(readFixture('orchestrator', name).example);
}
