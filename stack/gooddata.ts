/**
 * Client of a stack's GoodData domain through Keboola's provisioning service (`gooddata-provisioning` in the API
 * index; authenticated with the project's Storage API token). Paths and bodies are GoodData's: projects,
 * `maintenance/export` (cross-data-center, giving a token), `maintenance/import` and task status polling.
 */
import { z } from 'zod';
import type { StackClient } from './client';
import { StackError } from './errors';
import { GoodDataExportSchema, GoodDataProjectListSchema, GoodDataProjectSchema, GoodDataTaskStateSchema, GoodDataUriSchema } from './schemas';
import { serviceUrl } from './services';

export const GOODDATA_SERVICE = 'gooddata-provisioning';

export interface GoodDataProject {
  pid: string;
  title: string;
  summary: string;
  /** PREPARING, ENABLED, ... */
  state: string;
}

export interface WaitOptions {
  onPoll?: () => void;
  pollMs?: number;
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pidOf = (uri: string) => uri.split('/').filter(Boolean).pop() ?? '';

function toProject(p: z.infer<typeof GoodDataProjectSchema>): GoodDataProject {
  return { pid: pidOf(p.project.links.self), title: p.project.meta.title, summary: p.project.meta.summary ?? '', state: p.project.content.state };
}

export class GoodDataApi {
  private constructor(
    readonly client: StackClient,
    readonly url: string,
  ) {}

  static async of(client: StackClient): Promise<GoodDataApi> {
    return new GoodDataApi(client, await serviceUrl(client, GOODDATA_SERVICE));
  }

  async listProjects(): Promise<GoodDataProject[]> {
    const res = await this.client.request('GET', '/gdc/projects', GoodDataProjectListSchema, { serviceUrl: this.url });
    return res!.projects.map(toProject);
  }

  async getProject(pid: string): Promise<GoodDataProject | null> {
    const res = await this.client.request('GET', `/gdc/projects/${encodeURIComponent(pid)}`, GoodDataProjectSchema, { serviceUrl: this.url, allow404: true });
    return res ? toProject(res) : null;
  }

  /** Creates a project; answers its ID (it is PREPARING until `waitForProject`). */
  async createProject(title: string, summary = ''): Promise<string> {
    const res = await this.client.request('POST', '/gdc/projects', GoodDataUriSchema, {
      serviceUrl: this.url,
      json: { project: { meta: { title, summary }, content: { driver: 'Pg', environment: 'PRODUCTION', guidedNavigation: 1 } } },
    });
    return pidOf(res!.uri);
  }

  async waitForProject(pid: string, options: WaitOptions = {}): Promise<GoodDataProject> {
    return this.#wait(`project ${pid}`, options, async () => {
      const project = await this.getProject(pid);
      if (!project) throw new StackError({ kind: 'not-found', endpoint: `GET /gdc/projects/${pid}`, message: `GoodData project ${pid} disappeared from ${this.url}` });
      return project.state === 'ENABLED' ? project : undefined;
    });
  }

  /** Cross-data-center export of the model and the data; the token imports it into a project of any domain. */
  async exportProject(pid: string): Promise<{ token: string; statusUri: string }> {
    const res = await this.client.request('POST', `/gdc/md/${encodeURIComponent(pid)}/maintenance/export`, GoodDataExportSchema, {
      serviceUrl: this.url,
      json: { exportProject: { exportUsers: 0, exportData: 1, crossDataCenterExport: 1 } },
    });
    return { token: res!.exportArtifact.token, statusUri: res!.exportArtifact.status.uri };
  }

  async importProject(pid: string, token: string): Promise<{ statusUri: string }> {
    const res = await this.client.request('POST', `/gdc/md/${encodeURIComponent(pid)}/maintenance/import`, GoodDataUriSchema, {
      serviceUrl: this.url,
      json: { importProject: { token } },
    });
    return { statusUri: res!.uri };
  }

  async taskStatus(statusUri: string): Promise<{ status: 'RUNNING' | 'OK' | 'ERROR'; msg?: string }> {
    const res = await this.client.request('GET', statusUri, GoodDataTaskStateSchema, { serviceUrl: this.url });
    return res!.taskState;
  }

  /** Polls a task until OK; ERROR fails with a non-retryable StackError (kind job-failed). */
  async waitForTask(statusUri: string, options: WaitOptions = {}): Promise<void> {
    await this.#wait(`task ${statusUri}`, options, async () => {
      const state = await this.taskStatus(statusUri);
      if (state.status === 'ERROR') {
        throw new StackError({ kind: 'job-failed', endpoint: `GET ${statusUri}`, message: `GoodData task ${statusUri} on ${this.url} failed: ${state.msg ?? 'no message'}` });
      }
      return state.status === 'OK' ? true : undefined;
    });
  }

  async #wait<T>(what: string, options: WaitOptions, check: () => Promise<T | undefined>): Promise<T> {
    const started = Date.now();
    let delay = options.pollMs ?? 200;
    for (;;) {
      const done = await check();
      options.onPoll?.();
      if (done !== undefined) return done;
      if (options.timeoutMs !== undefined && Date.now() - started > options.timeoutMs) {
        throw new StackError({ kind: 'timeout', endpoint: what, message: `GoodData ${what} on ${this.url} did not finish in ${Math.round(options.timeoutMs / 1000)} s: retry later` });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}
