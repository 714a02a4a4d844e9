/**
 * What the scripts that obtain a Go-built tool share (scripts/temporal-cli.ts, scripts/object-stores.ts): the
 * ignored project folder `.tools/bin`, a look-up on PATH, the Go version, and `go install` into `.tools/bin` with
 * a progress message every 15 s so that a first build's wait is explained.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools', 'bin');

export const exe = (name: string) => (process.platform === 'win32' ? `${name}.exe` : name);

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, exe(name));
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The Go version on PATH (e.g. "go1.26.0"), or undefined when `go` is not installed. */
export function goVersion(): string | undefined {
  const r = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim();
}

export interface GoInstallOptions {
  /** e.g. `github.com/versity/versitygw/cmd/versitygw` */
  module: string;
  /** e.g. `v1.8.0` */
  version: string;
  /** What is built, for the progress messages ("the Temporal CLI"). */
  label: string;
  /** The binary's name in .tools/bin. */
  binary: string;
  log: (msg: string) => void;
}

/** Runs `go install module@version` with GOBIN=.tools/bin; rejects with the last lines of go's output. */
export async function goInstall(options: GoInstallOptions): Promise<string> {
  fs.mkdirSync(TOOLS_BIN, { recursive: true });
  const started = Date.now();
  const { log, label } = options;
  log(`building ${label} with go: go install ${options.module}@${options.version} (GOBIN=${TOOLS_BIN})`);
  log('this takes a few minutes the first time (downloads modules and compiles); later runs reuse the build');
  const tail: string[] = [];
  let downloads = 0;
  await new Promise<void>((resolve, reject) => {
    const child = spawn('go', ['install', `${options.module}@${options.version}`], {
      env: { ...process.env, GOBIN: TOOLS_BIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (line.startsWith('go: downloading')) downloads++;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const ticker = setInterval(() => {
      const secs = Math.round((Date.now() - started) / 1000);
      const phase = downloads ? `${downloads} modules downloaded, compiling` : 'compiling';
      log(`still building ${label}... ${secs}s elapsed (${phase})`);
    }, 15_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go install exited with code ${code}:\n${tail.join('\n')}`));
    });
  });
  const built = path.join(TOOLS_BIN, exe(options.binary));
  log(`built ${built} in ${Math.round((Date.now() - started) / 1000)}s`);
  return built;
}

/**
 * The version of `module` that the Go binary `file` was built from, read from its embedded build information (the
 * line `mod\t{module}\t{version}` that `go version -m` prints); undefined when `file` is not a build of `module`.
 * A local build (`go build` in a checkout) reads `(devel)`.
 */
export async function goBuildVersion(file: string, module: string): Promise<string | undefined> {
  if (!isExecutable(file)) return undefined;
  const marker = Buffer.from(`mod\t${module}\t`);
  let carry = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const window = Buffer.concat([carry, chunk as Buffer]);
    const at = window.indexOf(marker);
    if (at >= 0 && window.indexOf(0x09, at + marker.length) > 0) {
      const from = at + marker.length;
      return window.subarray(from, window.indexOf(0x09, from)).toString('utf8');
    }
    carry = window.subarray(Math.max(0, window.length - marker.length - 64));
  }
  return undefined;
}
