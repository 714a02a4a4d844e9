// The column definitions of a typed table in a snapshot, read as Keboola's own restore reads them
// (docs/domain.md#typed-tables): from the table's `definition`, or else from its `storage` column metadata, where a
// column is nullable only when `KBC.datatype.nullable` is "1" ("" and "0" both mean NOT NULL).
import type { ColumnDefinitionInput } from '../stack/resources/tables';
import type { SnapshotTable } from './schemas';

export type TypedTableShape = Pick<SnapshotTable, 'isTyped' | 'columns' | 'definition' | 'columnMetadata'>;

/** A column's `storage` metadata (the types Keboola records), by key. */
function storageMetadata(entries: ReadonlyArray<{ key: string; value: string; provider?: string }> | undefined): Record<string, string> {
  return Object.fromEntries((entries ?? []).filter((m) => m.provider === 'storage').map((m) => [m.key, m.value]));
}

/** Keboola writes "1" for a nullable column; "" (the Storage API) and "0" both mean NOT NULL. */
function nullableInMetadata(storage: Record<string, string>): boolean {
  return storage['KBC.datatype.nullable'] === '1';
}

/** Column definitions of a typed table; undefined for an untyped one. */
export function typedColumnsOf(table: TypedTableShape): ColumnDefinitionInput[] | undefined {
  if (!table.isTyped) return undefined;
  if (table.definition?.columns?.length) return table.definition.columns;
  return table.columns.map((name) => {
    const storage = storageMetadata(table.columnMetadata?.[name]);
    return {
      name,
      definition: {
        type: storage['KBC.datatype.type'] ?? 'VARCHAR',
        nullable: nullableInMetadata(storage),
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
  const nullable = (name: string) => (fromDefinition ? fromDefinition.get(name) === true : nullableInMetadata(storageMetadata(table.columnMetadata?.[name])));
  return (table.primaryKey ?? []).filter(nullable);
}

/** Keboola's base types and the native type each backend stores them as when a table moves to another backend. */
const NATIVE_TYPE: Record<string, Record<string, string>> = {
  snowflake: { STRING: 'VARCHAR', INTEGER: 'NUMBER', NUMERIC: 'NUMBER', FLOAT: 'FLOAT', BOOLEAN: 'BOOLEAN', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP_NTZ' },
  bigquery: { STRING: 'STRING', INTEGER: 'INT64', NUMERIC: 'NUMERIC', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL', DATE: 'DATE', TIMESTAMP: 'TIMESTAMP' },
};

/** BigQuery's NUMERIC holds up to 38 digits with up to 9 after the point; wider ones need BIGNUMERIC. */
function bigQueryNumeric(length: string | undefined): { type: string; length?: string } {
  const match = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(length ?? '');
  if (!match) return { type: 'NUMERIC' };
  const [precision, scale] = [Number(match[1]), Number(match[2] ?? 0)];
  if (scale <= 9 && precision - scale <= 29) return { type: 'NUMERIC', length: `${precision},${scale}` };
  return { type: 'BIGNUMERIC', length: `${Math.min(precision, 76)},${Math.min(scale, 38)}` };
}

/**
 * The columns of a typed table for a bucket on another backend, by each column's Keboola base type (the way
 * Keboola's restore onto the default backend maps them): the native type of that base type on `to`; a numeric
 * precision is kept where `to` can hold it; string lengths and defaults, which differ between backends, are dropped.
 * Answers the columns, or the ones that cannot move (an unknown backend or base type) with the reason.
 */
export function columnsForBackend(columns: ColumnDefinitionInput[], to: string): { columns: ColumnDefinitionInput[] } | { unmappable: Array<{ column: string; reason: string }> } {
  const native = NATIVE_TYPE[to];
  if (!native) return { unmappable: columns.map((c) => ({ column: c.name, reason: `no type mapping onto the ${to} backend` })) };
  const unmappable: Array<{ column: string; reason: string }> = [];
  const mapped = columns.map((column): ColumnDefinitionInput => {
    const basetype = (column.basetype ?? 'STRING').toUpperCase();
    const type = native[basetype];
    if (!type) {
      unmappable.push({ column: column.name, reason: `its base type ${basetype} has no ${to} type` });
      return column;
    }
    const length = column.definition.length === undefined || column.definition.length === null ? undefined : String(column.definition.length);
    const numeric = basetype === 'NUMERIC' ? (to === 'bigquery' ? bigQueryNumeric(length) : { type, ...(length ? { length } : {}) }) : { type };
    return { name: column.name, definition: { ...numeric, nullable: column.definition.nullable }, basetype };
  });
  return unmappable.length ? { unmappable } : { columns: mapped };
}
