/** A new project of the stack from its seed (emulator/seed.ts): at start, and by `POST /_emulator/projects`. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackHost } from './host';
import { ApiError, badRequest } from './replies';
import type { ParsedProjectSeed } from './seed';
import { seedOrchestrations } from './services/orchestrator';
import { timestamp, type MetadataRecord, type ProjectRecord, type TableRecord } from './state';
import { newAlias, newConfig, newRow, refreshAliasCounts, requireComponent, tablePath } from './storage/entities';
import { findBucket, findTable } from './lookup';
import { seedSubscriptions } from './services/notification';
import { seedSchedules } from './services/scheduler';
import { newFile, withStaging } from './storage/files';
import { seedTriggers } from './storage/triggers';
import { writeRows } from './tabledata';

export async function createProject(host: StackHost, seed: ParsedProjectSeed): Promise<ProjectRecord> {
  if (host.project(seed.id)) throw new ApiError(409, 'emulator.projectExists', `Project ${seed.id} already exists`);
  const allTokens = new Set(host.state.projects.flatMap((p) => p.tokens.map((t) => t.token)));
  for (const t of seed.tokens) if (allTokens.has(t.token)) throw new ApiError(409, 'emulator.tokenExists', `Token "${t.token}" already exists`);
  const now = timestamp();
  const p: ProjectRecord = {
    id: seed.id,
    name: seed.name,
    created: now,
    defaultBackend: seed.defaultBackend,
    backends: seed.backends,
    features: seed.features ?? [],
    defaultBranchId: 100000 + seed.id,
    branchCreated: now,
    tokens: [],
    branchMetadata: [],
    buckets: [],
    tables: [],
    configurations: [],
  };
  for (const t of seed.tokens) {
    const master = t.isMasterToken ?? false;
    p.tokens.push({
      id: String(host.state.nextId.token++),
      token: t.token,
      description: t.description,
      created: now,
      isMasterToken: master,
      canManageBuckets: t.canManageBuckets ?? master,
      canManageTokens: t.canManageTokens ?? master,
      canReadAllFileUploads: t.canReadAllFileUploads ?? master,
      canPurgeTrash: t.canPurgeTrash ?? master,
      bucketPermissions: t.bucketPermissions ?? {},
      componentAccess: t.componentAccess ?? [],
      admin: t.admin ? { role: 'admin', ...t.admin } : master ? { id: 1000 + seed.id, name: 'Emulated Admin', role: 'admin' } : undefined,
    });
  }
  const meta = (items: { key: string; value: string; provider?: string }[] | undefined): MetadataRecord[] =>
    (items ?? []).map((m) => ({ id: host.nextMetadataId(), key: m.key, value: m.value, ...(m.provider !== undefined ? { provider: m.provider } : {}), timestamp: now }));
  p.branchMetadata = meta(seed.branchMetadata);
  for (const b of seed.buckets ?? []) {
    const [stage, name] = [b.id.split('.')[0]!, b.id.split('.')[1]!];
    if (p.buckets.some((x) => x.id === b.id)) throw badRequest(`duplicate bucket ${b.id} in seed`);
    p.buckets.push({
      id: b.id,
      stage,
      name,
      displayName: b.displayName ?? name.replace(/^c-/, ''),
      description: b.description ?? '',
      backend: b.backend ?? p.defaultBackend,
      color: b.color ?? null,
      created: now,
      lastChangeDate: null,
      updated: now,
      metadata: meta(b.metadata),
      ...(b.linkedFrom ? { linkedFrom: b.linkedFrom } : {}),
    });
  }
  const bucketOf = (tableId: string) => {
    const bucketId = tableId.split('.').slice(0, 2).join('.');
    if (!p.buckets.some((b) => b.id === bucketId)) throw badRequest(`seed table ${tableId}: bucket ${bucketId} does not exist`);
    return bucketId;
  };
  for (const t of seed.tables ?? []) {
    const typedColumns = t.typed?.columns.map((c) => ({ name: c.name, definition: { ...c.definition, nullable: c.definition.nullable ?? !(t.primaryKey ?? []).includes(c.name) }, basetype: c.basetype }));
    const table: TableRecord = {
      id: t.id,
      bucketId: bucketOf(t.id),
      name: t.id.split('.')[2]!,
      displayName: t.displayName ?? t.id.split('.')[2]!,
      primaryKey: t.primaryKey ?? [],
      columns: typedColumns ? typedColumns.map((c) => c.name) : t.columns,
      isTyped: !!typedColumns,
      ...(typedColumns ? { typedColumns } : {}),
      metadata: meta(t.metadata),
      columnMetadata: Object.fromEntries(Object.entries(t.columnMetadata ?? {}).map(([c, items]) => [c, meta(items)])),
      created: now,
      lastImportDate: null,
      lastChangeDate: null,
      rowsCount: 0,
      dataSizeBytes: 0,
    };
    for (const r of t.rows ?? []) if (r.length !== table.columns.length) throw badRequest(`seed table ${t.id}: a row has ${r.length} values, expected ${table.columns.length}`);
    const { bytes } = await writeRows(tablePath(host, p, table), t.rows ?? []);
    table.rowsCount = t.rows?.length ?? 0;
    table.dataSizeBytes = bytes;
    table.lastImportDate = table.lastChangeDate = now;
    findBucket(p, table.bucketId)!.lastChangeDate = now;
    p.tables.push(table);
  }
  for (const a of seed.aliases ?? []) {
    const source = findTable(p, a.sourceTable);
    if (!source || source.alias) throw badRequest(`seed alias ${a.id}: source table ${a.sourceTable} does not exist`);
    const alias = newAlias(p, source, bucketOf(a.id), a.id.split('.')[2]!, a.aliasFilter, a.aliasColumns);
    if (a.displayName) alias.displayName = a.displayName;
    p.tables.push(alias);
    await refreshAliasCounts(host, p, source);
  }
  for (const c of seed.configurations ?? []) {
    requireComponent(host, c.componentId);
    if (p.configurations.some((x) => x.componentId === c.componentId && x.id === c.id)) throw badRequest(`duplicate configuration ${c.componentId}/${c.id} in seed`);
    const token = p.tokens[0]!;
    const config = newConfig(token, c.componentId, c.id, {
      name: c.name,
      description: c.description ?? '',
      configuration: c.configuration ?? {},
      state: c.state ?? {},
      isDisabled: c.isDisabled ?? false,
      changeDescription: 'Configuration created',
    });
    for (const r of c.rows ?? []) config.rows.push(newRow(token, r.id, { name: r.name, description: r.description ?? '', configuration: r.configuration ?? {}, state: r.state ?? {}, isDisabled: r.isDisabled ?? false, changeDescription: `Row ${r.id} added` }));
    config.rowsSortOrder = c.rowsSortOrder ?? [];
    config.metadata = meta(c.metadata);
    p.configurations.push(config);
  }
  // orchestrations before triggers: both may create tokens, and their IDs follow this order
  seedOrchestrations(host, p, seed.orchestrations ?? []);
  seedTriggers(host, p, seed.triggers ?? []);
  seedSubscriptions(p, seed.notifications ?? []);
  // after the configurations: a schedule is a keboola.scheduler configuration, activated
  seedSchedules(p, seed.schedules ?? []);
  host.state.projects.push(p);
  for (const file of seed.permanentFiles ?? []) {
    const record = newFile(host, p, p.tokens[0]!, { name: file.name, isSliced: false, isPermanent: true, sizeBytes: Buffer.byteLength(file.content), tags: file.tags ?? [], runId: null });
    await withStaging(host, async (staging) => {
      await writeFile(join(staging, 'content'), file.content);
      await host.fileStorage.put(record.key, join(staging, 'content'));
    });
  }
  host.changed();
  return p;
}
