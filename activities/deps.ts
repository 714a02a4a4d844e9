import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createStackClient, limiterForStack, type StackClient } from '../stack';
import type { StackRef } from '../workflows/input';
import { snapshotAt, type SnapshotReader } from '../snapshot/reader';
import type { SnapshotStore } from '../snapshot/store';
import { openSnapshotStore } from '../snapshot/stores';
import type { MigrationMetrics } from './metrics';

/** What activities need from the worker; tests and the worker build it with `createActivityDeps`. */
export interface ActivityDeps {
  /** A client of the stack for a project, with its token resolved from the reference. */
  stackClient(ref: StackRef): Promise<StackClient>;
  /** The secret behind a token reference (`env:NAME`, `file:/path`), resolved on the worker, never elsewhere. */
  resolveToken(ref: string): Promise<string>;
  /**
   * Where snapshots are written: a folder, or an object-store prefix (`s3://`, `azure://`, `gs://`) shared by every
   * worker of the task queue, on any machine.
   */
  snapshotRoot: SnapshotStore;
  /** The reader (and writer) of one snapshot, by the location a payload carries. */
  snapshot(location: string): SnapshotReader;
  /** How long a create whose answer was lost may still land (activities/created-once.ts); 90 s by default. */
  lateWriteGraceMs?: number;
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

/** Clients kept for the next activity of the same project; one unused this long is dropped (and its services read again). */
const CLIENT_IDLE_MS = 10 * 60_000;
const MAX_CLIENTS = 32;

/**
 * The stack clients of the worker's activities, one per stack and token: every table of a group, and every
 * activity after it, shares one client, its discovered services and its object-store clients (a client per call
 * built an S3 client per table and read the API index again in each activity). A token that changed (a token
 * file rewritten) gets a client of its own; the key holds a hash of the token, not the token.
 */
class StackClients {
  readonly #entries = new Map<string, { client: StackClient; usedAt: number }>();

  get(url: string, token: string, create: () => StackClient): StackClient {
    const now = Date.now();
    for (const [key, entry] of this.#entries) if (now - entry.usedAt > CLIENT_IDLE_MS) this.#entries.delete(key);
    const key = `${url}\n${createHash('sha256').update(token).digest('base64')}`;
    const client = this.#entries.get(key)?.client ?? create();
    this.#entries.delete(key); // re-inserted last: the map's order is least recently used first
    this.#entries.set(key, { client, usedAt: now });
    if (this.#entries.size > MAX_CLIENTS) this.#entries.delete(this.#entries.keys().next().value as string);
    return client;
  }
}

export function createActivityDeps(options: { snapshotRoot: string; env?: NodeJS.ProcessEnv }): ActivityDeps {
  const env = options.env ?? process.env;
  const clients = new StackClients();
  const absolute = (location: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : path.resolve(location));
  const graceSeconds = Number(env.STACK_MIGRATE_LATE_WRITE_GRACE_SECONDS);
  return {
    ...(graceSeconds >= 0 && env.STACK_MIGRATE_LATE_WRITE_GRACE_SECONDS ? { lateWriteGraceMs: graceSeconds * 1000 } : {}),
    snapshotRoot: openSnapshotStore(absolute(options.snapshotRoot), env),
    snapshot: (location) => snapshotAt(openSnapshotStore(absolute(location), env)),
    resolveToken: (ref) => resolveTokenRef(ref, env),
    async stackClient(ref) {
      const token = await resolveTokenRef(ref.tokenRef, env);
      // One adaptive limit per stack for the whole worker process: every activity's requests share it.
      return clients.get(ref.url, token, () => createStackClient({ url: ref.url, token, limiter: limiterForStack(ref.url) }));
    },
  };
}
