/** Tables and aliases (blueprint "Group Tables", "Group Table Aliases"): structure, metadata, and data in and out through files. */
import { StackError } from '../errors';
import {
  ExportJobResultsSchema,
  TableJobResultsSchema,
  TableMetadataResultSchema,
  TableSchema,
  type FileInfo,
  type Job,
  type MetadataInput,
  type Table,
  type TableMetadataResult,
} from '../schemas';
import { seg, type ApiResponse, type Transport } from '../transport';
import type { FilesResource } from './files';
import { StackResource, compact, keyValues } from './resource';

export interface ColumnDefinitionInput {
  name: string;
  definition: { type: string; nullable?: boolean; length?: string | number | null; default?: string | number | boolean | null };
  basetype?: string | null;
}

export interface CreateTableDefinitionInput {
  name: string;
  primaryKeysNames: string[];
  columns: ColumnDefinitionInput[];
}

export interface CreateTableFromFileInput {
  name: string;
  dataFileId: number | string;
  primaryKey?: string[];
}

export interface ImportTableInput {
  dataFileId: number | string;
  incremental?: boolean;
  withoutHeaders?: boolean;
  columns?: string[];
}

/** A column to add: a typed table needs `definition` or `basetype`, a table that is not typed takes neither. */
export interface AddColumnInput {
  name: string;
  definition?: ColumnDefinitionInput['definition'] | null;
  basetype?: string | null;
}

export interface CreateAliasInput {
  sourceTable: string;
  name: string;
  aliasFilter?: { column: string; operator?: 'eq' | 'ne' | string; values: string[] };
  aliasColumns?: string[];
}

export interface TableMetadataInput {
  metadata?: MetadataInput[];
  /** Keyed by column name. */
  columnsMetadata?: Record<string, MetadataInput[]>;
}

export class TablesResource extends StackResource {
  /** Table data goes in and out through files: an export answers the file through the files area. */
  constructor(
    transport: Transport,
    private readonly files: FilesResource,
  ) {
    super(transport);
  }

  /** Every table with its columns, metadata, column metadata and bucket. */
  async list(): Promise<Table[]> {
    return this.transport.list('GET', '/tables', TableSchema, { query: { include: 'columns,metadata,columnMetadata,buckets' } });
  }

  /** The table, or null when it does not exist. */
  async get(tableId: string): Promise<Table | null> {
    return this.transport.request('GET', `/tables/${seg(tableId)}`, TableSchema, { allow404: true });
  }

  /** A typed table from its column definitions; answers its ID (`get` reads the table). */
  async createDefinition(bucketId: string, input: CreateTableDefinitionInput): Promise<string> {
    const res = await this.transport.send('POST', `/buckets/${seg(bucketId)}/tables-definition`, {
      json: {
        name: input.name,
        primaryKeysNames: input.primaryKeysNames,
        columns: input.columns.map((c) => compact({ name: c.name, definition: compact({ ...c.definition }), basetype: c.basetype })),
      },
    });
    return this.#createdTableId(await this.transport.jobOf(res), `${bucketId}.${input.name}`);
  }

  /** An untyped table whose columns (and first data) come from an uploaded CSV file; answers its ID. */
  async createFromFile(bucketId: string, input: CreateTableFromFileInput): Promise<string> {
    const res = await this.transport.send('POST', `/buckets/${seg(bucketId)}/tables-async`, {
      json: compact({
        name: input.name,
        dataFileId: input.dataFileId,
        primaryKey: input.primaryKey && input.primaryKey.length > 0 ? input.primaryKey.join(',') : undefined,
      }),
    });
    return this.#createdTableId(await this.transport.jobOf(res), `${bucketId}.${input.name}`);
  }

  /** Loads an uploaded file into the table; answers the finished job. */
  async import(tableId: string, input: ImportTableInput): Promise<Job> {
    const res = await this.transport.send('POST', `/tables/${seg(tableId)}/import-async`, {
      json: compact({
        dataFileId: input.dataFileId,
        incremental: input.incremental,
        withoutHeaders: input.withoutHeaders,
        columns: input.columns,
      }),
    });
    return this.transport.jobOf(res);
  }

  /** Exports the table as a gzipped (and, per docs/CONTRACTS.md, sliced) file; answers its detail (files.get). */
  async export(tableId: string): Promise<FileInfo> {
    const res = await this.transport.send('POST', `/tables/${seg(tableId)}/export-async`, { json: { gzip: true } });
    const job = await this.transport.jobOf(res);
    const results = this.transport.validate(ExportJobResultsSchema, job.results, `${res.endpoint} (job ${job.id} results)`);
    return this.files.get(results.file.id);
  }

  /** An alias of a table: answered at once, or (BigQuery views) after a job. */
  async createAlias(bucketId: string, input: CreateAliasInput): Promise<Table> {
    const res = await this.transport.send('POST', `/buckets/${seg(bucketId)}/table-aliases`, {
      json: compact({
        sourceTable: input.sourceTable,
        name: input.name,
        aliasFilter: input.aliasFilter ? compact({ ...input.aliasFilter }) : undefined,
        aliasColumns: input.aliasColumns,
      }),
    });
    return this.#tableOf(res, `${bucketId}.${input.name}`);
  }

