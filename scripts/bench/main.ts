// `npm run bench -- [--sizes small,medium,large,1gb,huge1k,huge,latency,many]`: migrates synthetic projects of
// several sizes between two emulated stacks and prints, per size, wall time, MB/s, entities/s, the worker's peak
// RSS, history events, the Temporal overhead per entity and the time of a raw copy of the same data (export →
// stream → sliced upload → import with the stack client, no Temporal) measured in the same run. `latency` runs
// with 2 s storage jobs and sets its wall time beside what the job latency alone explains; `many` migrates ten
// projects at once on one worker.
//
// Every part runs in its own process, so the worker's RSS is its own: the Temporal dev server, two emulators
// (`emulator/main.ts`) and, per size, a fresh worker (`worker/main.ts`) whose VmHWM is read from /proc.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { createDataConverter } from '../../temporal/payload-codec';
import { startDevServer, type DevServer } from '../temporal-server';
import { startObjectStore, type S3Server } from '../object-stores';
import { readSeed } from '../stack-pair';
import type { BenchContext } from './context';
import { setJobDelay, startEmulator } from './emulators';
import { benchMany, type ManyResult } from './many';
import { benchSize, type Result } from './measure';
import { cpuLine, latencyLine, manyTable, phasesLine, requestTable, table } from './print';
import { childPidsRunning, children, log, stop } from './processes';
import { SIZES, type Size } from './sizes';
import { compileWorker, WORKER_NODE_ARGS, workerEnvPrefix } from '../worker-process';

/** Project IDs per size on the stacks: three per project (source, destination, raw copy). */
const PROJECT_IDS_PER_SIZE = 100;

