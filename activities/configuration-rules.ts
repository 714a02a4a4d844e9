// Rules about the content of component configurations: what the destination stack cannot use.

type Json = unknown;

/** JSON paths of every `#`-prefixed (encrypted) value, e.g. `parameters.db.#password`. */
export function findEncryptedValues(value: Json, path: string[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => findEncryptedValues(item, [...path, String(index)]));
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, Json>).flatMap(([key, child]) =>
      key.startsWith('#') ? [[...path, key].join('.')] : findEncryptedValues(child, [...path, key]),
    );
  }
  return [];
}

export function hasOAuthAuthorization(configuration: Json): boolean {
  const authorization = (configuration as { authorization?: { oauth_api?: { id?: unknown } } } | undefined)?.authorization;
  return Boolean(authorization?.oauth_api?.id);
}

/** An SSH tunnel block (`ssh.enabled` with keys) anywhere in the configuration. */
export function hasSshTunnel(value: Json): boolean {
  if (Array.isArray(value)) return value.some(hasSshTunnel);
  if (value && typeof value === 'object') {
    const record = value as Record<string, Json>;
    const ssh = record.ssh as { enabled?: unknown; keys?: unknown } | undefined;
    if (ssh && typeof ssh === 'object' && (ssh.enabled === true || ssh.enabled === 1 || ssh.enabled === '1')) return true;
    return Object.values(record).some(hasSshTunnel);
  }
  return false;
}

/** An input mapping that reads only recently changed rows (`changed_since`, or legacy `days`). */
export function usesChangedSince(value: Json): boolean {
  if (Array.isArray(value)) return value.some(usesChangedSince);
  if (value && typeof value === 'object') {
    const record = value as Record<string, Json>;
    if (typeof record.changed_since === 'string' && record.changed_since !== '') return true;
    if (typeof record.changedSince === 'string' && record.changedSince !== '') return true;
    if (typeof record.source === 'string' && typeof record.days === 'number' && record.days > 0) return true;
    return Object.values(record).some(usesChangedSince);
  }
  return false;
}
