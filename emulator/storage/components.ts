/**
 * Components and their configurations: configurations (with state and metadata) and configuration rows, under
 * `/v2/storage/branch/{branchId}/components` and the deprecated non-branch `/v2/storage/components`.
 */
import type { StackHost, StorageContext } from '../host';
import { bool, jsonObjectParam, str, strList } from '../params';
import { badRequest, notFound, reply } from '../replies';
import { componentJson, configJson, metaJson, rowJson } from '../views';
import { bumpConfig, checkBranch, config, newConfig, newRow, requireComponent, row, versionId } from './entities';
import { findConfig } from '../lookup';
import { upsertMetadata } from './metadata';

const S = '/v2/storage';

type Params = Record<string, string>;

export function registerComponents(host: StackHost): void {
  for (const prefix of [`${S}/branch/{branchId}`, S]) registerUnder(host, prefix);
}

function registerUnder(host: StackHost, prefix: string): void {
  const api = host.storageApi;
  const C = `${prefix}/components`;
  /** the configuration of the path, once the branch is checked */
  const configOf = (ctx: StorageContext, prm: Params, allowDeleted = false) => {
    checkBranch(ctx.project, prm.branchId);
    return config(ctx.project, prm.componentId!, prm.configId!, allowDeleted);
  };

  api.get(C, (ctx, prm) => {
    checkBranch(ctx.project, prm.branchId);
    const include = new Set(strList(ctx.url.searchParams.get('include')));
    const type = ctx.url.searchParams.get('componentType');
    const deleted = bool(ctx.url.searchParams.get('isDeleted'));
    const ids = [...new Set(ctx.project.configurations.filter((c) => c.isDeleted === deleted).map((c) => c.componentId))];
    const out = ids
      .map((id) => ({
        ...componentJson(host, id),
        configurations: ctx.project.configurations
          .filter((c) => c.componentId === id && c.isDeleted === deleted)
          .map((c) => configJson(c, { configuration: include.has('configuration'), rows: include.has('rows'), state: include.has('state') })),
      }))
      .filter((c) => !type || (c as Record<string, unknown>).type === type);
    return reply(200, out);
  });
  // the non-branch component detail is the public one (emulator/storage/api-index.ts)
  if (prefix !== S) {
    api.get(`${C}/{componentId}`, (ctx, prm) => {
      checkBranch(ctx.project, prm.branchId);
      requireComponent(host, prm.componentId!);
      return reply(200, componentJson(host, prm.componentId!));
    });
  }

  const CFG = `${C}/{componentId}/configs`;
  api.get(CFG, (ctx, prm) => {
    checkBranch(ctx.project, prm.branchId);
    const deleted = bool(ctx.url.searchParams.get('isDeleted'));
    return reply(200, ctx.project.configurations.filter((c) => c.componentId === prm.componentId && c.isDeleted === deleted).map((c) => configJson(c)));
  });
  api.post(CFG, async (ctx, prm) => {
    checkBranch(ctx.project, prm.branchId);
    const p = ctx.project;
    const componentId = prm.componentId!;
    requireComponent(host, componentId);
    const body = await ctx.body();
    const name = str(body.name);
    if (name === undefined) throw badRequest('Parameter "name" is required', 'storage.configuration.validation');
    const id = str(body.configurationId) ?? String(host.state.nextId.config++);
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw badRequest(`Invalid configuration id "${id}"`, 'storage.configuration.validation');
    const existing = findConfig(p, componentId, id);
    if (existing) throw badRequest(`Configuration "${id}" of component "${componentId}" already exists${existing.isDeleted ? ' (in trash)' : ''}.`, 'storage.configuration.alreadyExists');
    const c = newConfig(ctx.token, componentId, id, {
      name,
      description: str(body.description) ?? '',
      configuration: jsonObjectParam(body.configuration, 'configuration') ?? {},
      state: jsonObjectParam(body.state, 'state') ?? {},
      isDisabled: bool(body.isDisabled),
      changeDescription: str(body.changeDescription) ?? 'Configuration created',
    });
    p.configurations.push(c);
    host.changed();
    return reply(201, configJson(c));
  });

  const ONE = `${CFG}/{configId}`;
  api.get(ONE, (ctx, prm) => reply(200, configJson(configOf(ctx, prm))));
  api.put(ONE, async (ctx, prm) => {
    const c = configOf(ctx, prm);
    const body = await ctx.body();
    if (body.name !== undefined) c.name = String(body.name);
    if (body.description !== undefined) c.description = String(body.description);
    const configuration = jsonObjectParam(body.configuration, 'configuration');
    if (configuration) c.configuration = configuration;
    const state = jsonObjectParam(body.state, 'state');
    if (state) c.state = state;
    if (body.isDisabled !== undefined) c.isDisabled = bool(body.isDisabled);
    if (body.rowsSortOrder !== undefined) {
      const order = strList(body.rowsSortOrder);
      const unknown = order.filter((id) => !c.rows.some((r) => r.id === id));
      if (unknown.length) throw badRequest(`Unknown rows in rowsSortOrder: ${unknown.join(', ')}`, 'storage.configuration.invalidRowsSortOrder');
      c.rowsSortOrder = order;
    }
    bumpConfig(c, ctx.token, str(body.changeDescription) ?? 'Configuration updated');
    host.changed();
    return reply(200, configJson(c));
  });
  api.put(`${ONE}/state`, async (ctx, prm) => {
    const c = configOf(ctx, prm);
    const body = await ctx.body();
    const state = jsonObjectParam(body.state, 'state');
    if (!state) throw badRequest('Parameter "state" is required', 'storage.configuration.validation');
    c.state = state;
    host.changed();
    return reply(200, configJson(c));
  });
  // the first delete moves the configuration to the trash, the second one purges it
  api.delete(ONE, (ctx, prm) => {
    const p = ctx.project;
    const c = configOf(ctx, prm, true);
    if (c.isDeleted) p.configurations = p.configurations.filter((x) => x !== c);
    else {
      c.isDeleted = true;
      bumpConfig(c, ctx.token, 'Configuration deleted');
    }
    host.changed();
    return reply(204);
  });

  api.get(`${ONE}/metadata`, (ctx, prm) => reply(200, configOf(ctx, prm).metadata.map((m) => metaJson(m, false))));
  api.post(`${ONE}/metadata`, async (ctx, prm) => {
    const c = configOf(ctx, prm);
    const body = await ctx.body();
    upsertMetadata(host, c.metadata, body.metadata, undefined);
    return reply(201, c.metadata.map((m) => metaJson(m, false)));
  });
  api.delete(`${ONE}/metadata/{metadataId}`, (ctx, prm) => {
    const c = configOf(ctx, prm);
    if (!c.metadata.some((m) => m.id === prm.metadataId)) throw notFound('storage.metadata.notFound', `Metadata ${prm.metadataId} not found`);
    c.metadata = c.metadata.filter((m) => m.id !== prm.metadataId);
    host.changed();
    return reply(204);
  });

  const ROWS = `${ONE}/rows`;
  api.get(ROWS, (ctx, prm) => reply(200, configOf(ctx, prm).rows.map((x) => rowJson(x))));
  api.post(ROWS, async (ctx, prm) => {
    const c = configOf(ctx, prm);
    const body = await ctx.body();
    const id = str(body.rowId) ?? String(host.state.nextId.row++);
    if (c.rows.some((x) => x.id === id)) throw badRequest(`Row "${id}" already exists in configuration "${c.id}"`, 'storage.configurationRow.alreadyExists');
    const created = newRow(ctx.token, id, {
      name: str(body.name) ?? '',
      description: str(body.description) ?? '',
      configuration: jsonObjectParam(body.configuration, 'configuration') ?? {},
      state: jsonObjectParam(body.state, 'state') ?? {},
      isDisabled: bool(body.isDisabled),
      changeDescription: str(body.changeDescription) ?? `Row ${id} added`,
    });
    c.rows.push(created);
    bumpConfig(c, ctx.token, created.changeDescription ?? `Row ${id} added`);
    host.changed();
    return reply(201, rowJson(created));
  });
  const ROW = `${ROWS}/{rowId}`;
  api.get(ROW, (ctx, prm) => reply(200, rowJson(row(configOf(ctx, prm), prm.rowId!))));
  api.put(ROW, async (ctx, prm) => {
    const c = configOf(ctx, prm);
    const r = row(c, prm.rowId!);
    const body = await ctx.body();
    if (body.name !== undefined) r.name = String(body.name);
    if (body.description !== undefined) r.description = String(body.description);
    const configuration = jsonObjectParam(body.configuration, 'configuration');
    if (configuration) r.configuration = configuration;
    const state = jsonObjectParam(body.state, 'state');
    if (state) r.state = state;
    if (body.isDisabled !== undefined) r.isDisabled = bool(body.isDisabled);
    r.version++;
    r.changeDescription = str(body.changeDescription) ?? `Row ${r.id} changed`;
    r.versionIdentifier = versionId();
    bumpConfig(c, ctx.token, r.changeDescription);
    host.changed();
    return reply(200, rowJson(r));
  });
  api.put(`${ROW}/state`, async (ctx, prm) => {
    const r = row(configOf(ctx, prm), prm.rowId!);
    const body = await ctx.body();
    const state = jsonObjectParam(body.state, 'state');
    if (!state) throw badRequest('Parameter "state" is required', 'storage.configuration.validation');
    r.state = state;
    host.changed();
    return reply(200, rowJson(r));
  });
  api.delete(ROW, async (ctx, prm) => {
    const c = configOf(ctx, prm);
    const r = row(c, prm.rowId!);
    const body = await ctx.body();
    c.rows = c.rows.filter((x) => x !== r);
    c.rowsSortOrder = c.rowsSortOrder.filter((x) => x !== r.id);
    bumpConfig(c, ctx.token, str(body.changeDescription) ?? `Row ${r.id} deleted`);
    host.changed();
    return reply(204);
  });
}
