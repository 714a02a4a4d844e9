/**
 * Obtains and starts the real object-store servers behind emulated stacks of each Keboola file provider
 * (docs/object-stores.md): the Versity S3 Gateway (AWS), Azurite (Azure Blob) and fake-gcs-server (GCP).
 *
 * Each binary is found, in this order:
 *   1. its environment variable (VERSITYGW_PATH, FAKE_GCS_SERVER_PATH, AZURITE_BLOB_PATH): used as given
 *   2. PATH, when it is the pinned version
 *   3. the cached build in the ignored folder .tools/bin (Go tools) or node_modules/.bin (Azurite, an npm dependency)
 *   4. `go install module@version` into .tools/bin (Go tools; Azurite comes with `npm install`)
 *
 * Usage: `tsx scripts/object-stores.ts --ensure` (obtain if needed, print `name path` per server)
 *        `tsx scripts/object-stores.ts --print`  (print the paths of existing binaries, never build)
 * Progress goes to stderr, so stdout carries only the paths.
 *
 * From tests (and the emulator): `const s3 = await startObjectStore('aws', { dir }); ...; await s3.stop();`
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CreateBucketCommand, DeleteBucketPolicyCommand, GetBucketPolicyCommand, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { PROJECT_ROOT, TOOLS_BIN, exe, findOnPath, goBuildVersion, goInstall, goVersion, isExecutable } from './go-tools';

export type ObjectStoreKind = 'aws' | 'azure' | 'gcp';

interface GoServer {
  label: string;
  binary: string;
  /** The module whose version the build information names. */
  module: string;
  /** What `go install` builds. */
  installPath: string;
  version: string;
  envVar: string;
}

const GO_SERVERS: Record<'aws' | 'gcp', GoServer> = {
  aws: {
    label: 'the Versity S3 Gateway',
    binary: 'versitygw',
    module: 'github.com/versity/versitygw',
    installPath: 'github.com/versity/versitygw/cmd/versitygw',
    version: 'v1.8.0',
    envVar: 'VERSITYGW_PATH',
  },
  gcp: {
    label: 'fake-gcs-server',
    binary: 'fake-gcs-server',
    module: 'github.com/fsouza/fake-gcs-server',
    installPath: 'github.com/fsouza/fake-gcs-server',
    version: 'v1.56.1',
    envVar: 'FAKE_GCS_SERVER_PATH',
  },
};
const AZURITE_ENV_VAR = 'AZURITE_BLOB_PATH';

/** Azurite's well-known development account (published by Microsoft; Azurite accepts nothing else by default). */
const AZURITE_ACCOUNT = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;
const S3_REGION = 'us-east-1';
/** What a per-file user of the S3 gateway may do on its objects: write (multipart included) and read. */
const FILE_USER_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

export interface ResolveOptions {
  /** Build with `go install` when no binary is found (default true). */
  build?: boolean;
  /** Progress messages (default: stderr). */
  log?: (msg: string) => void;
}

const defaultLog = (msg: string) => process.stderr.write(`[object-stores] ${msg}\n`);

// ============================================================ obtaining the binaries

/** The path of the server binary of `kind`, obtained if needed; a clear error when nothing works. */
export async function resolveObjectStoreServer(kind: ObjectStoreKind, options: ResolveOptions = {}): Promise<string> {
  return kind === 'azure' ? resolveAzurite() : resolveGoServer(GO_SERVERS[kind], options);
}

