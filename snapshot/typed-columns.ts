// The column definitions of a typed table in a snapshot, read as Keboola's own restore reads them
// (docs/domain.md#typed-tables): from the table's `definition`, or else from its `storage` column metadata, where a
// column is nullable only when `KBC.datatype.nullable` is "1" ("" and "0" both mean NOT NULL).
import type { ColumnDefinitionInput } from '../stack/resources/tables';
import type { SnapshotTable } from './schemas';

export type TypedTableShape = Pick<SnapshotTable, 'isTyped' | 'columns' | 'definition' | 'columnMetadata'>;

/** Column definitions of a typed table; undefined for an untyped one. */
export function typedColumnsOf(table: TypedTableShape): ColumnDefinitionInput[] | undefined {
  if (!table.isTyped) return undefined;
  if (table.definition?.columns?.length) return table.definition.columns;
  return table.columns.map((name) => {
    const storage = Object.fromEntries((table.columnMetadata?.[name] ?? []).filter((m) => m.provider === 'storage').map((m) => [m.key, m.value]));
    return {
      name,
      definition: {
        type: storage['KBC.datatype.type'] ?? 'VARCHAR',
        nullable: storage['KBC.datatype.nullable'] === '1',
        ...(storage['KBC.datatype.length'] ? { length: storage['KBC.datatype.length'] } : {}),
        ...(storage['KBC.datatype.default'] ? { default: storage['KBC.datatype.default'] } : {}),
      },
      basetype: storage['KBC.datatype.basetype'] ?? 'STRING',
    };
  });
}

/** What telling nullable primary-key columns needs: a table of a snapshot, or one listed by a live source stack. */
export interface PrimaryKeyShape {
  isTyped?: boolean;
  columns: string[];
  primaryKey?: string[];
  definition?: { columns?: Array<{ name: string; definition: { nullable?: boolean } }> } | null;
  columnMetadata?: Record<string, Array<{ key: string; value: string; provider?: string }>>;
}

/**
 * The primary-key columns of a typed table that are nullable: a Storage API on Snowflake refuses such a table
 * ("Primary keys columns must be set nullable false"), and Keboola's restore fails it.
 */
export function nullablePrimaryKeyColumns(table: PrimaryKeyShape): string[] {
  if (!table.isTyped) return [];
  const fromDefinition = table.definition?.columns?.length ? new Map(table.definition.columns.map((c) => [c.name, c.definition.nullable === true])) : undefined;
  const nullable = (name: string) =>
    fromDefinition ? fromDefinition.get(name) === true : (table.columnMetadata?.[name] ?? []).some((m) => m.provider === 'storage' && m.key === 'KBC.datatype.nullable' && m.value === '1');
  return (table.primaryKey ?? []).filter(nullable);
}
