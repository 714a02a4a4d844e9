/** Tables and aliases (blueprint "Group Tables", "Group Table Aliases"). */
import { z } from 'zod';
import { ColumnMetadataSchema, MetadataListSchema, ProjectRefSchema } from './common';

/** The bucket embedded in a table: the blueprint's examples omit some bucket fields there. */
export const TableBucketSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  displayName: z.string().optional(),
  stage: z.string().optional(),
  description: z.string().nullable().optional(),
  backend: z.string().optional(),
  isLinkedBucket: z.boolean().optional(),
});

export const ColumnDefinitionSchema = z.looseObject({
  name: z.string(),
  definition: z.looseObject({
    type: z.string(),
    nullable: z.boolean().optional(),
    length: z.union([z.string(), z.number()]).nullable().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
  }),
  basetype: z.string().nullable().optional(),
  canBeFiltered: z.boolean().optional(),
});
export type ColumnDefinition = z.infer<typeof ColumnDefinitionSchema>;

export const TableDefinitionSchema = z.looseObject({
  primaryKeysNames: z.array(z.string()),
  columns: z.array(ColumnDefinitionSchema),
});
export type TableDefinition = z.infer<typeof TableDefinitionSchema>;

export const AliasFilterSchema = z.looseObject({
  column: z.string(),
  operator: z.string().optional(),
  values: z.array(z.string()),
});
export type AliasFilter = z.infer<typeof AliasFilterSchema>;

export const TableSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  displayName: z.string().optional(),
  uri: z.string().optional(),
  primaryKey: z.array(z.string()),
  columns: z.array(z.string()),
  transactional: z.boolean().optional(),
  created: z.string().optional(),
  lastImportDate: z.string().nullable().optional(),
  lastChangeDate: z.string().nullable().optional(),
  rowsCount: z.number().nullable().optional(),
  dataSizeBytes: z.number().nullable().optional(),
  isAlias: z.boolean(),
  isAliasable: z.boolean().optional(),
  isTyped: z.boolean().optional(),
  timestampType: z.string().optional(),
  tableType: z.string().optional(),
  path: z.string().nullable().optional(),
  /** Column types of a typed table. */
  definition: TableDefinitionSchema.optional(),
  sourceTable: z
    .looseObject({
      id: z.string(),
      uri: z.string().optional(),
      isAlias: z.boolean().optional(),
      project: ProjectRefSchema.optional(),
    })
    .nullable()
    .optional(),
  aliasColumnsAutoSync: z.boolean().optional(),
  aliasFilter: AliasFilterSchema.nullable().optional(),
  metadata: MetadataListSchema.optional(),
  columnMetadata: ColumnMetadataSchema.optional(),
  bucket: TableBucketSchema.optional(),
});
export type Table = z.infer<typeof TableSchema>;

/**
 * The blueprint documents both answers of `POST tables/{id}/metadata`: `{metadata, columnsMetadata}` and, for the
 * deprecated table-only form, the plain list of the table's metadata. A list is read as `{metadata: list}`.
 */
export const TableMetadataResultSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { metadata: value } : value),
  z.looseObject({
    metadata: MetadataListSchema.optional(),
    columnsMetadata: ColumnMetadataSchema.optional(),
  }),
);
export type TableMetadataResult = z.infer<typeof TableMetadataResultSchema>;
