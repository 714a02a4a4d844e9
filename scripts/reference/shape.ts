/**
 * Shape comparison of an API answer with a reference example: the check behind the emulator's conformance tests and
 * `npm run conformance`. Values are not compared, only keys and JSON types.
 */

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
