/**
 * Metadata (key/value lists) of buckets, tables, columns, configurations and the branch: upserting a list, and the
 * routes of provider-keyed metadata (buckets and columns; tables have their own POST, emulator/storage/tables.ts).
 */
import type { StackHost, StorageContext } from '../host';
import { str } from '../params';
import { badRequest, notFound, reply } from '../replies';
import { timestamp, type MetadataRecord } from '../state';
import { metaJson } from '../views';

/** Sets each `{key, value}` of `items` (array or form "array") under `provider`, replacing an existing key's value. */
export function upsertMetadata(host: StackHost, list: MetadataRecord[], items: unknown, provider: string | undefined): MetadataRecord[] {
  const arr = Array.isArray(items) ? items : items && typeof items === 'object' ? Object.values(items) : null;
  if (!arr || !arr.length) throw badRequest('Parameter "metadata" is required and must be a non-empty array', 'storage.metadata.invalid');
  const now = timestamp();
  const touched: MetadataRecord[] = [];
  for (const item of arr) {
    const key = str((item as Record<string, unknown>)?.key);
    const value = (item as Record<string, unknown>)?.value;
    if (!key) throw badRequest('Metadata key is required', 'storage.metadata.invalidKey');
    if (value === undefined || value === null) throw badRequest(`Metadata value for key "${key}" is required`, 'storage.metadata.invalidValue');
    const existing = list.find((m) => m.key === key && m.provider === provider);
    if (existing) {
      existing.value = String(value);
      existing.timestamp = now;
      touched.push(existing);
    } else {
      const m: MetadataRecord = { id: host.nextMetadataId(), key, value: String(value), ...(provider !== undefined ? { provider } : {}), timestamp: now };
      list.push(m);
      touched.push(m);
    }
  }
  host.changed();
  return touched;
}

type Params = Record<string, string>;

/** GET, POST (needs a provider) and DELETE `{base}/{metadataId}` of the metadata list that `list` finds. */
export function registerProviderMetadata(
  host: StackHost,
  base: string,
  list: (ctx: StorageContext, params: Params) => MetadataRecord[],
  replaceList: (ctx: StorageContext, params: Params, items: MetadataRecord[]) => void,
): void {
  host.storageApi.get(base, (ctx, params) => reply(200, list(ctx, params).map((m) => metaJson(m, true))));
  host.storageApi.post(base, async (ctx, params) => {
    const body = await ctx.body();
    const provider = str(body.provider);
    if (!provider) throw badRequest('Parameter "provider" is required', 'storage.metadata.invalidProvider');
    const items = list(ctx, params);
    upsertMetadata(host, items, body.metadata, provider);
    return reply(201, items.map((m) => metaJson(m, true)));
  });
  host.storageApi.delete(`${base}/{metadataId}`, (ctx, params) => {
    const items = list(ctx, params);
    if (!items.some((m) => m.id === params.metadataId)) throw notFound('storage.metadata.notFound', `Metadata ${params.metadataId} not found`);
    replaceList(ctx, params, items.filter((m) => m.id !== params.metadataId));
    host.changed();
    return reply(204);
  });
}
