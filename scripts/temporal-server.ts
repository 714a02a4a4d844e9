/**
 * The local Temporal server: `temporal server start-dev` with a persistent SQLite file and our search attributes.
 *
 *   npm run temporal                       # gRPC localhost:7233, UI http://localhost:8233, db .data/temporal.sqlite
 *   npm run temporal -- --port 7300 --ui-port 8300 --db /tmp/t.sqlite --headless
 *
 * `startDevServer()` runs the same binary as a child process on free ports, for `npm run demo`, chaos scripts and
 * tests that restart the server on the same db file.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { Command } from 'commander';
import { PROJECT_ROOT } from './go-tools';
import { SDK_DOWNLOAD, resolveTemporalCli } from './temporal-cli';

/** Our custom search attributes (docs/architecture.md#search-attributes-and-memo), all Keyword. */
export const SEARCH_ATTRIBUTE_NAMES = ['MigrationStep', 'MigrationPhase', 'SourceStack', 'DestinationStack', 'SourceProjectId'] as const;
export const DEFAULT_DB_FILE = path.join(PROJECT_ROOT, '.data', 'temporal.sqlite');
export const DEFAULT_NAMESPACE = 'default';

export interface DevServerArgs {
  dbFile?: string;
  port: number;
  uiPort?: number;
  headless?: boolean;
  ip?: string;
  namespace?: string;
  logLevel?: string;
}

/** Arguments of `temporal server start-dev` (flag syntax checked against CLI v1.5.1 `--help`). */
export function devServerArgs(opts: DevServerArgs): string[] {
  const args = ['server', 'start-dev', '--ip', opts.ip ?? '127.0.0.1', '--port', String(opts.port)];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (opts.headless) args.push('--headless');
  else if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  if (namespace !== DEFAULT_NAMESPACE) args.push('--namespace', namespace); // "default" always exists
  for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
  args.push('--log-level', opts.logLevel ?? 'warn');
  return args;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

/** Waits until the frontend answers `describeNamespace` (the namespace exists and the server serves requests). */
export async function waitForServer(
  address: string,
  opts: { namespace?: string; timeoutMs?: number; exited?: () => string | undefined } = {}
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    const exited = opts.exited?.();
    if (exited) throw new Error(exited);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      const conn = connection;
      // a short per-call deadline: a half-started server must not hang the loop
      await conn.withDeadline(Date.now() + 3_000, () =>
        conn.workflowService.describeNamespace({ namespace: opts.namespace ?? DEFAULT_NAMESPACE })
      );
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Temporal server at ${address} did not become ready: ${(lastError as Error | undefined)?.message}`);
}

export interface StartDevServerOptions {
  /** SQLite file; default: a fresh file in a temp folder (removed by stop()), so restart() keeps state. */
  dbFile?: string;
  /** gRPC port; default: a free port. */
  port?: number;
  /** UI port; default: a free port (ignored when headless). */
  uiPort?: number;
  /** No Web UI. Default false. */
  headless?: boolean;
  namespace?: string;
  /** Server output ('inherit' shows it; default: kept in memory, shown in errors). */
  stdio?: 'inherit' | 'pipe';
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface DevServer {
  /** host:port of the gRPC frontend */
  address: string;
  namespace: string;
  /** http URL of the Web UI, undefined when headless */
  uiUrl?: string;
  dbFile: string;
  stop(): Promise<void>;
  /** Stops the process and starts it again on the same ports and db file. */
  restart(): Promise<void>;
}

export async function startDevServer(options: StartDevServerOptions = {}): Promise<DevServer> {
  const cli = await resolveTemporalCli({ build: true, log: options.log });
  if (cli === SDK_DOWNLOAD) {
    throw new Error('startDevServer needs a Temporal CLI binary on disk; set TEMPORAL_CLI_PATH or install Go');
  }
  const host = '127.0.0.1';
  const headless = options.headless ?? false;
  let port = options.port ?? (await freePort(host));
  let uiPort = headless ? undefined : (options.uiPort ?? (await freePort(host)));
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  let tempDir: string | undefined;
  let dbFile = options.dbFile;
  if (!dbFile) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-dev-'));
    dbFile = path.join(tempDir, 'temporal.sqlite');
  }
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  let address = `${host}:${port}`;
  let args = devServerArgs({ dbFile, port, uiPort, headless, namespace, ip: host });

  let child: ChildProcess | undefined;
  let output = '';
  let exitInfo: string | undefined;

  const launch = async () => {
    output = '';
    exitInfo = undefined;
    const proc = spawn(cli, args, { stdio: ['ignore', options.stdio ?? 'pipe', options.stdio ?? 'pipe'] });
    child = proc;
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.on('exit', (code, signal) => {
      exitInfo = `temporal server exited early (code ${code}, signal ${signal})\n${output}`;
    });
    try {
      await waitForServer(address, { namespace, timeoutMs: options.readyTimeoutMs ?? 60_000, exited: () => exitInfo });
    } catch (err) {
      await kill();
      throw new Error(`${(err as Error).message}\ncommand: ${cli} ${args.join(' ')}\n${output}`);
    }
  };

  const kill = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  // A free port found is not reserved: another process (a parallel test file) may bind it first. Ports we chose
  // ourselves are chosen again then; ports the caller gave are not.
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      const taken = /address already in use/.test((error as Error).message);
      if (!taken || attempt === 3 || (options.port !== undefined && (headless || options.uiPort !== undefined))) throw error;
      if (options.port === undefined) port = await freePort(host);
      if (!headless && options.uiPort === undefined) uiPort = await freePort(host);
      address = `${host}:${port}`;
      args = devServerArgs({ dbFile, port, uiPort, headless, namespace, ip: host });
    }
  }
  return {
    address,
    namespace,
    uiUrl: uiPort ? `http://${host}:${uiPort}` : undefined,
    dbFile,
    async stop() {
      await kill();
      if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      await launch();
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('npm run temporal --')
    .description('Temporal dev server with persistent SQLite state and the stack-migrate search attributes')
    .option('--port <port>', 'gRPC frontend port', (v) => Number(v), 7233)
    .option('--ui-port <port>', 'Web UI port', (v) => Number(v), 8233)
    .option('--db <file>', 'SQLite file (state survives restarts)', DEFAULT_DB_FILE)
    .option('--ip <ip>', 'address to bind', '127.0.0.1')
    .option('--namespace <name>', 'namespace', DEFAULT_NAMESPACE)
    .option('--headless', 'no Web UI', false)
    .option('--log-level <level>', 'server log level', 'warn');
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ port: number; uiPort: number; db: string; ip: string; namespace: string; headless: boolean; logLevel: string }>();

  if (await portInUse(o.port, o.ip)) {
    process.stderr.write(`port ${o.port} is already in use: is a Temporal server already running? (use --port to pick another)\n`);
    process.exit(1);
  }
  const cli = await resolveTemporalCli({ build: true });
  if (cli === SDK_DOWNLOAD) throw new Error('need a Temporal CLI binary on disk; set TEMPORAL_CLI_PATH or install Go');
  const dbFile = path.resolve(o.db);
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const args = devServerArgs({ ...o, dbFile, uiPort: o.uiPort });
  process.stderr.write(
    `[temporal] ${cli} ${args.join(' ')}\n` +
      `[temporal] gRPC ${o.ip}:${o.port}, namespace ${o.namespace}, db ${dbFile}` +
      (o.headless ? '\n' : `, UI http://localhost:${o.uiPort}\n`)
  );
  const child = spawn(cli, args, { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal);
    });
  }
  child.on('error', (err) => {
    process.stderr.write(`[temporal] could not start ${cli}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
