/**
 * Reading request parameters the way Keboola's PHP API does: a value may arrive typed (JSON body) or as a string
 * (form body, query string), a list as an array, a form "array" object or a comma separated string.
 */
import { badRequest } from './replies';

export function bool(v: unknown, dflt = false): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  return !['0', 'false', 'no', 'off'].includes(String(v).toLowerCase());
}

export function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : String(v);
}

export function strList(v: unknown): string[] {
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map(String).filter((s) => s !== '');
  if (typeof v === 'object') return Object.values(v as object).map(String);
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A JSON value that may arrive as an object (JSON body) or as a JSON string (form body). */
export function jsonObjectParam(v: unknown, name: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw badRequest(`Invalid JSON in "${name}"`);
    }
  }
  if (Array.isArray(v) && v.length === 0) return {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`"${name}" must be an object`);
  return v as Record<string, unknown>;
}
