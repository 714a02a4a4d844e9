// Keboola metadata entries carry a provider; entries of the `storage` provider are written by the stack itself
// and must not be written back (Keboola's restore does the same).
export interface MetadataLike {
  key: string;
  value: string;
  provider?: string;
}

export function groupByProvider(entries: readonly MetadataLike[] | undefined): Map<string, Array<{ key: string; value: string }>> {
  const groups = new Map<string, Array<{ key: string; value: string }>>();
  for (const entry of entries ?? []) {
    const provider = entry.provider ?? 'user';
    if (provider === 'storage') continue;
    const group = groups.get(provider) ?? [];
    group.push({ key: entry.key, value: entry.value });
    groups.set(provider, group);
  }
  return groups;
}
