/**
 * Storage API workspaces (blueprint "Group Workspaces"): Snowflake workspaces on the stack's own Snowflake host,
 * project and configuration workspaces, password reset. The password is returned once, at creation (or reset), and
 * only its HMAC is kept. `POST /_emulator/snowflake/login` stands in for a Snowflake login: it checks credentials
 * against this stack's workspaces, so a test can prove that a writer's credentials work.
 */
import { randomBytes } from 'node:crypto';
import type { StackHost, StorageContext } from '../host';
import { bool, str } from '../params';
import { ApiError, badRequest, notFound, reply } from '../replies';
import { timestamp } from '../state';
import { checkBranch } from './entities';
import { findConfig } from '../lookup';

export interface WorkspaceRecord {
  id: number;
  projectId: number;
  name: string;
  type: 'table';
  component: string | null;
  configurationId: string | null;
  created: string;
  backendSize: string | null;
  readOnlyStorageAccess: boolean;
  creatorToken: { id: number; description: string };
  creatorUser: { id: number; name: string };
  connection: { backend: 'snowflake'; host: string; region: string; database: string; schema: string; warehouse: string; user: string; loginType: string };
  passwordHash: string;
}

declare module '../state' {
  interface StackState {
    workspaces?: WorkspaceRecord[];
    nextWorkspaceId?: number;
  }
}

const S = '/v2/storage';

export function registerWorkspaces(host: StackHost): void {
  const api = host.storageApi;
  const all = (): WorkspaceRecord[] => (host.state.workspaces ??= []);
  const hash = (w: Pick<WorkspaceRecord, 'id'>, password: string) => host.hmac(`workspace-password:${w.id}:${password}`);
  const newPassword = () => randomBytes(24).toString('base64url');
  const find = (ctx: StorageContext, id: string | undefined): WorkspaceRecord => {
    const w = all().find((x) => String(x.id) === id && x.projectId === ctx.project.id);
    if (!w) throw notFound('storage.workspaces.notFound', `Workspace "${id}" not found`);
    return w;
  };
  const json = (w: WorkspaceRecord, password?: string): Record<string, unknown> => {
    const { passwordHash: _hash, projectId: _project, ...rest } = w;
    return {
      ...rest,
      statementTimeoutSeconds: 7200,
      platformUsageType: 'user',
      ssoLoginAvailable: false,
      connection: password === undefined ? { ...w.connection } : { ...w.connection, password },
    };
  };

  const create = async (ctx: StorageContext, owner: { component: string; configurationId: string } | null) => {
    const body = await ctx.body();
    if (bool(ctx.url.searchParams.get('async') ?? body.async)) {
      throw new ApiError(400, 'emulator.notImplemented', 'The emulator creates workspaces synchronously only: call without async=true');
    }
    const backend = str(body.backend) ?? ctx.project.defaultBackend;
    if (backend !== 'snowflake') throw badRequest(`Backend "${backend}" is not available for workspaces of this project`, 'storage.workspaces.backendNotSupported');
    if (!ctx.project.backends.includes('snowflake')) throw badRequest('The project has no Snowflake backend', 'storage.workspaces.backendNotSupported');
    const loginType = str(body.loginType) ?? 'default';
    if (!['default', 'snowflake-legacy-service'].includes(loginType)) throw badRequest(`loginType "${loginType}" is not supported by the emulator`, 'storage.workspaces.validation');
    host.state.nextWorkspaceId ??= 9000;
    const id = host.state.nextWorkspaceId++;
    const password = newPassword();
    const w: WorkspaceRecord = {
      id,
      projectId: ctx.project.id,
      name: `WORKSPACE_${id}`,
      type: 'table',
      component: owner?.component ?? null,
      configurationId: owner?.configurationId ?? null,
      created: timestamp(),
      backendSize: str(body.backendSize) ?? null,
      readOnlyStorageAccess: bool(body.readOnlyStorageAccess),
      creatorToken: { id: Number(ctx.token.id), description: ctx.token.description },
      creatorUser: { id: ctx.token.admin?.id ?? 0, name: ctx.token.admin?.name ?? ctx.token.description },
      connection: {
        backend: 'snowflake',
        host: host.state.stack.snowflakeHost,
        region: host.state.stack.region,
        database: `KEBOOLA_${ctx.project.id}`,
        schema: `WORKSPACE_${id}`,
        warehouse: 'KEBOOLA_PROD',
        user: `KEBOOLA_WORKSPACE_${id}`,
        loginType,
      },
      passwordHash: '',
    };
    w.passwordHash = hash(w, password);
    all().push(w);
    host.changed();
    return reply(201, json(w, password));
  };

  for (const prefix of [S, `${S}/branch/{branchId}`]) {
    const br = (ctx: StorageContext, prm: Record<string, string>) => checkBranch(ctx.project, prm.branchId);
    api.post(`${prefix}/workspaces`, (ctx, prm) => (br(ctx, prm), create(ctx, null)));
    api.get(`${prefix}/workspaces`, (ctx, prm) => (br(ctx, prm), reply(200, all().filter((w) => w.projectId === ctx.project.id).map((w) => json(w)))));
    api.get(`${prefix}/workspaces/{workspaceId}`, (ctx, prm) => (br(ctx, prm), reply(200, json(find(ctx, prm.workspaceId)))));
    api.delete(`${prefix}/workspaces/{workspaceId}`, (ctx, prm) => {
      br(ctx, prm);
      const w = find(ctx, prm.workspaceId);
      host.state.workspaces = all().filter((x) => x !== w);
      host.changed();
      return reply(204);
    });
    api.post(`${prefix}/workspaces/{workspaceId}/password`, (ctx, prm) => {
      br(ctx, prm);
      const w = find(ctx, prm.workspaceId);
      const password = newPassword();
      w.passwordHash = hash(w, password);
      host.changed();
      return reply(201, { password });
    });
    const CFG = `${prefix}/components/{componentId}/configs/{configId}/workspaces`;
    const config = (ctx: StorageContext, prm: Record<string, string>) => {
      br(ctx, prm);
      const c = findConfig(ctx.project, prm.componentId!, prm.configId!);
      if (!c || c.isDeleted) throw notFound('storage.configurations.notFound', `Configuration ${prm.configId} not found`);
      return { component: c.componentId, configurationId: c.id };
    };
    api.post(CFG, (ctx, prm) => create(ctx, config(ctx, prm)));
    api.get(CFG, (ctx, prm) => {
      const owner = config(ctx, prm);
      return reply(200, all().filter((w) => w.projectId === ctx.project.id && w.component === owner.component && w.configurationId === owner.configurationId).map((w) => json(w)));
    });
  }

  host.adminApi.post('/_emulator/snowflake/login', async (ctx) => {
    const body = await ctx.body();
    const [hostName, user, password] = [str(body.host), str(body.user), str(body.password)];
    if (!hostName || !user || password === undefined) throw badRequest('host, user and password are required', 'emulator.invalidLogin');
    if (hostName.toLowerCase() !== host.state.stack.snowflakeHost.toLowerCase()) {
      return reply(401, { result: 'denied', reason: `${hostName} is not the Snowflake host of this stack (${host.state.stack.snowflakeHost})` });
    }
    const w = all().find((x) => x.connection.user.toUpperCase() === user.toUpperCase());
    if (!w) return reply(401, { result: 'denied', reason: `user ${user} does not exist` });
    if (hash(w, password) !== w.passwordHash) return reply(401, { result: 'denied', reason: 'incorrect password' });
    return reply(200, { result: 'ok', workspaceId: w.id, projectId: w.projectId, database: w.connection.database, schema: w.connection.schema });
  });
}