async function resolveGoServer(server: GoServer, options: ResolveOptions): Promise<string> {
  const build = options.build ?? true;
  const log = options.log ?? defaultLog;
  const details: string[] = [];

  const fromEnv = process.env[server.envVar];
  if (fromEnv) {
    const version = await goBuildVersion(fromEnv, server.module);
    if (version === undefined) throw new Error(`${server.envVar}=${fromEnv} is not an executable build of ${server.module}`);
    if (version !== server.version) log(`${server.envVar}=${fromEnv} is ${server.module}@${version}, not the pinned ${server.version}: using it as asked`);
    return path.resolve(fromEnv);
  }

  const onPath = findOnPath(server.binary);
  const pathVersion = onPath ? await goBuildVersion(onPath, server.module) : undefined;
  if (onPath && pathVersion === server.version) return onPath;
  details.push(onPath ? `${onPath} on PATH is ${pathVersion ? `version ${pathVersion}` : `not a build of ${server.module}`}` : `\`${server.binary}\` is not on PATH`);

  const cached = path.join(TOOLS_BIN, exe(server.binary));
  const cachedVersion = await goBuildVersion(cached, server.module);
  if (cachedVersion === server.version) return cached;
  details.push(cachedVersion ? `the cached build ${path.relative(PROJECT_ROOT, cached)} is version ${cachedVersion}` : `no cached build at ${path.relative(PROJECT_ROOT, cached)}`);

  if (!build) {
    details.push('building was not requested (run `npx tsx scripts/object-stores.ts --ensure`)');
    throw new Error(goServerNotFound(server, details));
  }
  const gover = goVersion();
  if (!gover) {
    details.push('`go` is not installed');
    throw new Error(goServerNotFound(server, details));
  }
  try {
    await goInstall({ module: server.installPath, version: server.version, label: server.label, binary: server.binary, log });
  } catch (err) {
    details.push(`go install with ${gover} failed: ${(err as Error).message.split('\n').slice(-6).join(' | ')}`);
    throw new Error(goServerNotFound(server, details));
  }
  if ((await goBuildVersion(cached, server.module)) === server.version) return cached;
  details.push(`go install finished but ${cached} is not a build of ${server.module}@${server.version}`);
  throw new Error(goServerNotFound(server, details));
}

function goServerNotFound(server: GoServer, details: string[]): string {
  return [
    `${server.label} (${server.binary}) not found and could not be obtained.`,
    ...details.map((d) => `  - ${d}`),
    'Fix one of:',
    `  - install Go (https://go.dev/dl/) and run \`npx tsx scripts/object-stores.ts --ensure\` (builds ${server.installPath}@${server.version} into .tools/bin), or`,
    `  - set ${server.envVar} to an existing \`${server.binary}\` binary, or`,
    `  - put \`${server.binary}\` ${server.version} on PATH.`,
  ].join('\n');
}

/** Azurite is an npm dependency: node_modules/.bin/azurite-blob after `npm install`. */
function resolveAzurite(): string {
  const candidates = [process.env[AZURITE_ENV_VAR], path.join(PROJECT_ROOT, 'node_modules', '.bin', 'azurite-blob'), findOnPath('azurite-blob')];
  for (const candidate of candidates) {
    if (!candidate || !isExecutable(candidate)) continue;
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0 && /^\d+\.\d+\.\d+/.test(r.stdout.trim())) return candidate;
  }
  throw new Error(
    [
      'Azurite (azurite-blob) not found.',
      `  - ${AZURITE_ENV_VAR} is ${process.env[AZURITE_ENV_VAR] ? `set to ${process.env[AZURITE_ENV_VAR]}, which does not answer --version` : 'not set'}`,
      '  - node_modules/.bin/azurite-blob is missing: run `npm install` (azurite is a dependency in package.json)',
    ].join('\n'),
  );
}

// ============================================================ running a server

export interface StartOptions {
  /** Where the server keeps its objects (created if missing). */
  dir: string;
  /** Listen port on 127.0.0.1 (default: a free one). */
  port?: number;
  /** Building a missing binary and other progress (default: stderr). */
  log?: (msg: string) => void;
}

interface RunningServer {
  kind: ObjectStoreKind;
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  dir: string;
  /** Creates a bucket (Azure: a container). */
  createBucket(name: string): Promise<void>;
  /** Stops the server (SIGTERM, SIGKILL after 5 s); its objects stay in `dir`. */
  stop(): Promise<void>;
}

