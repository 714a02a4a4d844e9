// The two emulated stacks, through the emulator's admin API (docs/CONTRACTS.md): projects, the job delay, the
// counts of served requests.
import type { ChildProcess } from 'node:child_process';
import { log, spawnTs, waitForLine } from './processes';

export async function startEmulator(name: string, dataDir: string, seedFile: string, jobDelayMs: number): Promise<{ url: string; process: ChildProcess }> {
  // What the emulator's own bookkeeping costs per write (a whole-state save before each answer, a policy statement
  // per file on the S3 gateway) grows with the project and would be measured instead of the migration: the bench's
  // stacks, never killed, save on a debounce and give one set of S3 credentials for the bucket.
  const args = ['--data', dataDir, '--seed', seedFile, '--job-delay-ms', String(jobDelayMs), '--export-slice-rows', '100000', '--save-debounced', '--s3-credentials', 'per-stack'];
  const child = spawnTs('emulator/main.ts', args, process.env, `${dataDir}.log`);
  const m = await waitForLine(child, /listening on (http:\/\/[^\s]+) \(files on (\w+)\)/);
  log(`${name} stack ${m[1]} (pid ${child.pid}, files on ${m[2]})`);
  return { url: m[1], process: child };
}

export async function createProject(url: string, seed: unknown): Promise<void> {
  const res = await fetch(`${url}/_emulator/projects`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(seed) });
  if (res.status !== 201) throw new Error(`creating a project on ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
}

/** Sets the simulated storage job duration of each stack from now on. */
export async function setJobDelay(urls: string[], ms: number): Promise<void> {
  for (const url of urls) {
    const res = await fetch(`${url}/_emulator/job-delay`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ms }) });
    if (res.status !== 200) throw new Error(`setting the job delay of ${url}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`);
  }
}

/** Served requests of both emulators, by `METHOD route-template` (GET /_emulator/requests). */
export async function servedRequests(urls: string[]): Promise<Record<string, number>> {
  const total: Record<string, number> = {};
  for (const url of urls) {
    const counts = (await (await fetch(`${url}/_emulator/requests`)).json()) as Record<string, number>;
    for (const [key, n] of Object.entries(counts)) total[key] = (total[key] ?? 0) + n;
  }
  return total;
}

/** (after − before) / tables, per route, leaving out what did not change. */
export function perTable(before: Record<string, number>, after: Record<string, number>, tables: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([key, n]): [string, number] => [key, (n - (before[key] ?? 0)) / tables])
      .filter(([, n]) => n > 0)
      .sort(([, a], [, b]) => b - a),
  );
}

// The routes that answer with a storage job whatever their parameters: each request is one job. Counting
// `GET jobs/{jobId}` instead would count polls, several per job depending on the client's backoff. PUT and DELETE
// of a table and DELETE of a bucket make a job only with `?async`, which the counts do not tell apart; a
// migration sends those only when it cleans up.
const JOB_ROUTES = [
  'POST /v2/storage/buckets/{bucketId}/tables-async',
  'POST /v2/storage/buckets/{bucketId}/tables-definition',
  'POST /v2/storage/tables/{tableId}/import-async',
  'POST /v2/storage/tables/{tableId}/export-async',
  'POST /v2/storage/tables/{tableId}/primary-key',
  'DELETE /v2/storage/tables/{tableId}/primary-key',
];

/** Storage jobs per table, from requests per table (`perTable`). */
export function storageJobsPerTable(requestsPerTable: Record<string, number>): number {
  return JOB_ROUTES.reduce((sum, route) => sum + (requestsPerTable[route] ?? 0), 0);
}
