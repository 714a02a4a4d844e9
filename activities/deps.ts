import { promises as fs } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { createStackClient, limiterForStack, type StackClient } from '../stack';
import type { StackRef } from '../workflows/input';
import type { MigrationMetrics } from './metrics';

/** What activities need from the worker; tests and the worker build it with `createActivityDeps`. */
export interface ActivityDeps {
  /** A client of the stack for a project, with its token resolved from the reference. */
  stackClient(ref: StackRef): Promise<StackClient>;
  /** The secret behind a token reference (`env:NAME`, `file:/path`), resolved on the worker, never elsewhere. */
  resolveToken(ref: string): Promise<string>;
  /** Folder under which snapshots are written (shared by every worker that runs this task queue). */
  snapshotRoot: string;
  /** Counters for the worker's /metrics endpoint; optional (tests omit it). */
  metrics?: MigrationMetrics;
}

/**
 * Resolves a token reference (`env:NAME` or `file:/path`) on the worker, so the token itself never enters
 * workflow history.
 */
async function resolveTokenRef(ref: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name]?.trim();
    if (!value) {
      throw ApplicationFailure.nonRetryable(
        `the token reference ${ref} names the environment variable ${name}, which is not set on the worker: set it and restart the worker`,
        'InvalidToken',
      );
    }
    return value;
  }
  if (ref.startsWith('file:')) {
    const file = ref.slice(5);
    const value = (await fs.readFile(file, 'utf8').catch(() => {
      throw ApplicationFailure.nonRetryable(`the token file ${file} cannot be read on the worker: create it or fix the reference`, 'InvalidToken');
    })).trim();
    if (!value) throw ApplicationFailure.nonRetryable(`the token file ${file} is empty`, 'InvalidToken');
    return value;
  }
  throw ApplicationFailure.nonRetryable(`unknown token reference "${ref}": use env:NAME or file:/path`, 'InvalidToken');
}

export function createActivityDeps(options: { snapshotRoot: string; env?: NodeJS.ProcessEnv }): ActivityDeps {
  const env = options.env ?? process.env;
  return {
    snapshotRoot: options.snapshotRoot,
    resolveToken: (ref) => resolveTokenRef(ref, env),
    async stackClient(ref) {
      // One adaptive limit per stack for the whole worker process: every activity's requests share it.
      return createStackClient({ url: ref.url, token: await resolveTokenRef(ref.tokenRef, env), limiter: limiterForStack(ref.url) });
    },
  };
}