export interface S3Server extends RunningServer {
  kind: 'aws';
  region: string;
  /** The gateway's root account: creates buckets and users; an emulated stack never hands it out. */
  rootCredentials: { accessKeyId: string; secretAccessKey: string };
  /** What a worker needs to reach this server through the AWS SDK's own endpoint setting. */
  env: { AWS_ENDPOINT_URL_S3: string };
  /**
   * A user that may write and read only the objects `bucket/keyPrefix*`: the temporary per-file credentials of an
   * emulated stack (answered with an empty SessionToken: the gateway refuses every session token, docs/object-stores.md).
   */
  createFileUser(bucket: string, keyPrefix: string): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  /** Revokes a user of createFileUser (when its credentials expire). */
  deleteFileUser(bucket: string, accessKeyId: string): Promise<void>;
}

export interface AzureServer extends RunningServer {
  kind: 'azure';
  accountName: string;
  accountKey: string;
  /** The account's blob endpoint, `http://127.0.0.1:PORT/devstoreaccount1`: the BlobEndpoint of its connection strings. */
  accountUrl: string;
  /** A container SAS connection string, as `absCredentials.SASConnectionString` of a file answer (default: rwl, one hour). */
  sasConnectionString(container: string, options?: { expiresOn?: Date; permissions?: string }): string;
}

export interface GcsServer extends RunningServer {
  kind: 'gcp';
  /** What a worker needs to reach this server (docs/CONTRACTS.md, GCP file transfer). */
  env: { STORAGE_EMULATOR_HOST: string };
}

export type ObjectStoreServer = S3Server | AzureServer | GcsServer;

/** Starts the real object-store server of `kind` on 127.0.0.1 and resolves once it answers. */
export function startObjectStore(kind: 'aws', options: StartOptions): Promise<S3Server>;
export function startObjectStore(kind: 'azure', options: StartOptions): Promise<AzureServer>;
export function startObjectStore(kind: 'gcp', options: StartOptions): Promise<GcsServer>;
export function startObjectStore(kind: ObjectStoreKind, options: StartOptions): Promise<ObjectStoreServer>;
export async function startObjectStore(kind: ObjectStoreKind, options: StartOptions): Promise<ObjectStoreServer> {
  const binary = await resolveObjectStoreServer(kind, { log: options.log });
  fs.mkdirSync(options.dir, { recursive: true });
  if (kind === 'aws') return startS3(binary, options);
  if (kind === 'azure') return startAzurite(binary, options);
  return startGcs(binary, options);
}

