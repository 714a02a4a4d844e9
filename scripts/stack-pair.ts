// Two emulated stacks seeded for a migration: the source stack with the sample project, and the destination
// stack with an empty project. Used by `npm run demo`, benchmarks, chaos runs and integration tests.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startStack, type EmulatedStack } from '../emulator/server';
import type { SeedFile } from '../emulator/seed';
import type { StackRef } from '../workflows/input';

export const SEEDS_DIR = path.resolve(__dirname, '..', 'emulator', 'seeds');

export interface StackPair {
  source: EmulatedStack;
  destination: EmulatedStack;
  /** References the workflow carries; the tokens themselves are set in `env` under these names. */
  sourceRef: StackRef;
  destinationRef: StackRef;
  tokens: { source: string; destination: string };
  dataDir: string;
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
}

export async function readSeed(name: 'source-us' | 'destination-eu'): Promise<SeedFile> {
  return JSON.parse(await fs.readFile(path.join(SEEDS_DIR, `${name}.json`), 'utf8')) as SeedFile;
}

export async function startStackPair(options: StackPairOptions = {}): Promise<StackPair> {
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'stack-migrate-')));
  const sourceSeed = options.sourceSeed ?? (await readSeed('source-us'));
  const destinationSeed = options.destinationSeed ?? (await readSeed('destination-eu'));
  const source = await startStack({ port: options.sourcePort ?? 0, dataDir: path.join(dataDir, 'source'), seed: sourceSeed, jobDelayMs: options.jobDelayMs });
  const destination = await startStack({
    port: options.destinationPort ?? 0,
    dataDir: path.join(dataDir, 'destination'),
    seed: destinationSeed,
    jobDelayMs: options.jobDelayMs,
  });
  const variables = options.tokenVariables ?? { source: 'STACK_MIGRATE_SOURCE_TOKEN', destination: 'STACK_MIGRATE_DESTINATION_TOKEN' };
  const sourceProject = sourceSeed.projects[0];
  const destinationProject = destinationSeed.projects[0];
  const tokens = { source: sourceProject.tokens[0].token, destination: destinationProject.tokens[0].token };
  const env = options.env ?? process.env;
  env[variables.source] = tokens.source;
  env[variables.destination] = tokens.destination;
  return {
    source,
    destination,
    tokens,
    dataDir,
    sourceRef: { url: source.url, projectId: sourceProject.id, tokenRef: `env:${variables.source}`, name: 'us' },
    destinationRef: { url: destination.url, projectId: destinationProject.id, tokenRef: `env:${variables.destination}`, name: 'eu' },
    async close() {
      await Promise.all([source.close(), destination.close()]);
    },
  };
}
