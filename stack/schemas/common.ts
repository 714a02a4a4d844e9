/**
 * Building blocks shared by the schemas of every API area.
 *
 * Conventions (every schema of stack/schemas/):
 * - every object is loose: undocumented extra fields pass through untouched;
 * - a field is required when every example of the blueprint for that resource shows it, optional otherwise;
 * - ids whose type differs between the blueprint's own examples (token, project, creator ids) accept string or number;
 * - PHP serialises an empty map as `[]`: maps (`columnMetadata`, `configuration`, `state`) accept `[]` as `{}`.
 */
import { z } from 'zod';

export const idLike = z.union([z.string(), z.number()]);

/** `[]` (PHP's empty associative array) → `{}`. */
export function emptyArrayAsObject(value: unknown): unknown {
  return Array.isArray(value) && value.length === 0 ? {} : value;
}

/** Arbitrary JSON object (configuration, state). */
export const JsonObjectSchema = z.preprocess(emptyArrayAsObject, z.record(z.string(), z.unknown()));
export type JsonObject = z.infer<typeof JsonObjectSchema>;

export const CreatorTokenSchema = z.looseObject({
  id: idLike.optional(),
  description: z.string().optional(),
  name: z.string().optional(),
});

export const ProjectRefSchema = z.looseObject({ id: idLike, name: z.string().optional() });

// ---------------------------------------------------------------- metadata

export const MetadataEntrySchema = z.looseObject({
  id: idLike,
  key: z.string(),
  value: z.string(),
  /** Absent on branch and configuration metadata. */
  provider: z.string().optional(),
  timestamp: z.string(),
});
export type MetadataEntry = z.infer<typeof MetadataEntrySchema>;
export const MetadataListSchema = z.array(MetadataEntrySchema);

/** `{ columnName: MetadataEntry[] }`, `[]` when empty. */
export const ColumnMetadataSchema = z.preprocess(emptyArrayAsObject, z.record(z.string(), z.array(MetadataEntrySchema)));
export type ColumnMetadata = z.infer<typeof ColumnMetadataSchema>;

/** What the caller sends: a key and a value. */
export interface MetadataInput {
  key: string;
  value: string;
}