async function startS3(binary: string, options: StartOptions): Promise<S3Server> {
  const root = { accessKeyId: `root${randomBytes(6).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
  const data = path.join(options.dir, 'data');
  const iam = path.join(options.dir, 'iam');
  const meta = path.join(options.dir, 'meta');
  for (const dir of [data, iam, meta]) fs.mkdirSync(dir, { recursive: true });
  const { endpoint, stop } = await runServer(options, 'versitygw', (port) => ({
    command: binary,
    // --iam-dir: the gateway's internal IAM, which holds the per-file users of createFileUser. --sidecar: object and
    // bucket metadata in files, not extended attributes, whose 4 KiB limit on ext4 a bucket policy with a statement
    // per file user outgrows after 14 users (the gateway then answers InternalError).
    args: ['--access', root.accessKeyId, '--secret', root.secretAccessKey, '--port', `127.0.0.1:${port}`, '--region', S3_REGION, '--iam-dir', iam, '--quiet', 'posix', '--sidecar', meta, data],
    ready: async (url) => (await answers(`${url}/`)) !== undefined,
  }));
  return s3ServerAt(binary, endpoint, root, options.dir, stop);
}

/**
 * An S3 gateway that another process started (an emulator given the gateway of a test or benchmark run):
 * its endpoint and root account; stop() leaves it running.
 */
export async function connectS3(endpoint: string, rootCredentials: { accessKeyId: string; secretAccessKey: string }): Promise<S3Server> {
  const binary = await resolveObjectStoreServer('aws');
  return s3ServerAt(binary, endpoint, rootCredentials, '', async () => undefined);
}

function s3ServerAt(binary: string, endpoint: string, root: { accessKeyId: string; secretAccessKey: string }, dir: string, stop: () => Promise<void>): S3Server {
  const s3 = new S3Client({ endpoint, region: S3_REGION, forcePathStyle: true, credentials: root, maxAttempts: 1 });
  const admin = (command: string, ...args: string[]) => runAdmin(binary, endpoint, root, command, args);
  // Bucket policies are read, changed and written back: one change at a time.
  let policyChanges: Promise<unknown> = Promise.resolve();
  const changePolicy = (bucket: string, change: (statements: PolicyStatement[]) => PolicyStatement[]) => {
    const next = policyChanges.then(async () => {
      const statements = change(await readPolicy(s3, bucket));
      // The gateway refuses a policy without statements: the last one revoked deletes the policy.
      if (statements.length === 0) await s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
      else await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
    });
    policyChanges = next.catch(() => undefined);
    return next;
  };
  return {
    kind: 'aws',
    endpoint,
    dir,
    region: S3_REGION,
    rootCredentials: root,
    env: { AWS_ENDPOINT_URL_S3: endpoint },
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    async createFileUser(bucket, keyPrefix) {
      const user = { accessKeyId: `file${randomBytes(8).toString('hex')}`, secretAccessKey: randomBytes(24).toString('base64url') };
      await admin('create-user', '--access', user.accessKeyId, '--secret', user.secretAccessKey, '--role', 'user');
      await changePolicy(bucket, (statements) => [
        ...statements,
        { Sid: user.accessKeyId, Effect: 'Allow', Principal: { AWS: [user.accessKeyId] }, Action: FILE_USER_ACTIONS, Resource: [`arn:aws:s3:::${bucket}/${keyPrefix}*`] },
      ]);
      return user;
    },
    async deleteFileUser(bucket, accessKeyId) {
      await changePolicy(bucket, (statements) => statements.filter((s) => s.Sid !== accessKeyId));
      await admin('delete-user', '--access', accessKeyId);
    },
    async stop() {
      s3.destroy();
      await stop();
    },
  };
}

interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string[] };
  Action: string[];
  Resource: string[];
}

async function readPolicy(s3: S3Client, bucket: string): Promise<PolicyStatement[]> {
  try {
    const { Policy } = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }));
    return (JSON.parse(Policy ?? '{}') as { Statement?: PolicyStatement[] }).Statement ?? [];
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchBucketPolicy') return [];
    throw error;
  }
}

/** Runs `versitygw admin {command} ...` against the gateway at `endpoint` as its root account. */
async function runAdmin(binary: string, endpoint: string, root: { accessKeyId: string; secretAccessKey: string }, command: string, args: string[]): Promise<void> {
  const argv = ['admin', '--access', root.accessKeyId, '--secret', root.secretAccessKey, '--endpoint-url', endpoint, command, ...args];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`versitygw admin ${command} failed (exit ${code}): ${output.trim()}`))));
  });
}

async function startAzurite(binary: string, options: StartOptions): Promise<AzureServer> {
  const { endpoint, stop } = await runServer(options, 'azurite-blob', (port) => ({
    command: binary,
    // --skipApiVersionCheck: the SDK speaks a newer API version than Azurite knows; --loose: it ignores the
    // headers it does not implement; --disableTelemetry: it would otherwise report to Microsoft.
    args: ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', options.dir, '--skipApiVersionCheck', '--loose', '--disableTelemetry', '--silent'],
    ready: async (url) => (await answers(`${url}/${AZURITE_ACCOUNT.name}?comp=list`)) !== undefined,
  }));
  return azuriteAt(endpoint, options.dir, stop);
}

/** An Azurite that another process started (its endpoint, `http://127.0.0.1:PORT`); stop() leaves it running. */
export function connectAzurite(endpoint: string): AzureServer {
  return azuriteAt(endpoint, '', async () => undefined);
}

function azuriteAt(endpoint: string, dir: string, stop: () => Promise<void>): AzureServer {
  const accountUrl = `${endpoint}/${AZURITE_ACCOUNT.name}`;
  const key = new StorageSharedKeyCredential(AZURITE_ACCOUNT.name, AZURITE_ACCOUNT.key);
  const service = new BlobServiceClient(accountUrl, key);
  return {
    kind: 'azure',
    endpoint,
    dir,
    accountName: AZURITE_ACCOUNT.name,
    accountKey: AZURITE_ACCOUNT.key,
    accountUrl,
    async createBucket(name) {
      await service.getContainerClient(name).create();
    },
    sasConnectionString(container, sas = {}) {
      const query = generateBlobSASQueryParameters(
        {
          containerName: container,
          permissions: ContainerSASPermissions.parse(sas.permissions ?? 'racwl'),
          startsOn: new Date(Date.now() - 5 * 60_000),
          expiresOn: sas.expiresOn ?? new Date(Date.now() + 3600_000),
        },
        key,
      ).toString();
      return `BlobEndpoint=${accountUrl};SharedAccessSignature=${query}`;
    },
    stop,
  };
}

async function startGcs(binary: string, options: StartOptions): Promise<GcsServer> {
  const { endpoint, stop } = await runServer(options, 'fake-gcs-server', (port) => ({
    command: binary,
    // -public-host: answers `GET /{bucket}/{key}` (the signed `url` of a file answer) on this address too.
    args: ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-public-host', `127.0.0.1:${port}`, '-backend', 'filesystem', '-filesystem-root', options.dir, '-log-level', 'warn'],
    ready: async (url) => (await answers(`${url}/_internal/healthcheck`)) === 200,
  }));
  return {
    kind: 'gcp',
    endpoint,
    dir: options.dir,
    env: { STORAGE_EMULATOR_HOST: endpoint },
    async createBucket(name) {
      const response = await fetch(`${endpoint}/storage/v1/b?project=stack-migrate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      if (!response.ok) throw new Error(`fake-gcs-server did not create bucket ${name}: HTTP ${response.status} ${await response.text()}`);
    },
    stop,
  };
}

// ============================================================ processes

interface ServerCommand {
  command: string;
  args: string[];
  /** True once the server at `url` serves requests. */
  ready: (url: string) => Promise<boolean>;
}

const READY_TIMEOUT_MS = 60_000;
/** Servers of this process: killed when it exits, so that a crashed test run leaves none behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a server on a free port (another one when the port was taken meanwhile) and waits until it answers. */
async function runServer(options: StartOptions, name: string, command: (port: number) => ServerCommand): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await runOnPort(name, port, command(port));
    } catch (error) {
      if (attempt >= attempts || !(error as Error).message.includes('exited')) throw error;
    }
  }
}

async function runOnPort(name: string, port: number, server: ServerCommand): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(server.command, server.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter((line) => line.trim()));
    tail.splice(0, Math.max(0, tail.length - 30));
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      exit = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
    child.once('error', (error) => {
      exit = error.message;
      resolve();
    });
  });
  const stop = async () => {
    if (exit !== undefined) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const started = Date.now();
  while (!(await server.ready(endpoint))) {
    if (exit !== undefined) throw new Error(`${name} exited (${exit}) before it answered on ${endpoint}:\n${tail.join('\n')}`);
    if (Date.now() - started > READY_TIMEOUT_MS) {
      await stop();
      throw new Error(`${name} did not answer on ${endpoint} within ${READY_TIMEOUT_MS / 1000} s:\n${tail.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { endpoint, stop };
}

/** The HTTP status `url` answers with, or undefined when nothing answers yet. */
async function answers(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

// ============================================================ command line

async function main(argv: string[]): Promise<void> {
  const ensure = argv.includes('--ensure');
  if (!ensure && !argv.includes('--print')) {
    process.stderr.write('usage: tsx scripts/object-stores.ts --ensure | --print\n');
    process.exit(2);
  }
  const names: Record<ObjectStoreKind, string> = { aws: 'versitygw', azure: 'azurite-blob', gcp: 'fake-gcs-server' };
  let failed = false;
  for (const kind of ['aws', 'azure', 'gcp'] as const) {
    try {
      process.stdout.write(`${names[kind]} ${await resolveObjectStoreServer(kind, { build: ensure })}\n`);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      failed = true;
    }
  }
  if (failed) process.exit(1);
}

if (require.main === module) {
  void main(process.argv.slice(2));
}
