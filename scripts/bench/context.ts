import type { Client } from '@temporalio/client';

/** What every size runs against: Temporal, the two emulated stacks, the working folder. */
export interface BenchContext {
  client: Client;
  address: string;
  codecKey: string;
  dataDir: string;
  sourceUrl: string;
  destinationUrl: string;
  /** The first of the project IDs this size may use on the stacks (each project takes three: source, destination, raw copy). */
  projectBase: number;
  verify: 'checksum' | 'rows';
  /** The emulators' storage job duration while this size runs. */
  jobDelayMs: number;
  /** The parts every size shares (the two stacks, the Temporal server, the object store): their pids, by name. */
  sharedProcesses: Record<string, number>;
}
