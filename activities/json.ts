// Comparing JSON documents the way Keboola's APIs mean them: key order does not matter, and PHP's empty array
// `[]` and empty object `{}` are the same value (the Storage API answers either for an empty configuration).

/** True when `a` and `b` are the same JSON value regardless of key order, with `[]` and `{}` the same. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '{}' : `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? '{}' : `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
