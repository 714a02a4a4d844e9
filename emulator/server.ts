/**
 * A local Keboola stack (Keboola's Storage API blueprint): the Storage API, file storage on each provider's object
 * store (S3, Azure Blob or the emulator's own GCS-shaped store: emulator/file-storage, docs/object-stores.md), asynchronous jobs, the legacy Orchestrator, Encryption, GoodData, Notification and Scheduler services,
 * durable state on disk and fault injection. Each API area is one module registering its routes on the host
 * (emulator/host.ts); `mountApiAreas` lists them all. Where a route lives:
 * - `/v2/storage/{area}/...` → emulator/storage/{area}.ts (also under `/v2/storage/branch/{branchId}/`); table
 *   aliases and column metadata are in tables.ts, configurations and rows in components.ts, dev-branches in
 *   branches.ts, `GET /v2/storage` in api-index.ts;
 * - `/_services/{service}/...` → emulator/services/{service}.ts (`gooddata-provisioning` → gooddata.ts);
 * - `/_gcs/...` → emulator/file-storage/gcs.ts (a `gcp` stack's objects); `/_emulator/...` → emulator/admin.ts, or the area it tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { registerAdmin } from './admin';
import type { FaultSpec } from './faults';
import { openFileStorage, type FileProviderName, type ObjectStoreServers, type S3CredentialScope } from './file-storage';
import { StackHost } from './host';
import { resumeJobs } from './jobs';
import { createProject } from './projects';
import { loadSeed, type SeedFile } from './seed';
import { registerEncryption } from './services/encryption';
import { registerGoodData } from './services/gooddata';
import { registerNotification } from './services/notification';
import { registerOrchestrator } from './services/orchestrator';
import { registerScheduler } from './services/scheduler';
import { newState, StateStore, type StackState } from './state';
import { registerApiIndex } from './storage/api-index';
import { registerBranches } from './storage/branches';
import { registerBuckets } from './storage/buckets';
import { registerComponents } from './storage/components';
import { registerFiles } from './storage/files';
import { registerJobs } from './storage/jobs';
import { registerTables } from './storage/tables';
import { registerTokens } from './storage/tokens';
import { registerTriggers } from './storage/triggers';
import { registerWorkspaces } from './storage/workspaces';

export interface StartStackOptions {
  /** 0 or undefined = a random free port */
  port?: number;
  host?: string;
  dataDir: string;
  seed?: SeedFile | string;
  /** simulated job duration (default 150 ms) */
  jobDelayMs?: number;
  /** rows per exported slice (default 100000) */
  exportSliceRows?: number;
  /** faults active from the start (same as POST /_emulator/faults) */
  faults?: FaultSpec[];
  /** where a new stack keeps its files (default: the seed's `stack.fileProvider`, else `gcp`); a saved stack keeps its own */
  fileProvider?: FileProviderName;
  /** object-store servers to keep the files on (a stack on `aws` or `azure` without one starts its own) */
  objectStores?: ObjectStoreServers;
  /** false: changes are saved on a short debounce, not before each answer (StackHost.saveBeforeAnswer); default true */
  saveBeforeAnswer?: boolean;
  /**
   * `aws` stacks: `per-file` (default) gives each file credentials that reach only its own objects, as Keboola's
   * federation tokens do; `per-stack` one set for the whole bucket (see S3FileStorage), for benchmarks.
   */
  s3Credentials?: S3CredentialScope;
}

export interface EmulatedProjectInfo {
  id: number;
  name: string;
  tokens: string[];
}

export interface EmulatedStack {
  url: string;
  fileProvider: FileProviderName;
  /** What a worker's environment needs to reach the stack's file storage (`AWS_ENDPOINT_URL_S3` of an S3 server). */
  workerEnv: Record<string, string>;
  close(): Promise<void>;
  /** the projects of this stack and their tokens (for CLIs and tests) */
  projects(): EmulatedProjectInfo[];
}

function mountApiAreas(host: StackHost): void {
  registerAdmin(host);
  // Storage API
  registerApiIndex(host);
  registerTokens(host);
  registerBranches(host);
  registerBuckets(host);
  registerTables(host);
  registerJobs(host);
  registerFiles(host);
  registerComponents(host);
  registerTriggers(host);
  registerWorkspaces(host);
  // services
  registerOrchestrator(host);
  registerEncryption(host);
  registerGoodData(host);
  registerNotification(host);
  registerScheduler(host);
}

/** Starts one emulated stack. Several can run in one process (e.g. a source and a destination). */
export async function startStack(options: StartStackOptions): Promise<EmulatedStack> {
  const seed = options.seed !== undefined ? loadSeed(options.seed) : undefined;
  const saved = StateStore.load(options.dataDir);
  let state: StackState;
  let fresh = false;
  if (saved) state = saved;
  else {
    if (!seed) throw new Error(`no state in ${options.dataDir} and no seed given: the emulator needs a seed to create a stack`);
    state = newState({ ...seed.stack, fileProvider: options.fileProvider ?? seed.stack.fileProvider ?? 'gcp' });
    fresh = true;
  }
  const provider = state.stack.fileProvider ?? 'gcp';
  if (options.fileProvider && options.fileProvider !== provider) {
    throw new Error(`the stack in ${options.dataDir} keeps its files on "${provider}", not "${options.fileProvider}": start it with file provider "${provider}", or give a new data folder`);
  }
  const stack = new StackHost(options.dataDir, state, options.jobDelayMs ?? 150, Math.max(1, options.exportSliceRows ?? 100000), options.saveBeforeAnswer ?? true);
  mountApiAreas(stack);
  stack.fileStorage = await openFileStorage(stack, provider, options.objectStores, options.s3Credentials);
  for (const f of options.faults ?? []) stack.faults.add(f);

  const sockets = new Set<Socket>();
  const server: Server = createServer(stack.app);
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  stack.url = `http://${host}:${port}`;

  if (fresh && seed) {
    try {
      for (const p of seed.projects) await createProject(stack, p);
    } catch (e) {
      server.close();
      await stack.fileStorage.close();
      throw e;
    }
    stack.store.markDirty();
    await stack.store.flush();
  } else if (seed) {
    // saved state wins; projects of the seed that are not in the state yet are added
    for (const p of seed.projects) if (!stack.project(p.id)) await createProject(stack, p);
  }
  resumeJobs(stack);

  let closed: Promise<void> | null = null;
  return {
    url: stack.url,
    fileProvider: provider,
    workerEnv: stack.fileStorage.workerEnv,
    projects: () => stack.state.projects.map((p) => ({ id: p.id, name: p.name, tokens: p.tokens.map((t) => t.token) })),
    close: () =>
      (closed ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await stack.shutdown();
        await done;
        await stack.fileStorage.close();
      })()),
  };
}