const positiveInteger = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} "${value}": a whole number, 1 or more`);
  return n;
};

function parseOptions() {
  const opts = new Command('npm run bench --')
    .option('--sizes <list>', `comma-separated: ${Object.keys(SIZES).join(', ')}`, 'small,medium,large')
    .option('--data <dir>', 'working folder (deleted first)', '.data/bench')
    .option('--job-delay-ms <ms>', 'simulated storage job duration of the emulators (a size may set its own)', '50')
    .option('--keep', 'leave the processes and data for inspection (Ctrl-C to stop)')
    .option('--verify <mode>', 'verification of the migrations: checksum (default) or rows', 'checksum')
    .option('--tables <n>', 'tables per project instead of the sizes\' (a quick check of a size)', positiveInteger('--tables'))
    .option('--projects <n>', 'projects migrated at once instead of the sizes\' (only sizes of several projects)', positiveInteger('--projects'))
    .parse()
    .opts<{ sizes: string; data: string; jobDelayMs: string; keep?: boolean; verify: string; tables?: number; projects?: number }>();
  if (opts.verify !== 'checksum' && opts.verify !== 'rows') throw new Error(`--verify "${opts.verify}": use checksum or rows`);
  const sizes = opts.sizes.split(',').map((s): Size => {
    const size = SIZES[s.trim()];
    if (!size) throw new Error(`unknown size "${s}": use ${Object.keys(SIZES).join(', ')}`);
    return { ...size, ...(opts.tables ? { tables: opts.tables } : {}), ...(size.projects && opts.projects ? { projects: opts.projects } : {}) };
  });
  for (const size of sizes) {
    if ((size.projects ?? 1) * 3 > PROJECT_IDS_PER_SIZE) throw new Error(`${size.name}: at most ${Math.floor(PROJECT_IDS_PER_SIZE / 3)} projects`);
  }
  return { ...opts, verify: opts.verify as 'checksum' | 'rows', sizes, jobDelayMs: Number(opts.jobDelayMs) };
}

async function main() {
  const opts = parseOptions();
  const dataDir = path.resolve(opts.data);
  await fs.rm(dataDir, { recursive: true, force: true });
  await fs.mkdir(dataDir, { recursive: true });
  log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}`);
  log(`verification: ${opts.verify}`);
  compileWorker();
  log(`worker: ${workerEnvPrefix()} node ${WORKER_NODE_ARGS.join(' ')} (compiled by tsc -p tsconfig.build.json)`);

  let server: DevServer | undefined;
  let s3: S3Server | undefined;
  try {
    server = await startDevServer({ dbFile: path.join(dataDir, 'temporal.sqlite'), headless: true, log });
    log(`Temporal dev server ${server.address}`);
    // The seeds' route: both stacks keep their files on S3, one gateway for both (as one S3 API serves both AWS
    // regions); the emulators share it and the worker reaches it through the AWS SDK's own endpoint setting.
    s3 = await startObjectStore('aws', { dir: path.join(dataDir, 's3'), log });
    Object.assign(process.env, {
      STACK_EMULATOR_S3_ENDPOINT: s3.endpoint,
      STACK_EMULATOR_S3_ACCESS_KEY_ID: s3.rootCredentials.accessKeyId,
      STACK_EMULATOR_S3_SECRET_ACCESS_KEY: s3.rootCredentials.secretAccessKey,
      ...s3.env,
    });
    log(`S3 (Versity S3 Gateway) ${s3.endpoint}`);
    const seeds = { source: await readSeed('source-us'), destination: await readSeed('destination-eu') };
    for (const side of ['source', 'destination'] as const) {
      await fs.writeFile(path.join(dataDir, `${side}-seed.json`), JSON.stringify({ stack: seeds[side].stack, projects: [] }));
    }
    const [source, destination] = await Promise.all([
      startEmulator('source', path.join(dataDir, 'source'), path.join(dataDir, 'source-seed.json'), opts.jobDelayMs),
      startEmulator('destination', path.join(dataDir, 'destination'), path.join(dataDir, 'destination-seed.json'), opts.jobDelayMs),
    ]);
    const stacks = [source.url, destination.url];
    const foundPids: Record<string, number | undefined> = {
      'source stack': source.process.pid,
      'destination stack': destination.process.pid,
      'Temporal server': childPidsRunning('temporal')[0],
      'object store': childPidsRunning('versitygw')[0],
    };
    for (const [name, pid] of Object.entries(foundPids)) if (pid === undefined) log(`no ${name} process found: its CPU is not measured`);
    const sharedProcesses = Object.fromEntries(Object.entries(foundPids).filter((entry): entry is [string, number] => entry[1] !== undefined));
    const codecKey = randomBytes(32).toString('base64');
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: await createDataConverter({ STACK_MIGRATE_CODEC_KEY: codecKey }) });
    const results: Result[] = [];
    const recorded: Array<Result | ManyResult> = [];
    for (const [n, size] of opts.sizes.entries()) {
      const jobDelayMs = size.jobDelayMs ?? opts.jobDelayMs;
      const ctx: BenchContext = {
        client,
        address: server.address,
        codecKey,
        dataDir,
        sourceUrl: source.url,
        destinationUrl: destination.url,
        projectBase: 1000 + n * PROJECT_IDS_PER_SIZE,
        verify: opts.verify,
        jobDelayMs,
        sharedProcesses,
      };
      if (jobDelayMs !== opts.jobDelayMs) {
        log(`${size.name}: storage jobs of ${jobDelayMs} ms on both stacks`);
        await setJobDelay(stacks, jobDelayMs);
      }
      try {
        if (size.projects) {
          const result = await benchMany(ctx, size);
          recorded.push(result);
          console.log(`\n${manyTable(result)}`);
          console.log(cpuLine(result, os.cpus().length));
        } else {
          const result = await benchSize(ctx, size);
          results.push(result);
          recorded.push(result);
          console.log(`\n${table(results)}\n`);
          console.log(phasesLine(result));
          console.log(cpuLine(result, os.cpus().length));
          if (size.jobDelayMs !== undefined) console.log(latencyLine(result));
          console.log(requestTable(result));
        }
      } finally {
        if (jobDelayMs !== opts.jobDelayMs) await setJobDelay(stacks, opts.jobDelayMs);
      }
      await fs.writeFile(path.join(dataDir, 'results.json'), JSON.stringify(recorded, null, 2));
      await fs.rm(path.join(dataDir, 'snapshots'), { recursive: true, force: true });
    }
    await connection.close();
    if (opts.keep) await new Promise(() => undefined);
  } finally {
    for (const child of children) await stop(child);
    await server?.stop();
    await s3?.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    for (const child of children) child.kill('SIGTERM');
    process.exit(1);
  },
);
