/**
 * The GoodData domain of an emulated stack, behind Keboola's provisioning service
 * (`{stackUrl}/_services/gooddata-provisioning`, authenticated with a Storage API token of a project of the stack;
 * a project sees only the GoodData projects it owns). Paths and bodies follow GoodData's API:
 * - `GET|POST /gdc/projects`, `GET /gdc/projects/{pid}` (a new project is PREPARING, then ENABLED);
 * - `POST /gdc/md/{pid}/maintenance/export` `{exportProject: {exportUsers, exportData, crossDataCenterExport}}` →
 *   `{exportArtifact: {token, status: {uri}}}`; the token is usable by any stack's domain (cross-data-center);
 * - `POST /gdc/md/{pid}/maintenance/import` `{importProject: {token}}` → `{uri}` of a task that copies the model and
 *   the data into the (empty) project;
 * - `GET /gdc/md/{pid}/tasks/{taskId}/status` → `{taskState: {status: RUNNING|OK|ERROR, msg}}`.
 * Tasks finish after the stack's job delay; their state is computed when read, so they survive a restart.
 * Test-only: `GET /_emulator/gooddata/projects/{pid}` → the project with its model and data.
 */
import { randomBytes } from 'node:crypto';
import type { RequestContext, StackHost } from '../host';
import { str } from '../params';
import { ApiError, reply } from '../replies';

export interface GoodDataProjectRecord {
  pid: string;
  title: string;
  summary: string;
  ownerProjectId: number;
  created: string;
  readyAt: number;
  model: { datasets: Array<Record<string, unknown> & { id: string; title: string }> };
  data: Record<string, string[][]>;
}

export interface GoodDataTaskRecord {
  id: string;
  pid: string;
  kind: 'export' | 'import';
  readyAt: number;
  status: 'RUNNING' | 'OK' | 'ERROR';
  msg?: string;
  /** import: what is copied into the project when the task finishes */
  artifact?: { model: GoodDataProjectRecord['model']; data: GoodDataProjectRecord['data'] };
}

export interface GoodDataExportRecord {
  id: string;
  pid: string;
  taskId: string;
  model: GoodDataProjectRecord['model'];
  data: GoodDataProjectRecord['data'];
}

declare module '../state' {
  interface StackState {
    gooddata?: { projects: GoodDataProjectRecord[]; tasks: GoodDataTaskRecord[]; exports: GoodDataExportRecord[] };
  }
}

const GOODDATA_SERVICE = 'gooddata-provisioning';
const BASE = `/_services/${GOODDATA_SERVICE}`;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '');
const gdError = (status: number, message: string) => new ApiError(status, 'gooddata.error', message);

