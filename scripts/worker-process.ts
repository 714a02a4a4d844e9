/**
 * How the worker runs as a process, as `npm run worker` and the Docker image run it, for the scripts and tests
 * that start one (the bench, scripts/durability-tools.ts): compiled by tsc into dist/ and run by plain Node.
 * - Without tsx, an idle worker takes about 29 MB less: tsx's loader thread and its transformed sources
 *   (BENCHMARKS.md, "Issue 13: memory").
 * - `--max-semi-space-size=4` caps the main thread's young generation at 8 MB of new space. V8's default (32 MB)
 *   stayed committed while 4–11 MB of it was alive (BENCHMARKS.md, "Issue 13: the young generations"); 16 MB
 *   (a cap of 8) stayed committed too, and halving it cost no CPU measured ("configurations beside the tables").
 *   The flag only works at process start; worker/main.ts sizes the workflow thread's at run time.
 * - `MALLOC_ARENA_MAX=2` gives the worker's threads (the Temporal core's, Node's, the workflow thread) two malloc
 *   arenas to share instead of one each: glibc keeps what a thread freed in that thread's arena. At huge1k the
 *   peak RSS was 244 against 260 MB, with no more CPU than the machine's drift between the runs.
 * test/infra/compose.test.ts checks that package.json and the Dockerfile run the same command.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './go-tools';

const WORKER_FLAGS = ['--max-semi-space-size=4'];
const WORKER_ENTRY = 'dist/worker/main.js';

/** The environment a worker runs with, beside its own settings (read by glibc at process start). */
export const WORKER_ENV = { MALLOC_ARENA_MAX: '2' } as const;

/** WORKER_ENV as a shell command's prefix: `MALLOC_ARENA_MAX=2`. */
export const workerEnvPrefix = (): string => Object.entries(WORKER_ENV).map(([name, value]) => `${name}=${value}`).join(' ');

/** Node's arguments for a worker, relative to the project folder. */
export const WORKER_NODE_ARGS = [...WORKER_FLAGS, WORKER_ENTRY];

/** The same, with the entry point as an absolute path (for a process whose current folder is elsewhere). */
export const workerNodeArgs = (): string[] => [...WORKER_FLAGS, path.join(PROJECT_ROOT, WORKER_ENTRY)];

let compiled = false;

/**
 * Compiles the worker's sources into dist/ (tsconfig.build.json), once per process: a test or a bench never runs
 * an older build than the sources. tsc is incremental: about 5 s when nothing changed.
 */
export function compileWorker(): void {
  if (compiled) return;
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(PROJECT_ROOT, 'tsconfig.build.json')], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`compiling the worker (tsc -p tsconfig.build.json) failed:\n${tsc.stdout}${tsc.stderr}`);
  compiled = true;
}
