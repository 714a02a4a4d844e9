/**
 * `npm run emulator -- --port P --data DIR [--seed FILE] [--file-provider aws|azure|gcp] [--job-delay-ms N] [--fault outage:30s ...]
 *  [--save-debounced] [--s3-credentials per-file|per-stack]`
 * Runs one emulated Keboola stack until SIGINT/SIGTERM; an `aws` or `azure` stack starts its own object-store
 * server (docs/object-stores.md) and prints what a worker needs to reach it, unless the environment names one to
 * share with other stacks: STACK_EMULATOR_S3_ENDPOINT with its root account STACK_EMULATOR_S3_ACCESS_KEY_ID and
 * STACK_EMULATOR_S3_SECRET_ACCESS_KEY (a Versity S3 Gateway), STACK_EMULATOR_AZURE_BLOB_ENDPOINT (an Azurite).
 */
import { Command } from 'commander';
import { parseFaultFlag, type FaultSpec } from './faults';
import { connectAzurite, connectS3 } from '../scripts/object-stores';
import { FILE_PROVIDERS, type FileProviderName, type ObjectStoreServers } from './file-storage';
import { startStack } from './server';

/** The object-store servers the environment names, shared with the other stacks of a run. */
async function sharedObjectStores(env: NodeJS.ProcessEnv): Promise<ObjectStoreServers> {
  const servers: ObjectStoreServers = {};
  if (env.STACK_EMULATOR_S3_ENDPOINT) {
    const accessKeyId = env.STACK_EMULATOR_S3_ACCESS_KEY_ID;
    const secretAccessKey = env.STACK_EMULATOR_S3_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) throw new Error('STACK_EMULATOR_S3_ENDPOINT is set without STACK_EMULATOR_S3_ACCESS_KEY_ID and STACK_EMULATOR_S3_SECRET_ACCESS_KEY: set the gateway\'s root account too');
    servers.aws = await connectS3(env.STACK_EMULATOR_S3_ENDPOINT, { accessKeyId, secretAccessKey });
  }
  if (env.STACK_EMULATOR_AZURE_BLOB_ENDPOINT) servers.azure = connectAzurite(env.STACK_EMULATOR_AZURE_BLOB_ENDPOINT);
  return servers;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('emulator')
    .description('Run an emulated Keboola stack (Storage API, file store, jobs, fault injection)')
    .option('--port <port>', 'port to listen on (0 = random)', '0')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .requiredOption('--data <dir>', 'data directory (state.json, table data, uploaded files)')
    .option('--seed <file>', 'seed JSON (stack + projects); ignored for projects already in the data directory')
    .option('--file-provider <provider>', 'where a new stack keeps its files: aws (S3), azure (Blob Storage) or gcp (default: the seed\'s)')
    .option('--job-delay-ms <ms>', 'simulated duration of storage jobs', '150')
    .option('--export-slice-rows <n>', 'rows per exported slice', '100000')
    .option('--fault <spec...>', 'fault active from start: outage:30s | outage:20r | drop:10r | latency:200ms | rate-limit:5r', [] as string[])
    .option('--save-debounced', 'save changes within 100 ms instead of before each answer (benchmarks: a SIGKILL may then lose acknowledged writes)')
    .option('--s3-credentials <scope>', 'aws: per-file (each file reaches only its objects, as on Keboola) or per-stack (one user for the bucket: benchmarks)', 'per-file')
    .parse(process.argv);
  const o = program.opts<{ port: string; host: string; data: string; seed?: string; fileProvider?: string; jobDelayMs: string; exportSliceRows: string; fault: string[]; saveDebounced?: boolean; s3Credentials: string }>();
  if (o.s3Credentials !== 'per-file' && o.s3Credentials !== 'per-stack') throw new Error(`--s3-credentials "${o.s3Credentials}": use per-file or per-stack`);
  if (o.fileProvider !== undefined && !(FILE_PROVIDERS as readonly string[]).includes(o.fileProvider)) {
    throw new Error(`--file-provider "${o.fileProvider}" is not a Keboola file provider: use one of ${FILE_PROVIDERS.join(', ')}`);
  }
  const faults: FaultSpec[] = o.fault.map(parseFaultFlag);
  const stack = await startStack({
    port: Number(o.port),
    host: o.host,
    dataDir: o.data,
    seed: o.seed,
    jobDelayMs: Number(o.jobDelayMs),
    exportSliceRows: Number(o.exportSliceRows),
    faults,
    fileProvider: o.fileProvider as FileProviderName | undefined,
    objectStores: await sharedObjectStores(process.env),
    saveBeforeAnswer: !o.saveDebounced,
    s3Credentials: o.s3Credentials,
  });
  console.log(`Keboola stack emulator listening on ${stack.url} (files on ${stack.fileProvider})`);
  for (const [name, value] of Object.entries(stack.workerEnv)) console.log(`  worker environment: ${name}=${value}`);
  for (const p of stack.projects()) console.log(`  project ${p.id} "${p.name}": tokens ${p.tokens.join(', ')}`);
  if (faults.length) console.log(`  faults: ${o.fault.join(', ')}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping emulator`);
    stack.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error((e as Error)?.message ?? e);
  process.exit(1);
});
