/**
 * Typed client of the Keboola Storage API of one stack (one project, one token).
 *
 * - Every answer is validated with zod (stack/schemas.ts); a missing or mistyped documented field throws
 *   StackError kind "unexpected-response" naming the field and the endpoint.
 * - No retries here: retries belong to Temporal (DESIGN §4). Every failure is a classified StackError.
 * - Asynchronous operations (202 + job) are awaited by polling `jobs/{id}` with backoff.
 * - Files follow docs/CONTRACTS.md (GCP file provider): streamed PUT/GET against the object store with the
 *   short-lived Bearer token of the file; whole files are never held in memory.
 * - The Storage API token is kept in an ES private field, is only ever sent to the stack's own URL (redirects
 *   are not followed), never to the object store, and is redacted from every message the client produces.
 */
import { PassThrough, Readable } from 'node:stream';
import got, { RequestError, TimeoutError, type Got } from 'got';
import { z } from 'zod';
import { StackError, kindForJobErrorCode, kindForStatus, parseRetryAfter, redact, type StackErrorKind } from './errors';
import { isOverloadStatus, type AdaptiveLimiter, type LimiterPermit } from './limiter';
import {
  ApiIndexSchema,
  BucketSchema,
  ComponentWithConfigurationsSchema,
  ConfigurationRowSchema,
  ConfigurationSchema,
  DevBranchSchema,
  ExportJobResultsSchema,
  FileInfoSchema,
  JobSchema,
  MetadataListSchema,
  SliceManifestSchema,
  TableMetadataResultSchema,
  TableSchema,
  TokenInfoSchema,
  WorkspaceCreatedSchema,
  WorkspacePasswordSchema,
  WorkspaceSchema,
  type ApiIndex,
  type Bucket,
  type ComponentWithConfigurations,
  type Configuration,
  type ConfigurationRow,
  type DevBranch,
  type FileInfo,
  type Job,
  type JsonObject,
  type MetadataEntry,
  type MetadataInput,
  type Table,
  type TableMetadataResult,
  type TokenInfo,
  type Workspace,
  type WorkspaceCreated,
} from './schemas';

export interface StackClientOptions {
  /** Stack URL, e.g. `https://connection.keboola.com` (no `/v2/storage`). */
  url: string;
  /** Storage API token of the project. */
  token: string;
  /** Timeout of one API request in ms (default 60000). For streamed transfers: connect and first-byte timeout. */
  timeoutMs?: number;
  /** First delay between two polls of a job (default 250 ms), doubled up to 2000 ms. */
  jobPollIntervalMs?: number;
  /** Give up waiting for a job after this long (default: no limit; the activity's own timeout applies). */
  jobTimeoutMs?: number;
  /** Called after every poll of a job (e.g. to heartbeat a Temporal activity during a long import). */
  onJobPoll?: (job: Job) => void;
  /**
   * Shared adaptive limit of in-flight requests to this stack (stack/limiter.ts): API calls and object-store
   * transfers take a slot; 429/5xx answers shrink it, successes grow it back. Without it, no limit.
   */
  limiter?: AdaptiveLimiter;
}

export interface CreateBucketInput {
  name: string;
  stage: 'in' | 'out' | string;
  description?: string;
  displayName?: string;
  backend?: string;
  color?: string;
}

export interface ColumnDefinitionInput {
  name: string;
  definition: { type: string; nullable?: boolean; length?: string | number; default?: string | number | boolean | null };
  basetype?: string;
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

export interface UploadOptions {
  sizeBytes?: number;
  tags?: string[];
}

export interface CreateConfigurationInput {
  configurationId?: string;
  name: string;
  description?: string;
  configuration?: JsonObject;
  state?: JsonObject;
  isDisabled?: boolean;
  changeDescription?: string;
}

export interface UpdateConfigurationInput {
  name?: string;
  description?: string;
  configuration?: JsonObject;
  state?: JsonObject;
  rowsSortOrder?: string[];
  isDisabled?: boolean;
  changeDescription?: string;
}

export interface CreateConfigurationRowInput {
  rowId?: string;
  name: string;
  description?: string;
  configuration?: JsonObject;
  state?: JsonObject;
  isDisabled?: boolean;
  changeDescription?: string;
}

export interface CreateWorkspaceInput {
  /** Creates the workspace for this configuration (Storage lists it among the configuration's workspaces). */
  configuration?: { componentId: string; configId: string };
  backend?: 'snowflake';
  backendSize?: string;
  readOnlyStorageAccess?: boolean;
  loginType?: string;
}

export interface WaitForJobOptions {
  onPoll?: (job: Job) => void;
}

export type Query = Record<string, string | number | boolean | undefined>;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface ApiResult {
  status: number;
  body: unknown;
  endpoint: string;
}

const STORAGE = '/v2/storage';
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_POLL_MS = 250;
const MAX_POLL_MS = 2_000;
/** Refresh upload credentials when fewer than this many seconds of validity remain. */
const CREDENTIALS_REFRESH_MARGIN_S = 300;

const seg = (value: string | number): string => encodeURIComponent(String(value));

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toReadable(stream: NodeJS.ReadableStream): Readable {
  return stream instanceof Readable ? stream : Readable.from(stream as AsyncIterable<unknown>);
}

/** `.csv.gz` / `.csv` / `.gz` suffix of a file name (table names contain dots, so no generic extension logic). */
function sliceSuffix(name: string): string {
  return /(\.csv)?(\.gz)?$/i.exec(name)?.[0] ?? '';
}

/** Object key → URL path, each segment percent-encoded, slashes kept. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

export class StackClient {
  readonly url: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #pollMs: number;
  readonly #jobTimeoutMs: number;
  readonly #onJobPoll?: (job: Job) => void;
  readonly #limiter?: AdaptiveLimiter;
  /** Storage API requests: carry the token, never follow redirects. */
  readonly #api: Got;
  /** Object store requests: never carry the Storage API token. */
  readonly #objects: Got;

