/**
 * Finds (or obtains) the Temporal CLI binary that runs the dev server (docs/architecture.md#getting-the-temporal-cli).
 *
 * Order:
 *   1. $TEMPORAL_CLI_PATH
 *   2. `temporal` on PATH
 *   3. the cached build .tools/bin/temporal (ignored folder)
 *   4. `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into .tools/bin (GOBIN)
 *   5. the SDK's own download (works only on machines that reach temporal.download)
 *
 * Usage: `tsx scripts/temporal-cli.ts --ensure` (obtain if needed, print the path)
 *        `tsx scripts/temporal-cli.ts --print`  (print the path of an existing binary, never build)
 * Progress goes to stderr, so stdout carries only the path.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT, TOOLS_BIN, exe, findOnPath, goInstall, goVersion } from './go-tools';

export const SDK_DOWNLOAD_DIR = path.join(PROJECT_ROOT, '.tools', 'sdk-download');
export const CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const CLI_VERSION = 'v1.5.1';
/** cli v1.5.1's go.mod says `go 1.25.0`; an older go with GOTOOLCHAIN=auto fetches that toolchain itself. */
export const MIN_GO = '1.25';

/**
 * Returned when no binary is on disk but the SDK's own download works: the caller leaves
 * `executable` undefined so that `TestWorkflowEnvironment.createLocal()` downloads (its default).
 * Only returned when the downloaded file could not be located after a successful probe.
 */
export const SDK_DOWNLOAD = 'sdk-download';

export interface ResolveOptions {
  /** Build with `go install` / probe the SDK download when no binary is found (default true). */
  build?: boolean;
  /** Progress messages (default: stderr). */
  log?: (msg: string) => void;
}

const defaultLog = (msg: string) => process.stderr.write(`[temporal-cli] ${msg}\n`);

/** True when `file` is an executable that answers `--version` like the Temporal CLI. */
function isTemporalCli(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return false;
  }
  const r = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && /temporal version/i.test(`${r.stdout}${r.stderr}`);
}

/** Lets the SDK download its dev server into .tools/sdk-download; returns the file, the sentinel, or throws. */
async function sdkDownload(log: (msg: string) => void): Promise<string> {
  log('trying the SDK download of the Temporal CLI (needs access to temporal.download)');
  fs.mkdirSync(SDK_DOWNLOAD_DIR, { recursive: true });
  // Dev dependency: loaded only on this path so production code never needs it.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: SDK_DOWNLOAD_DIR } },
  });
  await env.teardown();
  const files = fs
    .readdirSync(SDK_DOWNLOAD_DIR)
    .map((n) => path.join(SDK_DOWNLOAD_DIR, n))
    .filter((f) => fs.statSync(f).isFile() && isTemporalCli(f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return files[0] ?? SDK_DOWNLOAD;
}

export function notFoundMessage(details: string[]): string {
  return [
    'Temporal CLI not found and could not be obtained.',
    ...details.map((d) => `  - ${d}`),
    'Fix one of:',
    `  - install Go >= ${MIN_GO} (https://go.dev/dl/) and run \`npm run pretest\` (builds ${CLI_MODULE}@${CLI_VERSION} into .tools/bin), or`,
    '  - set TEMPORAL_CLI_PATH to an existing `temporal` binary (https://docs.temporal.io/cli), or',
    '  - put `temporal` on PATH.',
  ].join('\n');
}

export async function resolveTemporalCli(options: ResolveOptions = {}): Promise<string> {
  const build = options.build ?? true;
  const log = options.log ?? defaultLog;
  const details: string[] = [];

  // 1. explicit path
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (isTemporalCli(fromEnv)) return path.resolve(fromEnv);
    // An explicit setting that does not work is an error, not something to silently skip.
    throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable Temporal CLI (\`${fromEnv} --version\` failed)`);
  }

  // 2. PATH
  const onPath = findOnPath('temporal');
  if (onPath && isTemporalCli(onPath)) return onPath;
  details.push(onPath ? `${onPath} on PATH is not the Temporal CLI` : '`temporal` is not on PATH');

  // 3. cached build
  const cached = path.join(TOOLS_BIN, exe('temporal'));
  if (isTemporalCli(cached)) return cached;
  details.push(`no cached build at ${path.relative(PROJECT_ROOT, cached)}`);

  if (!build) {
    details.push('building was not requested (run `npx tsx scripts/temporal-cli.ts --ensure`)');
    throw new Error(notFoundMessage(details));
  }

  // 4. go install
  const gover = goVersion();
  if (gover) {
    try {
      await goInstall({ module: CLI_MODULE, version: CLI_VERSION, label: 'the Temporal CLI', binary: 'temporal', log });
      if (isTemporalCli(cached)) return cached;
      details.push(`go install finished but ${cached} does not run`);
    } catch (err) {
      details.push(`go install with ${gover} failed: ${(err as Error).message.split('\n').slice(-6).join(' | ')}`);
      log(`go install failed: ${(err as Error).message}`);
    }
  } else {
    details.push('`go` is not installed');
  }

  // 5. the SDK's own download
  try {
    return await sdkDownload(log);
  } catch (err) {
    details.push(`the SDK download failed: ${(err as Error).message.split('\n')[0]}`);
  }
  throw new Error(notFoundMessage(details));
}

async function main(argv: string[]): Promise<void> {
  const ensure = argv.includes('--ensure');
  const print = argv.includes('--print');
  if (!ensure && !print) {
    process.stderr.write('usage: tsx scripts/temporal-cli.ts --ensure | --print\n');
    process.exit(2);
  }
  try {
    const found = await resolveTemporalCli({ build: ensure });
    process.stdout.write(`${found}${os.EOL}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2));
}
