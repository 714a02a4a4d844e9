/**
 * What every API area of stack/resources/ is built on (in the manner of stripe-node's resources): the client's one
 * Transport, and the small helpers for paths and bodies the areas share.
 */
import type { MetadataInput } from '../schemas';
import { seg, type Transport } from '../transport';

export abstract class StackResource {
  constructor(protected readonly transport: Transport) {}
}

/** A configuration (or all of a component's) in the default branch. */
export function configurationPath(componentId: string, configId?: string): string {
  const configs = `/branch/default/components/${seg(componentId)}/configs`;
  return configId === undefined ? configs : `${configs}/${seg(configId)}`;
}

/** Metadata entries as sent: a key and a value, nothing else. */
export function keyValues(entries: MetadataInput[]): MetadataInput[] {
  return entries.map((entry) => ({ key: entry.key, value: entry.value }));
}

/** Drops undefined fields so that optional inputs are not sent at all. */
export function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