  constructor(options: StackClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new StackError({
        kind: 'bad-request',
        endpoint: 'createStackClient',
        message: `"${options.url}" is not a valid stack URL: give the stack's base URL, e.g. https://connection.keboola.com`,
      });
    }
    if (!options.token) {
      throw new StackError({
        kind: 'invalid-token',
        endpoint: 'createStackClient',
        message: `no Storage API token was given for ${parsed.origin}: provide the project's token`,
      });
    }
    this.url = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#pollMs = options.jobPollIntervalMs ?? DEFAULT_POLL_MS;
    this.#jobTimeoutMs = options.jobTimeoutMs ?? Number.POSITIVE_INFINITY;
    this.#onJobPoll = options.onJobPoll;
    this.#limiter = options.limiter;

    this.#api = got.extend({
      headers: { 'x-storageapi-token': options.token, 'user-agent': 'stack-migrate', accept: 'application/json' },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      timeout: { request: this.#timeoutMs },
      responseType: 'text',
    });
    this.#objects = got.extend({
      headers: { 'user-agent': 'stack-migrate' },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      // A streamed transfer may legitimately take hours: bound connecting and waiting for the first byte only.
      timeout: { lookup: this.#timeoutMs, connect: this.#timeoutMs, secureConnect: this.#timeoutMs, response: this.#timeoutMs },
    });
  }

  // ============================================================ tokens, index, branches

  async verifyToken(): Promise<TokenInfo> {
    const res = await this.#call('GET', '/tokens/verify');
    return this.#parse(TokenInfoSchema, res);
  }

  async apiIndex(): Promise<ApiIndex> {
    const res = await this.#call('GET', '');
    return this.#parse(ApiIndexSchema, res);
  }

  async listDevBranches(): Promise<DevBranch[]> {
    const res = await this.#call('GET', '/dev-branches');
    return this.#parseArray(DevBranchSchema, res);
  }

  async listBranchMetadata(): Promise<MetadataEntry[]> {
    const res = await this.#call('GET', '/branch/default/metadata');
    return this.#parse(MetadataListSchema, res);
  }

  async setBranchMetadata(entries: MetadataInput[]): Promise<MetadataEntry[]> {
    const res = await this.#call('POST', '/branch/default/metadata', { json: { metadata: entries.map(keyValue) } });
    return this.#parse(MetadataListSchema, res);
  }

  // ============================================================ buckets

  async listBuckets(): Promise<Bucket[]> {
    const res = await this.#call('GET', '/buckets', { query: { include: 'metadata' } });
    return this.#parseArray(BucketSchema, res);
  }

  async getBucket(bucketId: string): Promise<Bucket | null> {
    const res = await this.#call('GET', `/buckets/${seg(bucketId)}`, { allow404: true });
    return res.status === 404 ? null : this.#parse(BucketSchema, res);
  }

  async createBucket(input: CreateBucketInput): Promise<Bucket> {
    const res = await this.#call('POST', '/buckets', { json: compact({ ...input }) });
    return this.#parse(BucketSchema, res);
  }

  async deleteBucket(bucketId: string, options: { force?: boolean } = {}): Promise<void> {
    const res = await this.#call('DELETE', `/buckets/${seg(bucketId)}`, {
      query: { force: options.force ? 1 : undefined, async: 1 },
    });
    await this.#awaitIfJob(res);
  }

  async setBucketMetadata(bucketId: string, provider: string, entries: MetadataInput[]): Promise<MetadataEntry[]> {
    const res = await this.#call('POST', `/buckets/${seg(bucketId)}/metadata`, {
      json: { provider, metadata: entries.map(keyValue) },
    });
    return this.#parse(MetadataListSchema, res);
  }

  // ============================================================ tables

  async listTables(): Promise<Table[]> {
    const res = await this.#call('GET', '/tables', { query: { include: 'columns,metadata,columnMetadata,buckets' } });
    return this.#parseArray(TableSchema, res);
  }

  async getTable(tableId: string): Promise<Table | null> {
    const res = await this.#call('GET', `/tables/${seg(tableId)}`, { allow404: true });
    return res.status === 404 ? null : this.#parse(TableSchema, res);
  }

  async createTableDefinition(bucketId: string, input: CreateTableDefinitionInput): Promise<Table> {
    const res = await this.#call('POST', `/buckets/${seg(bucketId)}/tables-definition`, {
      json: {
        name: input.name,
        primaryKeysNames: input.primaryKeysNames,
        columns: input.columns.map((c) => compact({ name: c.name, definition: compact({ ...c.definition }), basetype: c.basetype })),
      },
    });
    const job = await this.#awaitJob(res);
    return this.#tableAfterJob(job, `${bucketId}.${input.name}`, res.endpoint);
  }

  async createTableFromFile(bucketId: string, input: CreateTableFromFileInput): Promise<Table> {
    const res = await this.#call('POST', `/buckets/${seg(bucketId)}/tables-async`, {
      json: compact({
        name: input.name,
        dataFileId: input.dataFileId,
        primaryKey: input.primaryKey && input.primaryKey.length > 0 ? input.primaryKey.join(',') : undefined,
      }),
    });
    const job = await this.#awaitJob(res);
    return this.#tableAfterJob(job, `${bucketId}.${input.name}`, res.endpoint);
  }

  async importTable(tableId: string, input: ImportTableInput): Promise<Job> {
    const res = await this.#call('POST', `/tables/${seg(tableId)}/import-async`, {
      json: compact({
        dataFileId: input.dataFileId,
        incremental: input.incremental,
        withoutHeaders: input.withoutHeaders,
        columns: input.columns,
      }),
    });
    return this.#awaitJob(res);
  }

  /** Exports the table as a gzipped (and, per CONTRACTS.md, sliced) file; answers the file detail with credentials. */
  async exportTable(tableId: string): Promise<FileInfo> {
    const res = await this.#call('POST', `/tables/${seg(tableId)}/export-async`, { json: { gzip: true } });
    const job = await this.#awaitJob(res);
    const results = ExportJobResultsSchema.safeParse(job.results);
    if (!results.success) {
      throw this.#schemaError(results.error, `${res.endpoint} (job ${job.id} results)`);
    }
    return this.getFile(results.data.file.id);
  }

  async createAlias(bucketId: string, input: CreateAliasInput): Promise<Table> {
    const res = await this.#call('POST', `/buckets/${seg(bucketId)}/table-aliases`, {
      json: compact({
        sourceTable: input.sourceTable,
        name: input.name,
        aliasFilter: input.aliasFilter ? compact({ ...input.aliasFilter }) : undefined,
        aliasColumns: input.aliasColumns,
      }),
    });
    if (res.status === 202) {
      const job = await this.#awaitJob(res);
      return this.#tableAfterJob(job, `${bucketId}.${input.name}`, res.endpoint);
    }
    return this.#parse(TableSchema, res);
  }

  async setPrimaryKey(tableId: string, columns: string[]): Promise<void> {
    const res = await this.#call('POST', `/tables/${seg(tableId)}/primary-key`, { json: { columns } });
    await this.#awaitIfJob(res);
  }

  async removePrimaryKey(tableId: string): Promise<void> {
    const res = await this.#call('DELETE', `/tables/${seg(tableId)}/primary-key`);
    await this.#awaitIfJob(res);
  }

  async updateTable(tableId: string, input: { displayName: string }): Promise<Table> {
    const res = await this.#call('PUT', `/tables/${seg(tableId)}`, { json: { displayName: input.displayName } });
    if (res.status === 202) {
      const job = await this.#awaitJob(res);
      return this.#tableAfterJob(job, tableId, res.endpoint);
    }
    return this.#parse(TableSchema, res);
  }

  /**
   * Sets table and column metadata in one call. Column metadata is sent keyed by column name *and* with
   * `columnName` in each entry, which both readings of the blueprint (by key, deprecated; by `columnName`) accept.
   */
  async setTableMetadata(tableId: string, provider: string, input: TableMetadataInput): Promise<TableMetadataResult> {
    const columnsMetadata = input.columnsMetadata
      ? Object.fromEntries(
          Object.entries(input.columnsMetadata).map(([column, entries]) => [
            column,
            entries.map((e) => ({ columnName: column, key: e.key, value: e.value })),
          ]),
        )
      : undefined;
    const res = await this.#call('POST', `/tables/${seg(tableId)}/metadata`, {
      json: compact({ provider, metadata: input.metadata?.map(keyValue), columnsMetadata }),
    });
    return this.#parse(TableMetadataResultSchema, res);
  }

  async deleteTable(tableId: string): Promise<void> {
    const res = await this.#call('DELETE', `/tables/${seg(tableId)}`, { query: { async: 1 } });
    await this.#awaitIfJob(res);
  }

  // ============================================================ jobs

  async getJob(jobId: number | string): Promise<Job> {
    const res = await this.#call('GET', `/jobs/${seg(jobId)}`);
    return this.#parse(JobSchema, res);
  }

  /** Polls the job until it ends; throws StackError (carrying the job id) when it ends in error. */
  async waitForJob(job: Job | number, options: WaitForJobOptions = {}): Promise<Job> {
    const start = typeof job === 'number' ? await this.getJob(job) : job;
    return this.#poll(start, `GET ${STORAGE}/jobs/${start.id}`, options.onPoll);
  }

  // ============================================================ files

  /** Uploads one file (prepare + one streamed PUT). `body` is a Buffer or a factory of a fresh stream. */
  async uploadFile(
    name: string,
    body: Buffer | (() => NodeJS.ReadableStream),
    options: UploadOptions = {},
  ): Promise<FileInfo> {
    const sizeBytes = Buffer.isBuffer(body) ? body.length : options.sizeBytes;
    const prepared = await this.#prepareFile(name, { sizeBytes, tags: options.tags, isSliced: false });
    const upload = this.#requireUploadParams(prepared);
    const base = this.#objectStoreBase(prepared.url, upload.bucket, upload.key, 'POST /v2/storage/files/prepare');
    await this.#putObject(base, upload.bucket, upload.key, upload.access_token, body);
    return this.getFile(prepared.id);
  }

  /**
   * Uploads a sliced file: prepare with `isSliced`, each slice under `{key}partNNNN{.csv.gz}`, then the
   * manifest at `{key}manifest` (docs/CONTRACTS.md). Up to `options.concurrency` slices (default 4) are streamed
   * at once; the manifest lists them in order.
   */
  async uploadSlicedFile(
    name: string,
    slices: Array<() => NodeJS.ReadableStream>,
    options: UploadOptions & { concurrency?: number } = {},
  ): Promise<FileInfo> {
    const prepared = await this.#prepareFile(name, { sizeBytes: options.sizeBytes, tags: options.tags, isSliced: true });
    let upload = this.#requireUploadParams(prepared);
    let expiresAt = Date.now() + (upload.expires_in ?? 3600) * 1000;
    // Before each slice: fresh credentials when the current ones are about to expire.
    const fresh = async () => {
      if (expiresAt - Date.now() < CREDENTIALS_REFRESH_MARGIN_S * 1000) {
        upload = await this.#refreshUploadParams(prepared.id);
        expiresAt = Date.now() + (upload.expires_in ?? 3600) * 1000;
      }
      return upload;
    };
    const base = this.#objectStoreBase(prepared.url, upload.bucket, upload.key, 'POST /v2/storage/files/prepare');
    const suffix = sliceSuffix(name);
    const entries = new Array<{ url: string }>(slices.length);
    let next = 0;
    let failed = false;
    const lane = async () => {
      while (next < slices.length && !failed) {
        const i = next++;
        try {
          const params = await fresh();
          const sliceKey = `${params.key}part${String(i + 1).padStart(4, '0')}${suffix}`;
          await this.#putObject(base, params.bucket, sliceKey, params.access_token, slices[i]);
          entries[i] = { url: `gs://${params.bucket}/${sliceKey}` };
        } catch (error) {
          failed = true; // the other lanes start no new slice
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, slices.length)) }, lane));
    const manifest = Buffer.from(JSON.stringify({ entries }));
    await this.#putObject(base, upload.bucket, `${upload.key}manifest`, upload.access_token, manifest, 'application/json');
    return this.getFile(prepared.id);
  }

  /** File detail with download credentials (`federationToken=1`). */
  async getFile(fileId: number | string): Promise<FileInfo> {
    const res = await this.#call('GET', `/files/${seg(fileId)}`, { query: { federationToken: 1 } });
    return this.#parse(FileInfoSchema, res);
  }

  /** One URL for a plain file (its signed URL); the manifest's entries (`gs://...`) for a sliced one. */
  async fileSliceUrls(file: FileInfo): Promise<string[]> {
    if (!file.isSliced) return [file.url];
    const endpoint = `GET ${this.#describeObjectUrl(file.url)}`;
    let text: string;
    let response;
    const permit = await this.#limiter?.acquire();
    try {
      response = await this.#objects(file.url, { responseType: 'text', timeout: { request: this.#timeoutMs } });
      text = response.body;
    } catch (error) {
      permit?.release();
      throw this.#transportError(error, endpoint);
    }
    settlePermit(permit, response.statusCode);
    if (response.statusCode >= 400) {
      throw this.#objectStoreHttpError(response.statusCode, response.headers['retry-after'], endpoint);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `the manifest of sliced file ${file.id} on ${this.url} is not JSON: the file is damaged or not a sliced file`,
      });
    }
    const manifest = SliceManifestSchema.safeParse(json);
    if (!manifest.success) throw this.#schemaError(manifest.error, `${endpoint} (manifest of file ${file.id})`);
    return manifest.data.entries.map((e) => e.url);
  }

  /**
   * Streams one slice (or the whole plain file). `sliceUrl` is one of fileSliceUrls(file): a `gs://bucket/key`
   * manifest entry (read from the object store with the file's Bearer token) or a signed https URL (read as is).
   * HTTP and network failures are emitted as a StackError on the returned stream.
   */
  openSlice(file: FileInfo, sliceUrl: string): NodeJS.ReadableStream {
    const out = new PassThrough();
    let target: string;
    let headers: Record<string, string> = {};
    try {
      ({ target, headers } = this.#resolveSlice(file, sliceUrl));
    } catch (error) {
      process.nextTick(() => out.destroy(error as Error));
      return out;
    }
    const endpoint = `GET ${this.#describeObjectUrl(target)}`;
    // A slot of the stack's limiter is held until the answer's headers arrive, not for the whole transfer.
    const start = (permit?: LimiterPermit) => {
      if (out.destroyed) return void permit?.release();
      const request = this.#objects.stream(target, { headers });
      request.on('error', (error: unknown) => {
        permit?.release();
        out.destroy(this.#transportError(error, endpoint));
      });
      request.once('response', (response: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
        settlePermit(permit, response.statusCode);
        if (response.statusCode >= 400) {
          request.destroy();
          out.destroy(this.#objectStoreHttpError(response.statusCode, response.headers['retry-after'], endpoint));
          return;
        }
        request.pipe(out);
      });
      out.once('close', () => {
        if (!request.destroyed) request.destroy();
      });
    };
    if (this.#limiter) this.#limiter.acquire().then(start, (error: Error) => out.destroy(error));
    else start();
    return out;
  }

  // ============================================================ components and configurations

  async listComponents(): Promise<ComponentWithConfigurations[]> {
    const res = await this.#call('GET', '/branch/default/components', { query: { include: 'configuration,rows,state' } });
    return this.#parseArray(ComponentWithConfigurationsSchema, res);
  }

  async getConfiguration(componentId: string, configId: string): Promise<Configuration | null> {
    const res = await this.#call('GET', `${configPath(componentId)}/${seg(configId)}`, { allow404: true });
    return res.status === 404 ? null : this.#parse(ConfigurationSchema, res);
  }

  async createConfiguration(componentId: string, input: CreateConfigurationInput): Promise<Configuration> {
    const res = await this.#call('POST', configPath(componentId), { json: compact({ ...input }) });
    return this.#parse(ConfigurationSchema, res);
  }

  async updateConfiguration(componentId: string, configId: string, input: UpdateConfigurationInput): Promise<Configuration> {
    const res = await this.#call('PUT', `${configPath(componentId)}/${seg(configId)}`, { json: compact({ ...input }) });
    return this.#parse(ConfigurationSchema, res);
  }

  async deleteConfiguration(componentId: string, configId: string): Promise<void> {
    await this.#call('DELETE', `${configPath(componentId)}/${seg(configId)}`);
  }

  async createConfigurationRow(
    componentId: string,
    configId: string,
    input: CreateConfigurationRowInput,
  ): Promise<ConfigurationRow> {
    const res = await this.#call('POST', `${configPath(componentId)}/${seg(configId)}/rows`, { json: compact({ ...input }) });
    return this.#parse(ConfigurationRowSchema, res);
  }

  async listConfigurationMetadata(componentId: string, configId: string): Promise<MetadataEntry[]> {
    const res = await this.#call('GET', `${configPath(componentId)}/${seg(configId)}/metadata`);
    return this.#parse(MetadataListSchema, res);
  }

  async setConfigurationMetadata(componentId: string, configId: string, entries: MetadataInput[]): Promise<MetadataEntry[]> {
    const res = await this.#call('POST', `${configPath(componentId)}/${seg(configId)}/metadata`, {
      json: { metadata: entries.map(keyValue) },
    });
    return this.#parse(MetadataListSchema, res);
  }

  // ============================================================ workspaces

  /** A Snowflake workspace of the project (or of a configuration), created synchronously; the only answer with its password. */
  async createWorkspace(input: CreateWorkspaceInput = {}): Promise<WorkspaceCreated> {
    const { configuration, ...body } = input;
    const path = configuration ? `${configPath(configuration.componentId)}/${seg(configuration.configId)}/workspaces` : '/branch/default/workspaces';
    const res = await this.#call('POST', path, { json: compact({ backend: 'snowflake', ...body }) });
    return this.#parse(WorkspaceCreatedSchema, res);
  }

  /** The project's workspaces, or those created for one configuration. */
  async listWorkspaces(configuration?: { componentId: string; configId: string }): Promise<Workspace[]> {
    const path = configuration ? `${configPath(configuration.componentId)}/${seg(configuration.configId)}/workspaces` : '/branch/default/workspaces';
    const res = await this.#call('GET', path);
    return this.#parseArray(WorkspaceSchema, res);
  }

  async getWorkspace(workspaceId: number | string): Promise<Workspace | null> {
    const res = await this.#call('GET', `/branch/default/workspaces/${seg(workspaceId)}`, { allow404: true });
    return res.status === 404 ? null : this.#parse(WorkspaceSchema, res);
  }

  /** A new password for a workspace (the old one stops working). */
  async resetWorkspacePassword(workspaceId: number | string): Promise<string> {
    const res = await this.#call('POST', `/branch/default/workspaces/${seg(workspaceId)}/password`);
    return this.#parse(WorkspacePasswordSchema, res).password;
  }

  // ============================================================ internals: Storage API requests

  /**
   * One JSON request with this client's token, classified like every other call (stack/errors.ts) and its answer
   * validated with `schema` (`list: true` checks a list item by item). Without `serviceUrl` the path is under
   * `/v2/storage`; with it, under the URL of one of the stack's services as listed by its API index (the
   * Orchestrator API). `allow404` answers null for a 404. For the modules that extend the client
   * (stack/orchestrator.ts, stack/triggers.ts).
   */
  async request<S extends z.ZodType>(
    method: HttpMethod,
    path: string,
    schema: S,
    options: { query?: Query; json?: unknown; allow404?: boolean; serviceUrl?: string; list?: boolean; headers?: Record<string, string> } = {},
  ): Promise<z.output<S> | null> {
    let res: ApiResult;
    if (options.serviceUrl === undefined) res = await this.#call(method, path, options);
    else {
      let service: URL;
      try {
        service = new URL(options.serviceUrl);
      } catch {
        throw new StackError({
          kind: 'unexpected-response',
          endpoint: `${method} ${path}`,
          message: `the API index of ${this.url} lists the service URL "${options.serviceUrl}", which is not a URL`,
        });
      }
      res = await this.#send(method, service.origin, `${service.pathname.replace(/\/+$/, '')}${path}`, options);
    }
    if (res.status === 404 && options.allow404) return null;
    return options.list ? (this.#parseArray(schema, res) as z.output<S>) : this.#parse(schema, res);
  }

  async #call(
    method: HttpMethod,
    path: string,
    options: { query?: Query; json?: unknown; allow404?: boolean } = {},
  ): Promise<ApiResult> {
    return this.#send(method, this.url, `${STORAGE}${path}`, options);
  }

  /** A request to `origin` + `fullPath` (the stack's own URL or one of its services), never following redirects. */
  async #send(
    method: HttpMethod,
    origin: string,
    fullPath: string,
    options: { query?: Query; json?: unknown; allow404?: boolean; headers?: Record<string, string> } = {},
  ): Promise<ApiResult> {
    const endpoint = `${method} ${fullPath}`;
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();
    const target = `${origin}${fullPath}${qs ? `?${qs}` : ''}`;

    let response;
    const permit = await this.#limiter?.acquire();
    try {
      response = await this.#api(target, { method, ...(options.headers ? { headers: options.headers } : {}), ...(options.json !== undefined ? { json: options.json } : {}) });
    } catch (error) {
      permit?.release();
      throw this.#transportError(error, endpoint);
    }
    settlePermit(permit, response.statusCode);
    const status = response.statusCode;
    const text = typeof response.body === 'string' ? response.body : '';
    if (status === 404 && options.allow404) return { status, body: null, endpoint };
    if (status >= 400) throw this.#httpError(status, text, response.headers['retry-after'], endpoint);
    if (status >= 300) {
      throw new StackError({
        kind: 'unexpected-response',
        status,
        endpoint,
        message: `${this.url} answered ${endpoint} with a redirect (HTTP ${status}): check that the stack URL is the API's base URL (e.g. https://connection.keboola.com)`,
      });
    }
    if (status === 204 || text.trim() === '') return { status, body: undefined, endpoint };
    try {
      return { status, body: JSON.parse(text), endpoint };
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        status,
        endpoint,
        message: `${this.url} answered ${endpoint} with HTTP ${status} but a body that is not JSON: check that the URL points to a Keboola stack`,
      });
    }
  }

  #parse<S extends z.ZodType>(schema: S, res: ApiResult): z.output<S> {
    const parsed = schema.safeParse(res.body);
    if (!parsed.success) throw this.#schemaError(parsed.error, res.endpoint);
    return parsed.data;
  }

  /** Arrays are checked item by item so the error names the failing item. */
  #parseArray<S extends z.ZodType>(schema: S, res: ApiResult): Array<z.output<S>> {
    if (!Array.isArray(res.body)) {
      throw new StackError({
        kind: 'unexpected-response',
        status: res.status,
        endpoint: res.endpoint,
        message: `${this.url} answered ${res.endpoint} with ${describeType(res.body)} where a list was documented: the stack's API differs from the documented one`,
      });
    }
    return this.#parse(z.array(schema), res) as Array<z.output<S>>;
  }

  #schemaError(error: z.ZodError, endpoint: string): StackError {
    const issues = error.issues.slice(0, 5).map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      return `${path}: ${issue.message}`;
    });
    const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
    return new StackError({
      kind: 'unexpected-response',
      endpoint,
      message: this.#redact(
        `${this.url} answered ${endpoint} with an unexpected shape: ${issues.join('; ')}${more}. The stack's API differs from the documented one; the client cannot go on safely`,
      ),
    });
  }

  #httpError(status: number, text: string, retryAfterHeader: string | string[] | undefined, endpoint: string): StackError {
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // not JSON (a proxy's HTML page, an empty body): classified by status alone
    }
    const code = body.code !== undefined && body.code !== null ? String(body.code) : undefined;
    const serverText =
      typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : undefined;
    const retryAfterSeconds = parseRetryAfter(retryAfterHeader);
    let kind: StackErrorKind = kindForStatus(status);
    if (status === 503 && body.status !== 'maintenance' && retryAfterSeconds === undefined) kind = 'server';
    const detail = serverText ? `: ${serverText}` : '';
    const codeText = code ? `, ${code}` : '';
    const after = retryAfterSeconds !== undefined ? ` in ${retryAfterSeconds} s` : ' later';
    let message: string;
    switch (kind) {
      case 'invalid-token':
        message = `the token for ${this.url} was rejected (${endpoint}, HTTP 401${codeText})${detail}: check that the token exists, belongs to this stack and is not expired`;
        break;
      case 'forbidden':
        message = `the token for ${this.url} is not allowed to do ${endpoint} (HTTP 403${codeText})${detail}: use a master token or a token with the needed permissions (canManageBuckets, component access)`;
        break;
      case 'not-found':
        message = `${endpoint} on ${this.url}: not found (HTTP 404${codeText})${detail}`;
        break;
      case 'conflict':
        message = `${endpoint} on ${this.url} conflicts with the current state (HTTP ${status}${codeText})${detail}: the object probably exists already`;
        break;
      case 'rate-limited':
        message = `${this.url} is rate limiting requests (${endpoint}, HTTP 429${codeText})${detail}: retry${after}`;
        break;
      case 'maintenance': {
        const reason = typeof body.reason === 'string' ? ` (${body.reason})` : '';
        const until = typeof body.estimatedEndTime === 'string' ? `, expected to end at ${body.estimatedEndTime}` : '';
        message = `${this.url} is under maintenance${reason}${until} (${endpoint}, HTTP 503): retry${after}`;
        break;
      }
      case 'server':
        message = `${this.url} failed on ${endpoint} (HTTP ${status}${codeText})${detail}: a problem of the stack, retry${after}`;
        break;
      case 'timeout':
        message = `${this.url} timed out on ${endpoint} (HTTP ${status}${codeText})${detail}: retry${after}`;
        break;
      default:
        message = `${this.url} refused ${endpoint} as invalid (HTTP ${status}${codeText})${detail}: the request or its data must be fixed, a retry will not help`;
    }
    return new StackError({
      kind,
      status,
      endpoint,
      message: this.#redact(message),
      ...(code !== undefined ? { code } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  }

  /** got's own errors (network, timeout) → StackError; the got error itself (which holds the headers) is dropped. */
  #transportError(error: unknown, endpoint: string): StackError {
    if (error instanceof StackError) return error;
    if (error instanceof TimeoutError || (error instanceof RequestError && error.code === 'ETIMEDOUT')) {
      return new StackError({
        kind: 'timeout',
        endpoint,
        code: error.code,
        message: this.#redact(
          `${endpoint} on ${this.url} did not answer in time (${error.message}): the stack is slow or unreachable, retry later`,
        ),
      });
    }
    if (error instanceof RequestError) {
      return new StackError({
        kind: 'network',
        endpoint,
        code: error.code,
        message: this.#redact(
          `could not talk to ${this.url} (${endpoint}): ${error.code && !error.message.includes(error.code) ? `${error.code} ` : ''}${error.message}: check the stack URL and the network, retry later`,
        ),
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new StackError({
      kind: 'network',
      endpoint,
      message: this.#redact(`${endpoint} on ${this.url} failed: ${message}: retry later`),
    });
  }

  #redact(text: string): string {
    return redact(text, [this.#token]);
  }

  // ============================================================ internals: jobs

  /** The answer must be a 202 job: wait for it. */
  async #awaitJob(res: ApiResult): Promise<Job> {
    const job = this.#parse(JobSchema, res);
    return this.#poll(job, res.endpoint, this.#onJobPoll);
  }

  /** DELETE/POST answering either 204/200 (synchronous) or 202 + job. */
  async #awaitIfJob(res: ApiResult): Promise<Job | undefined> {
    if (res.status !== 202) return undefined;
    return this.#awaitJob(res);
  }

  async #poll(job: Job, endpoint: string, onPoll?: (job: Job) => void): Promise<Job> {
    const started = Date.now();
    let delay = this.#pollMs;
    let current = job;
    while (current.status === 'waiting' || current.status === 'processing') {
      if (Date.now() - started >= this.#jobTimeoutMs) {
        throw new StackError({
          kind: 'timeout',
          endpoint,
          jobId: current.id,
          message: `job ${current.id} (${current.operationName}) started by ${endpoint} on ${this.url} is still ${current.status} after ${Math.round((Date.now() - started) / 1000)} s: retry later, the job may still finish`,
        });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, Math.max(MAX_POLL_MS, this.#pollMs));
      current = await this.getJob(current.id);
      onPoll?.(current);
    }
    if (current.status === 'error') throw this.#jobError(current, endpoint);
    return current;
  }

  #jobError(job: Job, endpoint: string): StackError {
    const error = job.error;
    let code: string | undefined;
    let text: string | undefined;
    if (typeof error === 'string') text = error;
    else if (error) {
      code = error.code !== undefined ? String(error.code) : undefined;
      text = error.message;
    }
    const { kind, retryable } = kindForJobErrorCode(code);
    const advice = retryable ? 'a problem of the stack, retry later' : 'the request or its data must be fixed';
    return new StackError({
      kind,
      retryable,
      endpoint,
      jobId: job.id,
      ...(code !== undefined ? { code } : {}),
      message: this.#redact(
        `job ${job.id} (${job.operationName}) started by ${endpoint} on ${this.url} failed${code ? ` [${code}]` : ''}: ${text ?? 'no error message'}: ${advice}`,
      ),
    });
  }

  async #tableAfterJob(job: Job, fallbackId: string, endpoint: string): Promise<Table> {
    const results = job.results as { id?: unknown } | null | undefined;
    const tableId =
      job.tableId ?? (results && typeof results === 'object' && typeof results.id === 'string' ? results.id : fallbackId);
    const table = await this.getTable(tableId);
    if (!table) {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        jobId: job.id,
        message: `job ${job.id} (${job.operationName}) on ${this.url} succeeded but table ${tableId} does not exist: the stack's API differs from the documented one`,
      });
    }
    return table;
  }

  // ============================================================ internals: files

  async #prepareFile(name: string, options: { sizeBytes?: number; tags?: string[]; isSliced: boolean }): Promise<FileInfo> {
    const res = await this.#call('POST', '/files/prepare', {
      json: compact({
        name,
        sizeBytes: options.sizeBytes,
        tags: options.tags,
        isSliced: options.isSliced,
        federationToken: true,
      }),
    });
    return this.#parse(FileInfoSchema, res);
  }

  async #refreshUploadParams(fileId: number | string): Promise<NonNullable<FileInfo['gcsUploadParams']>> {
    const res = await this.#call('PUT', `/files/${seg(fileId)}/refresh`);
    return this.#requireUploadParams(this.#parse(FileInfoSchema, res));
  }

  #requireUploadParams(file: FileInfo): NonNullable<FileInfo['gcsUploadParams']> {
    if (file.gcsUploadParams) return file.gcsUploadParams;
    throw new StackError({
      kind: 'unexpected-response',
      endpoint: `POST ${STORAGE}/files/prepare`,
      message: `${this.url} prepared file ${file.id} for provider "${file.provider ?? 'unknown'}" without gcsUploadParams: this client uploads only to the GCP file provider (docs/CONTRACTS.md)`,
    });
  }

  /** Everything in `url` before `/{bucket}/{key}` (docs/CONTRACTS.md). */
  #objectStoreBase(url: string, bucket: string, key: string, endpoint: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StackError({
        kind: 'unexpected-response',
        endpoint,
        message: `${this.url} answered ${endpoint} with a file url that is not a URL: the stack's API differs from the documented one`,
      });
    }
    const path = parsed.pathname;
    const candidates = [`/${bucket}/${key}`, `/${bucket}/${encodeKey(key)}`, `/${encodeURIComponent(bucket)}/`, `/${bucket}/`];
    for (const candidate of candidates) {
      const index = path.indexOf(candidate);
      if (index >= 0) return `${parsed.origin}${path.slice(0, index)}`;
    }
    throw new StackError({
      kind: 'unexpected-response',
      endpoint,
      message: `${this.url} answered ${endpoint} with a file url that does not contain its bucket "${bucket}": cannot locate the object store`,
    });
  }

  #resolveSlice(file: FileInfo, sliceUrl: string): { target: string; headers: Record<string, string> } {
    const endpoint = `GET ${STORAGE}/files/${file.id}`;
    if (sliceUrl.startsWith('gs://')) {
      const rest = sliceUrl.slice('gs://'.length);
      const slash = rest.indexOf('/');
      const bucket = slash >= 0 ? rest.slice(0, slash) : rest;
      const key = slash >= 0 ? rest.slice(slash + 1) : '';
      if (!file.gcsPath || !file.gcsCredentials) {
        throw new StackError({
          kind: 'unexpected-response',
          endpoint,
          message: `file ${file.id} on ${this.url} has no gcsPath/gcsCredentials: get it with getFile() (federationToken=1) before reading its slices`,
        });
      }
      const base = this.#objectStoreBase(file.url, file.gcsPath.bucket, file.gcsPath.key, endpoint);
      return {
        target: `${base}/${encodeURIComponent(bucket)}/${encodeKey(key)}`,
        headers: { authorization: `Bearer ${file.gcsCredentials.access_token}` },
      };
    }
    // An https URL: signed (query string) → read as is; unsigned → it is an object store URL needing the Bearer token.
    const parsed = new URL(sliceUrl);
    if (parsed.search === '' && file.gcsCredentials) {
      return { target: sliceUrl, headers: { authorization: `Bearer ${file.gcsCredentials.access_token}` } };
    }
    return { target: sliceUrl, headers: {} };
  }

  async #putObject(
    base: string,
    bucket: string,
    key: string,
    accessToken: string,
    body: Buffer | (() => NodeJS.ReadableStream),
    contentType = 'application/octet-stream',
  ): Promise<void> {
    const target = `${base}/${encodeURIComponent(bucket)}/${encodeKey(key)}`;
    const endpoint = `PUT ${this.#describeObjectUrl(target)}`;
    const source = Buffer.isBuffer(body) ? body : toReadable(body());
    let response;
    const permit = await this.#limiter?.acquire();
    try {
      response = await this.#objects.put(target, {
        body: source,
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': contentType },
        responseType: 'text',
      });
      settlePermit(permit, response.statusCode);
    } catch (error) {
      permit?.release();
      throw this.#transportError(error, endpoint);
    } finally {
      if (source instanceof Readable && !source.destroyed && !source.readableEnded) source.destroy();
    }
    if (response.statusCode >= 400) {
      throw this.#objectStoreHttpError(response.statusCode, response.headers['retry-after'], endpoint);
    }
  }

  /**
   * Object store failures. 401/403 there mean the short-lived file credentials were refused (typically expired):
   * a new attempt prepares the file again and gets fresh ones, so they are retryable, unlike the API's own 401/403.
   */
  #objectStoreHttpError(status: number, retryAfterHeader: string | string[] | undefined, endpoint: string): StackError {
    const retryAfterSeconds = parseRetryAfter(retryAfterHeader);
    const base = { status, endpoint, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
    if (status === 401 || status === 403) {
      return new StackError({
        ...base,
        kind: 'forbidden',
        retryable: true,
        message: `the file storage of ${this.url} refused the file credentials (${endpoint}, HTTP ${status}): they have probably expired, a new attempt gets fresh ones`,
      });
    }
    if (status === 404) {
      return new StackError({
        ...base,
        kind: 'not-found',
        message: `the file storage of ${this.url} has no object at ${endpoint} (HTTP 404): the file has expired or was never fully uploaded`,
      });
    }
    const kind = kindForStatus(status);
    return new StackError({
      ...base,
      kind,
      message: `the file storage of ${this.url} failed on ${endpoint} (HTTP ${status})${kind === 'bad-request' ? ': the request was refused' : ': retry later'}`,
    });
  }

  /** Path of an object store URL, without its query (which holds a signature). */
  #describeObjectUrl(url: string): string {
    try {
      return new URL(url).pathname;
    } catch {
      return '(invalid url)';
    }
  }
}

/** Reports an HTTP answer to the stack's limiter: 429/5xx shrink it, other errors leave it, successes grow it. */
function settlePermit(permit: LimiterPermit | undefined, status: number): void {
  if (!permit) return;
  if (isOverloadStatus(status)) permit.overloaded();
  else if (status < 400) permit.success();
  else permit.release();
}

function configPath(componentId: string): string {
  return `/branch/default/components/${seg(componentId)}/configs`;
}

function keyValue(entry: MetadataInput): MetadataInput {
  return { key: entry.key, value: entry.value };
}

/** Drops undefined fields so that optional inputs are not sent at all. */
function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describeType(value: unknown): string {
  if (value === undefined) return 'an empty body';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

export function createStackClient(options: StackClientOptions): StackClient {
  return new StackClient(options);
}
