/**
 * Reads example responses out of the Storage API blueprint (API Blueprint, /work/shared/reference/storage-api.apib).
 * The blueprint's JSON is sloppy (trailing commas, missing commas between lines, comments), so bodies are repaired
 * before parsing.
 */
import { readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const BLUEPRINT_PATH = process.env.STORAGE_API_BLUEPRINT ?? ['/work/shared/reference/storage-api.apib', join(__dirname, '../../../shared/reference/storage-api.apib')].find((p) => existsSync(p)) ?? '/work/shared/reference/storage-api.apib';

let cached: string[] | null = null;
function lines(): string[] {
  cached ??= readFileSync(BLUEPRINT_PATH, 'utf8').split(/\r?\n/);
  return cached;
}

export interface BlueprintExample {
  heading: string;
  status: number;
  body: unknown;
}

const headingLevel = (line: string) => /^(#{1,6})\s/.exec(line)?.[1]!.length ?? 0;
const headingText = (line: string) => line.replace(/^#{1,6}\s+/, '').trim();

function findHeading(query: string, from = 0, levelMax = 6): number {
  const all = lines();
  let partial = -1;
  for (let i = from; i < all.length; i++) {
    const level = headingLevel(all[i]!);
    if (!level || level > levelMax) continue;
    const text = headingText(all[i]!);
    if (text === query) return i;
    if (partial < 0 && text.includes(query)) partial = i;
  }
  return partial;
}

/** Repairs the blueprint's JSON: comments, trailing commas, missing commas between lines, single-quoted strings. */
export function repairJson(text: string): string {
  const out: string[] = [];
  const src = text
    .split('\n')
    .map((l) => l.replace(/\s+\/\/.*$/, ''))
    .filter((l) => l.trim() !== '');
  for (let i = 0; i < src.length; i++) {
    let line = src[i]!.replace(/:\s*'([^']*)'/g, ': "$1"');
    const next = src[i + 1]?.trim() ?? '';
    const endsValue = /("|\d|true|false|null|}|\])\s*$/.test(line.trim()) && !/^[[{]\s*$/.test(line.trim());
    if (endsValue && /^["{[]/.test(next)) line += ',';
    out.push(line);
  }
  return out.join('\n').replace(/,(\s*[}\]])/g, '$1');
}

function extractJson(from: number): string {
  const all = lines();
  let i = from;
  while (i < all.length && !/^\s*[[{]/.test(all[i]!)) {
    if (headingLevel(all[i]!) || /^\s*\+ Response \d+/.test(all[i]!)) throw new Error(`no JSON body after line ${from}`);
    i++;
  }
  const body: string[] = [];
  let depth = 0;
  let inString = false;
  for (; i < all.length; i++) {
    const line = all[i]!;
    body.push(line);
    for (let k = 0; k < line.length; k++) {
      const c = line[k];
      if (inString) {
        if (c === '\\') k++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
    if (depth <= 0) break;
  }
  return body.join('\n');
}

/**
 * The example response of an action. `action` is a heading text ("Token verification [GET]") or a part of it (a
 * path); "Section > Action" picks an action below a given section heading (for names used several times).
 * `status` picks a response code, `index` the n-th response of that action (e.g. the GCP variant).
 */
export function blueprintExample(action: string, opts: { status?: number; index?: number } = {}): BlueprintExample {
  const all = lines();
  let start = 0;
  let query = action;
  const parts = action.split(' > ');
  if (parts.length === 2) {
    start = findHeading(parts[0]!, 0, 2);
    if (start < 0) throw new Error(`section "${parts[0]}" not found in the blueprint`);
    query = parts[1]!;
  }
  const h = findHeading(query, start + (parts.length === 2 ? 1 : 0));
  if (h < 0) throw new Error(`action "${action}" not found in the blueprint`);
  const level = headingLevel(all[h]!);
  let end = h + 1;
  while (end < all.length && !(headingLevel(all[end]!) && headingLevel(all[end]!) <= level)) end++;
  const responses: { line: number; status: number }[] = [];
  for (let i = h; i < end; i++) {
    const m = /^\s*\+ Response (\d+)/.exec(all[i]!);
    if (m) responses.push({ line: i, status: Number(m[1]) });
  }
  const candidates = opts.status ? responses.filter((r) => r.status === opts.status) : responses;
  const chosen = candidates[opts.index ?? 0];
  if (!chosen) throw new Error(`action "${action}" has no response${opts.status ? ` ${opts.status}` : ''}${opts.index ? ` #${opts.index}` : ''}`);
  const raw = extractJson(chosen.line + 1);
  const repaired = repairJson(raw);
  try {
    return { heading: headingText(all[h]!), status: chosen.status, body: JSON.parse(repaired) as unknown };
  } catch (e) {
    throw new Error(`cannot parse the example of "${action}": ${(e as Error).message}\n${repaired}`);
  }
}

export type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';
export const jsonType = (v: unknown): JsonType => (v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as JsonType));

export interface ShapeOptions {
  /** paths not compared at all */
  ignore?: string[];
  /** paths holding free-form data (configuration, state, operationParams): only the JSON type is compared */
  opaque?: string[];
  /** paths holding data-keyed maps (bucket ids, column names): the first value is compared with the first value */
  maps?: string[];
}

/**
 * Lists the differences in shape: every key of `example` must exist in `actual` with the same JSON type (recursively,
 * first element of arrays). An example `null` accepts anything. PHP serializes empty maps as `[]`, so an empty array
 * and an object are treated as compatible. Paths are dotted, with `[]` for array elements.
 */
export function shapeDiff(example: unknown, actual: unknown, options: ShapeOptions | string[] = {}, path = ''): string[] {
  const opts: ShapeOptions = Array.isArray(options) ? { ignore: options } : options;
  if (opts.ignore?.includes(path)) return [];
  const te = jsonType(example);
  const ta = jsonType(actual);
  if (te === 'null') return [];
  const emptyArray = (v: unknown) => Array.isArray(v) && v.length === 0;
  if (te !== ta) {
    if ((te === 'object' && emptyArray(actual)) || (ta === 'object' && emptyArray(example))) return [];
    return [`${path || '(root)'}: expected ${te}, got ${ta}`];
  }
  if (opts.opaque?.includes(path)) return [];
  const diffs: string[] = [];
  if (te === 'object' && opts.maps?.includes(path)) {
    const e = Object.values(example as object);
    const a = Object.values(actual as object);
    if (e.length && a.length) diffs.push(...shapeDiff(e[0], a[0], opts, `${path}.*`));
  } else if (te === 'object') {
    for (const [key, value] of Object.entries(example as Record<string, unknown>)) {
      const p = path ? `${path}.${key}` : key;
      if (opts.ignore?.includes(p)) continue;
      if (!(key in (actual as Record<string, unknown>))) diffs.push(`${p}: missing`);
      else diffs.push(...shapeDiff(value, (actual as Record<string, unknown>)[key], opts, p));
    }
  } else if (te === 'array') {
    const e = example as unknown[];
    const a = actual as unknown[];
    if (e.length && a.length) diffs.push(...shapeDiff(e[0], a[0], opts, `${path}[]`));
  }
  return diffs;
}