  /**
   * Deletes the table (or alias) in a job, and answers once it is gone; one already gone (404, or a job that finds
   * it missing) is fine. `force` drops the table's aliases too (without it a table with aliases is refused).
   */
  async delete(tableId: string, options: { force?: boolean } = {}): Promise<void> {
    const res = await this.transport.send('DELETE', `/tables/${seg(tableId)}`, { query: { force: options.force ? 1 : undefined, async: 1 }, allow404: true });
    if (res.status !== 202) return;
    try {
      await this.transport.jobOf(res);
    } catch (error) {
      if (error instanceof StackError && error.kind === 'not-found' && error.code === 'storage.tables.notFound') return;
      throw error;
    }
  }

  /** Adds a column at the end of the table (a job; existing rows get an empty value); answers the finished job. */
  async addColumn(tableId: string, input: AddColumnInput): Promise<Job> {
    const res = await this.transport.send('POST', `/tables/${seg(tableId)}/columns`, {
      json: compact({
        name: input.name,
        definition: input.definition ? compact({ ...input.definition }) : undefined,
        basetype: input.basetype ?? undefined,
      }),
    });
    return this.transport.jobOf(res);
  }

  /** Drops a column with its data (a job); `force` drops it from the table's aliases too. Answers the finished job. */
  async deleteColumn(tableId: string, name: string, options: { force?: boolean } = {}): Promise<Job> {
    const res = await this.transport.send('DELETE', `/tables/${seg(tableId)}/columns/${seg(name)}`, { query: { force: options.force ? 1 : undefined } });
    return this.transport.jobOf(res);
  }

  /**
   * Makes `columns` the table's primary key: the current key, when there is one, is removed first (the API adds a
   * key only to a table without one); an empty list only removes it. Nothing is sent when the key is already that.
   */
  async setPrimaryKey(tableId: string, columns: string[]): Promise<void> {
    const table = await this.get(tableId);
    if (!table) {
      throw new StackError({
        kind: 'not-found',
        endpoint: `GET /v2/storage/tables/${seg(tableId)}`,
        message: `table ${tableId} does not exist on ${this.transport.url}: its primary key cannot be set`,
      });
    }
    if (table.primaryKey.length === columns.length && table.primaryKey.every((c, i) => c === columns[i])) return;
    if (table.primaryKey.length > 0) await this.transport.jobOf(await this.transport.send('DELETE', `/tables/${seg(tableId)}/primary-key`));
    if (columns.length > 0) await this.transport.jobOf(await this.transport.send('POST', `/tables/${seg(tableId)}/primary-key`, { json: { columns } }));
  }

  async update(tableId: string, input: { displayName: string }): Promise<Table> {
    const res = await this.transport.send('PUT', `/tables/${seg(tableId)}`, { json: { displayName: input.displayName } });
    return this.#tableOf(res, tableId);
  }

  /**
   * Sets table and column metadata in one call. Column metadata is sent keyed by column name *and* with
   * `columnName` in each entry, which both readings of the blueprint (by key, deprecated; by `columnName`) accept.
   */
  async setMetadata(tableId: string, provider: string, input: TableMetadataInput): Promise<TableMetadataResult> {
    const columnsMetadata = input.columnsMetadata
      ? Object.fromEntries(
          Object.entries(input.columnsMetadata).map(([column, entries]) => [
            column,
            entries.map((e) => ({ columnName: column, key: e.key, value: e.value })),
          ]),
        )
      : undefined;
    return this.transport.request('POST', `/tables/${seg(tableId)}/metadata`, TableMetadataResultSchema, {
      json: compact({ provider, metadata: input.metadata ? keyValues(input.metadata) : undefined, columnsMetadata }),
    });
  }

  /** A table answered synchronously, or by a 202 job after which the table is read. */
  async #tableOf(res: ApiResponse, fallbackId: string): Promise<Table> {
    if (res.status === 202) return this.#tableAfterJob(await this.transport.jobOf(res), fallbackId, res.endpoint);
    return this.transport.parse(TableSchema, res);
  }

  /** The table a finished create job made: its `tableId`, else its results' `id`, else bucket.name. */
  #createdTableId(job: Job, fallbackId: string): string {
    const results = TableJobResultsSchema.safeParse(job.results);
    return job.tableId ?? (results.success ? results.data.id : undefined) ?? fallbackId;
  }

  async #tableAfterJob(job: Job, fallbackId: string, endpoint: string): Promise<Table> {
    const tableId = this.#createdTableId(job, fallbackId);
    const table = await this.get(tableId);
    if (!table) {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        jobId: job.id,
        message: `job ${job.id} (${job.operationName}) on ${this.transport.url} succeeded but table ${tableId} does not exist: the stack's API differs from the documented one`,
      });
    }
    return table;
  }
}
