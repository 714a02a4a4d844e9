/**
 * Models of the Orchestrator API blueprint (/work/shared/reference/orchestrator-api.apib). Unlike the Storage API
 * blueprint, its responses refer to named `+ Model` sections (```js fenced JSON); test/helpers/blueprint.ts reads
 * the Storage API one, so this reads a model by its section name and repairs it with the same `repairJson`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repairJson } from '../helpers/blueprint';

export const ORCHESTRATOR_BLUEPRINT =
  ['/work/shared/reference/orchestrator-api.apib', join(__dirname, '../../../shared/reference/orchestrator-api.apib')].find((p) => existsSync(p)) ??
  '/work/shared/reference/orchestrator-api.apib';

/** The JSON of the `+ Model` of section `## <name> [...]`. */
export function orchestratorModel(name: string): unknown {
  const lines = readFileSync(ORCHESTRATOR_BLUEPRINT, 'utf8').split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(`## ${name} [`));
  if (start < 0) throw new Error(`section "${name}" not found in the Orchestrator blueprint`);
  const model = lines.findIndex((l, i) => i > start && /^\+ Model/.test(l));
  const open = lines.findIndex((l, i) => i > model && /^\s*```/.test(l));
  const close = lines.findIndex((l, i) => i > open && /^\s*```/.test(l));
  if (model < 0 || open < 0 || close < 0) throw new Error(`section "${name}" has no fenced model`);
  return JSON.parse(repairJson(lines.slice(open + 1, close).join('\n'))) as unknown;
}

/** The request body example of an action heading (`### Create a Orchestration [POST]`). */
export function orchestratorRequest(heading: string): unknown {
  const lines = readFileSync(ORCHESTRATOR_BLUEPRINT, 'utf8').split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(`### ${heading}`));
  if (start < 0) throw new Error(`action "${heading}" not found in the Orchestrator blueprint`);
  const open = lines.findIndex((l, i) => i > start && /^\s*```/.test(l));
  const close = lines.findIndex((l, i) => i > open && /^\s*```/.test(l));
  return JSON.parse(repairJson(lines.slice(open + 1, close).join('\n'))) as unknown;
}
