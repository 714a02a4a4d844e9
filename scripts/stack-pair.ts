// Two emulated stacks seeded for a migration: the source stack with the sample project, and the destination
// stack with an empty project, each keeping its files on its provider's object-store server (the seeds: AWS, so
// one S3 gateway for both, as both AWS regions answer one S3 API). Used by `npm run demo`, benchmarks, chaos runs
// and integration tests.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FileProviderName, ObjectStoreServers } from '../emulator/file-storage';
import { startStack, type EmulatedStack } from '../emulator/server';
import type { SeedFile } from '../emulator/seed';
import type { StackRef } from '../workflows/input';
import { startObjectStore } from './object-stores';

export const SEEDS_DIR = path.resolve(__dirname, '..', 'emulator', 'seeds');

export interface StackPair {
  source: EmulatedStack;
  destination: EmulatedStack;
  /** References the workflow carries; the tokens themselves are set in `env` under these names. */
  sourceRef: StackRef;
  destinationRef: StackRef;
  tokens: { source: string; destination: string };
  dataDir: string;
  /** The object-store servers behind the stacks (stopped by close()). */
  objectStores: ObjectStoreServers;
  /** What a worker's environment needs to reach them (also set in the `env` of the options). */
  workerEnv: Record<string, string>;
  close(): Promise<void>;
}

export interface StackPairOptions {
  dataDir?: string;
  jobDelayMs?: number;
  sourceSeed?: SeedFile;
  destinationSeed?: SeedFile;
  sourcePort?: number;
  destinationPort?: number;
  /** Environment that receives the tokens (the worker resolves `env:` references from it). */
  env?: NodeJS.ProcessEnv;
  tokenVariables?: { source: string; destination: string };
  /** Where each stack keeps its files (default: its seed's `stack.fileProvider`). */
  fileProviders?: { source?: FileProviderName; destination?: FileProviderName };
}

export async function readSeed(name: 'source-us' | 'destination-eu'): Promise<SeedFile> {
  return JSON.parse(await fs.readFile(path.join(SEEDS_DIR, `${name}.json`), 'utf8')) as SeedFile;
}

export async function startStackPair(options: StackPairOptions = {}): Promise<StackPair> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'stack-migrate-')));
  const sourceSeed = options.sourceSeed ?? (await readSeed('source-us'));
  const destinationSeed = options.destinationSeed ?? (await readSeed('destination-eu'));
  const providers = {
    source: options.fileProviders?.source ?? sourceSeed.stack.fileProvider ?? 'gcp',
    destination: options.fileProviders?.destination ?? destinationSeed.stack.fileProvider ?? 'gcp',
  };
  const used = new Set(Object.values(providers));
  const objectStores: ObjectStoreServers = {
    ...(used.has('aws') ? { aws: await startObjectStore('aws', { dir: path.join(dataDir, 'object-store', 'aws') }) } : {}),
    ...(used.has('azure') ? { azure: await startObjectStore('azure', { dir: path.join(dataDir, 'object-store', 'azure') }) } : {}),
  };
  const stopObjectStores = () => Promise.all(Object.values(objectStores).map((server) => server.stop()));
  let source: EmulatedStack | undefined;
  let destination: EmulatedStack;
  try {
    const common = { jobDelayMs: options.jobDelayMs, objectStores };
    source = await startStack({ ...common, port: options.sourcePort ?? 0, dataDir: path.join(dataDir, 'source'), seed: sourceSeed, fileProvider: providers.source });
    destination = await startStack({ ...common, port: options.destinationPort ?? 0, dataDir: path.join(dataDir, 'destination'), seed: destinationSeed, fileProvider: providers.destination });
  } catch (error) {
    await source?.close();
    await stopObjectStores();
    throw error;
  }
  const variables = options.tokenVariables ?? { source: 'STACK_MIGRATE_SOURCE_TOKEN', destination: 'STACK_MIGRATE_DESTINATION_TOKEN' };
  const sourceProject = sourceSeed.projects[0];
  const destinationProject = destinationSeed.projects[0];
  const tokens = { source: sourceProject.tokens[0].token, destination: destinationProject.tokens[0].token };
  const env = options.env ?? process.env;
  env[variables.source] = tokens.source;
  env[variables.destination] = tokens.destination;
  const workerEnv = { ...source.workerEnv, ...destination.workerEnv };
  // The AWS SDK of an in-process worker reads its endpoint from process.env, whichever env holds the tokens.
  Object.assign(env, workerEnv);
  Object.assign(process.env, workerEnv);
  return {
    source,
    destination,
    tokens,
    dataDir,
    objectStores,
    workerEnv,
    sourceRef: { url: source.url, projectId: sourceProject.id, tokenRef: `env:${variables.source}`, name: 'us' },
    destinationRef: { url: destination.url, projectId: destinationProject.id, tokenRef: `env:${variables.destination}`, name: 'eu' },
    async close() {
      await Promise.all([source.close(), destination.close()]);
      await stopObjectStores();
    },
  };
}