export function registerGoodData(host: StackHost): void {
  host.serviceIds.push(GOODDATA_SERVICE);
  const domain = () =>
    (host.state.gooddata ??= {
      projects: (host.state.stack.gooddata?.projects ?? []).map((p) => ({
        pid: p.pid,
        title: p.title,
        summary: '',
        ownerProjectId: p.ownerProjectId,
        created: new Date().toISOString(),
        readyAt: 0,
        model: structuredClone(p.model) as GoodDataProjectRecord['model'],
        data: structuredClone(p.data ?? {}),
      })),
      tasks: [],
      exports: [],
    });
  domain();
  const delay = () => Math.max(50, host.jobDelayMs);
  const newId = () => randomBytes(8).toString('hex');
  const owner = (ctx: RequestContext) => {
    const found = host.tokenOwner(str(ctx.req.headers['x-storageapi-token']));
    if (!found) throw gdError(401, 'Invalid or missing Storage API token');
    return found.project;
  };
  const project = (ctx: RequestContext, pid: string | undefined) => {
    const projectId = owner(ctx).id;
    const p = domain().projects.find((x) => x.pid === pid && x.ownerProjectId === projectId);
    if (!p) throw gdError(404, `Project "${pid}" not found`);
    return p;
  };
  const state = (p: GoodDataProjectRecord) => (Date.now() >= p.readyAt ? 'ENABLED' : 'PREPARING');
  const projectJson = (p: GoodDataProjectRecord) => ({
    project: {
      meta: { title: p.title, summary: p.summary, created: p.created, updated: p.created },
      content: { state: state(p), environment: 'PRODUCTION', driver: 'Pg', guidedNavigation: '1' },
      links: { self: `/gdc/projects/${p.pid}`, metadata: `/gdc/md/${p.pid}` },
    },
  });
  const settle = (t: GoodDataTaskRecord) => {
    if (t.status !== 'RUNNING' || Date.now() < t.readyAt) return;
    if (t.kind === 'import') {
      const p = domain().projects.find((x) => x.pid === t.pid);
      if (!p) Object.assign(t, { status: 'ERROR', msg: 'The project no longer exists' });
      else if (p.model.datasets.length) Object.assign(t, { status: 'ERROR', msg: 'The project is not empty: import needs an empty project' });
      else {
        p.model = structuredClone(t.artifact!.model);
        p.data = structuredClone(t.artifact!.data);
        t.status = 'OK';
      }
      delete t.artifact;
    } else t.status = 'OK';
    host.changed();
  };

  const api = host.publicApi;
  api.get(`${BASE}/gdc/projects`, (ctx) => {
    const projectId = owner(ctx).id;
    return reply(200, { projects: domain().projects.filter((x) => x.ownerProjectId === projectId).map(projectJson) });
  });
  api.post(`${BASE}/gdc/projects`, async (ctx) => {
    const projectId = owner(ctx).id;
    const body = (await ctx.body()) as { project?: { meta?: { title?: unknown; summary?: unknown } } };
    const title = str(body.project?.meta?.title);
    if (!title) throw gdError(400, 'project.meta.title is required');
    const pid = randomBytes(16).toString('hex').slice(0, 32);
    domain().projects.push({ pid, title, summary: str(body.project?.meta?.summary) ?? '', ownerProjectId: projectId, created: iso(Date.now()), readyAt: Date.now() + delay(), model: { datasets: [] }, data: {} });
    host.changed();
    return reply(201, { uri: `/gdc/projects/${pid}` });
  });
  api.get(`${BASE}/gdc/projects/{pid}`, (ctx, prm) => reply(200, projectJson(project(ctx, prm.pid))));
  api.delete(`${BASE}/gdc/projects/{pid}`, (ctx, prm) => {
    const doomed = project(ctx, prm.pid);
    domain().projects = domain().projects.filter((x) => x !== doomed);
    host.changed();
    return reply(204);
  });

  api.post(`${BASE}/gdc/md/{pid}/maintenance/export`, async (ctx, prm) => {
    const src = project(ctx, prm.pid);
    if (state(src) !== 'ENABLED') throw gdError(409, `Project ${src.pid} is not ready yet`);
    const body = (await ctx.body()) as { exportProject?: { exportData?: unknown; crossDataCenterExport?: unknown } };
    if (!body.exportProject) throw gdError(400, 'exportProject is required');
    const withData = String(body.exportProject.exportData ?? '1') !== '0';
    const task: GoodDataTaskRecord = { id: newId(), pid: src.pid, kind: 'export', readyAt: Date.now() + delay(), status: 'RUNNING' };
    const exp: GoodDataExportRecord = { id: newId(), pid: src.pid, taskId: task.id, model: structuredClone(src.model), data: withData ? structuredClone(src.data) : {} };
    domain().tasks.push(task);
    domain().exports.push(exp);
    host.changed();
    const token = Buffer.from(JSON.stringify({ u: `${host.url}${BASE}`, id: exp.id, sig: host.hmac(`gooddata-export:${exp.id}`) })).toString('base64url');
    return reply(201, { exportArtifact: { token, status: { uri: `/gdc/md/${src.pid}/tasks/${task.id}/status` } } });
  });

  // Where another domain fetches an export (cross-data-center): the signed token is the credential.
  api.get(`${BASE}/gdc/exports/{id}`, (ctx, prm) => {
    const exp = domain().exports.find((x) => x.id === prm.id);
    if (!exp || ctx.url.searchParams.get('sig') !== host.hmac(`gooddata-export:${exp.id}`)) throw gdError(404, 'Export not found');
    const task = domain().tasks.find((t) => t.id === exp.taskId)!;
    settle(task);
    if (task.status !== 'OK') throw gdError(409, 'The export has not finished yet');
    return reply(200, { model: exp.model, data: exp.data });
  });

  api.post(`${BASE}/gdc/md/{pid}/maintenance/import`, async (ctx, prm) => {
    const target = project(ctx, prm.pid);
    if (state(target) !== 'ENABLED') throw gdError(409, `Project ${target.pid} is not ready yet`);
    const body = (await ctx.body()) as { importProject?: { token?: unknown } };
    const token = str(body.importProject?.token);
    if (!token) throw gdError(400, 'importProject.token is required');
    let ref: { u: string; id: string; sig: string };
    try {
      ref = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof ref;
      if (typeof ref.u !== 'string' || typeof ref.id !== 'string' || typeof ref.sig !== 'string') throw new Error('bad token');
    } catch {
      throw gdError(400, 'The import token is not valid');
    }
    let res: Response;
    try {
      res = await fetch(`${ref.u}/gdc/exports/${encodeURIComponent(ref.id)}?sig=${encodeURIComponent(ref.sig)}`, { signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw gdError(502, `The exporting domain cannot be reached: ${(e as Error).message}`);
    }
    if (res.status === 409) throw gdError(409, 'The export has not finished yet: import after its task is OK');
    if (res.status !== 200) throw gdError(400, `The import token was refused by the exporting domain (HTTP ${res.status})`);
    const artifact = (await res.json()) as GoodDataTaskRecord['artifact'];
    const task: GoodDataTaskRecord = { id: newId(), pid: target.pid, kind: 'import', readyAt: Date.now() + delay(), status: 'RUNNING', artifact };
    domain().tasks.push(task);
    host.changed();
    return reply(201, { uri: `/gdc/md/${target.pid}/tasks/${task.id}/status` });
  });

  api.get(`${BASE}/gdc/md/{pid}/tasks/{taskId}/status`, (ctx, prm) => {
    const target = project(ctx, prm.pid);
    const task = domain().tasks.find((t) => t.id === prm.taskId && t.pid === target.pid);
    if (!task) throw gdError(404, `Task ${prm.taskId} not found`);
    settle(task);
    return reply(200, { taskState: { status: task.status, ...(task.msg ? { msg: task.msg } : {}) } });
  });

  host.adminApi.get('/_emulator/gooddata/projects', () => reply(200, domain().projects.map(({ pid, title, ownerProjectId }) => ({ pid, title, ownerProjectId }))));
  host.adminApi.get('/_emulator/gooddata/projects/{pid}', (_ctx, prm) => {
    const found = domain().projects.find((x) => x.pid === prm.pid);
    if (!found) throw gdError(404, `Project "${prm.pid}" not found`);
    const { readyAt: _ready, ...rest } = found;
    return reply(200, { ...rest, state: state(found) });
  });
}
