/**
 * A stack's GoodData domain through Keboola's provisioning service (`gooddata-provisioning` in the API index,
 * discovered on first use; authenticated with the project's Storage API token). Paths and bodies are GoodData's:
 * projects, `maintenance/export` (cross-data-center, giving a token), `maintenance/import` and task status polling.
 */
import { z } from 'zod';
import { StackError } from '../errors';
import {
  GoodDataExportSchema,
  GoodDataProjectListSchema,
  GoodDataProjectSchema,
  GoodDataTaskStateSchema,
  GoodDataUriSchema,
  type GoodDataTaskState,
} from '../schemas';
import { poll } from '../transport';
import { StackResource } from './resource';

export interface GoodDataProject {
  pid: string;
  title: string;
  summary: string;
  /** PREPARING, ENABLED, ... */
  state: string;
}

export interface WaitOptions {
  onPoll?: () => void;
  /** First delay between two checks (default 200 ms), grown by half up to 2 s. */
  pollMs?: number;
  /** Give up after this long (default: never). */
  timeoutMs?: number;
}

const SERVICE = 'gooddata-provisioning';
const DEFAULT_POLL_MS = 200;

const pidOf = (uri: string) => uri.split('/').filter(Boolean).pop() ?? '';

function toProject(p: z.infer<typeof GoodDataProjectSchema>): GoodDataProject {
  return { pid: pidOf(p.project.links.self), title: p.project.meta.title, summary: p.project.meta.summary ?? '', state: p.project.content.state };
}

export class GoodDataResource extends StackResource {
  /** The GoodData provisioning URL from the API index, or null when the stack has none. */
  async serviceUrl(): Promise<string | null> {
    return this.transport.serviceUrl(SERVICE);
  }

  async listProjects(): Promise<GoodDataProject[]> {
    return (await this.transport.request('GET', '/gdc/projects', GoodDataProjectListSchema, { service: SERVICE })).projects.map(toProject);
  }

  async getProject(pid: string): Promise<GoodDataProject | null> {
    const res = await this.transport.request('GET', `/gdc/projects/${encodeURIComponent(pid)}`, GoodDataProjectSchema, { service: SERVICE, allow404: true });
    return res ? toProject(res) : null;
  }

  async deleteProject(pid: string): Promise<void> {
    await this.transport.send('DELETE', `/gdc/projects/${encodeURIComponent(pid)}`, { service: SERVICE });
  }

  /** Creates a project; answers its ID (it is PREPARING until `waitForProject`). */
  async createProject(title: string, summary = ''): Promise<string> {
    const res = await this.transport.request('POST', '/gdc/projects', GoodDataUriSchema, {
      service: SERVICE,
      json: { project: { meta: { title, summary }, content: { driver: 'Pg', environment: 'PRODUCTION', guidedNavigation: 1 } } },
    });
    return pidOf(res.uri);
  }

  async waitForProject(pid: string, options: WaitOptions = {}): Promise<GoodDataProject> {
    const check = async () => {
      const project = await this.getProject(pid);
      if (!project) throw new StackError({ kind: 'not-found', endpoint: `GET /gdc/projects/${pid}`, message: `GoodData project ${pid} disappeared from the GoodData of ${this.transport.url}` });
      return project;
    };
    return this.#wait(`project ${pid}`, options, check, (project) => project.state === 'ENABLED');
  }

  /** Cross-data-center export of the model and the data; the token imports it into a project of any domain. */
  async exportProject(pid: string): Promise<{ token: string; statusUri: string }> {
    const res = await this.transport.request('POST', `/gdc/md/${encodeURIComponent(pid)}/maintenance/export`, GoodDataExportSchema, {
      service: SERVICE,
      json: { exportProject: { exportUsers: 0, exportData: 1, crossDataCenterExport: 1 } },
    });
    return { token: res.exportArtifact.token, statusUri: res.exportArtifact.status.uri };
  }

  async importProject(pid: string, token: string): Promise<{ statusUri: string }> {
    const res = await this.transport.request('POST', `/gdc/md/${encodeURIComponent(pid)}/maintenance/import`, GoodDataUriSchema, {
      service: SERVICE,
      json: { importProject: { token } },
    });
    return { statusUri: res.uri };
  }

  async taskStatus(statusUri: string): Promise<GoodDataTaskState> {
    return (await this.transport.request('GET', statusUri, GoodDataTaskStateSchema, { service: SERVICE })).taskState;
  }

  /** Polls a task until OK; ERROR fails with a non-retryable StackError (kind job-failed). */
  async waitForTask(statusUri: string, options: WaitOptions = {}): Promise<void> {
    const check = async () => {
      const state = await this.taskStatus(statusUri);
      if (state.status === 'ERROR') {
        throw new StackError({ kind: 'job-failed', endpoint: `GET ${statusUri}`, message: `GoodData task ${statusUri} of ${this.transport.url} failed: ${state.msg ?? 'no message'}` });
      }
      return state;
    };
    await this.#wait(`task ${statusUri}`, options, check, (state) => state.status === 'OK');
  }

  /** Checks at once, then through the client's one polling loop (stack/transport.ts). */
  async #wait<T>(what: string, options: WaitOptions, check: () => Promise<T>, isDone: (value: T) => boolean): Promise<T> {
    const first = await check();
    options.onPoll?.();
    const timeoutMs = options.timeoutMs ?? Number.POSITIVE_INFINITY;
    return poll(first, check, isDone, {
      intervalMs: options.pollMs ?? DEFAULT_POLL_MS,
      timeoutMs,
      onPoll: () => options.onPoll?.(),
      timedOut: () =>
        new StackError({ kind: 'timeout', endpoint: what, message: `GoodData ${what} of ${this.transport.url} did not finish in ${Math.round(timeoutMs / 1000)} s: retry later` }),
    });
  }
}
