// What a sync pass counts as changed between two states of a source (activities/sync-plan.ts).
import { planChanges, type ProjectState } from '../../activities/sync-plan';
import type { SnapshotTable } from '../../snapshot/schemas';

const table = (id: string, extra: Partial<SnapshotTable> = {}): SnapshotTable => ({
  id,
  name: id.split('.')[2]!,
  columns: ['id', 'name'],
  primaryKey: ['id'],
  created: '2026-11-01T00:00:00Z',
  lastImportDate: '2026-11-01T00:00:00Z',
  lastChangeDate: '2026-11-01T00:00:00Z',
  rowsCount: 10,
  dataSizeBytes: 100,
  ...extra,
});

const state = (tables: SnapshotTable[], configurations: ProjectState['configurations'] = [], extra: Partial<ProjectState> = {}): ProjectState => ({
  bucketIds: [...new Set(tables.map((t) => t.id.split('.').slice(0, 2).join('.')))],
  tables,
  configurations,
  ...extra,
});

const never = async () => false;

describe('planChanges', () => {
  test('an unchanged project plans nothing', async () => {
    const project = state([table('in.c-a.t1'), table('in.c-a.t2', { isAlias: true, sourceTable: { id: 'in.c-a.t1' } })], [{ componentId: 'c', configId: '1', version: 3 }]);
    const plan = await planChanges(project, structuredClone(project), never);
    expect(plan.tables).toEqual([]);
    expect(plan.removedTables).toEqual([]);
    expect(plan.removedAliases).toEqual([]);
    expect(Object.values(plan.changes).every((v) => (Array.isArray(v) ? v.length === 0 : v === 0))).toBe(true);
  });

  test('new data, a new structure, new metadata, a new table and a removed one are told apart', async () => {
    const before = state([table('in.c-a.loaded'), table('in.c-a.widened'), table('in.c-a.labelled'), table('in.c-a.keyed'), table('in.c-a.gone'), table('in.c-a.replaced')]);
    const after = state([
      table('in.c-a.loaded', { lastImportDate: '2026-12-01T00:00:00Z', rowsCount: 12 }),
      table('in.c-a.widened', { columns: ['id', 'name', 'segment'] }),
      table('in.c-a.labelled', { displayName: 'Labelled', metadata: [{ key: 'KBC.description', value: 'new' }] }),
      table('in.c-a.keyed', { primaryKey: ['name'] }),
      table('in.c-a.replaced', { created: '2026-12-01T00:00:00Z' }),
      table('in.c-b.fresh'),
    ]);
    const plan = await planChanges(before, after, never);
    expect(plan.tables).toEqual([
      { id: 'in.c-a.keyed', change: 'structure' },
      { id: 'in.c-a.labelled', change: 'metadata' },
      { id: 'in.c-a.loaded', change: 'data' },
      { id: 'in.c-a.replaced', change: 'data' },
      { id: 'in.c-a.widened', change: 'structure' },
      { id: 'in.c-b.fresh', change: 'added' },
    ]);
    expect(plan.removedTables).toEqual(['in.c-a.gone']);
    expect(plan.addedBuckets).toEqual(['in.c-b']);
    expect(plan.changes).toMatchObject({ tablesAdded: 1, tablesChanged: 2, tablesAltered: 2, tablesRelabelled: 1, tablesRemoved: 1, bucketsAdded: 1, bucketsRemoved: 0 });
  });

  test('an alias defined differently is dropped and created again; a removed one is dropped', async () => {
    const alias = (id: string, column: string) => table(id, { isAlias: true, sourceTable: { id: 'in.c-a.t' }, aliasFilter: { column, values: ['x'] } });
    const before = state([table('in.c-a.t'), alias('out.c-r.same', 'id'), alias('out.c-r.refiltered', 'id'), alias('out.c-r.gone', 'id')]);
    const after = state([table('in.c-a.t'), alias('out.c-r.same', 'id'), alias('out.c-r.refiltered', 'name'), alias('out.c-r.new', 'id')]);
    const plan = await planChanges(before, after, never);
    expect(plan.removedAliases.sort()).toEqual(['out.c-r.gone', 'out.c-r.refiltered']);
    expect(plan.changes).toMatchObject({ aliasesAdded: 2, aliasesRemoved: 2 });
    expect(plan.tables).toEqual([]);
  });

  test('configurations go by version, and by body where a listing gave none', async () => {
    const before = state([], [
      { componentId: 'c', configId: 'same', version: 1 },
      { componentId: 'c', configId: 'edited', version: 1 },
      { componentId: 'c', configId: 'gone', version: 1 },
      { componentId: 'c', configId: 'backup' },
    ]);
    const after = state([], [
      { componentId: 'c', configId: 'same', version: 1 },
      { componentId: 'c', configId: 'edited', version: 2 },
      { componentId: 'c', configId: 'backup' },
      { componentId: 'c', configId: 'new', version: 1 },
    ]);
    const compared: string[] = [];
    const plan = await planChanges(before, after, async (ref) => {
      compared.push(ref.configId);
      return true;
    });
    expect(compared).toEqual(['backup']); // only the one without versions is read
    expect(plan.configurations).toEqual({
      added: [{ componentId: 'c', configId: 'new' }],
      changed: [
        { componentId: 'c', configId: 'edited' },
        { componentId: 'c', configId: 'backup' },
      ],
      removed: [{ componentId: 'c', configId: 'gone' }],
    });
  });

  test('legacy orchestrations are copied again when new or changed; triggers and subscriptions that changed are replaced', async () => {
    const before = state([], [], {
      others: [
        { kind: 'trigger', id: '1', json: { cool: 5 } },
        { kind: 'orchestration', id: '7', json: { name: 'a' } },
        { kind: 'orchestration', id: '8', json: { name: 'b' } },
        { kind: 'subscription', id: 'old', json: { event: 'job-failed' } },
      ],
    });
    const after = state([], [], {
      others: [
        { kind: 'trigger', id: '1', json: { cool: 10 } },
        { kind: 'orchestration', id: '8', json: { name: 'renamed' } },
        { kind: 'subscription', id: 'new', json: {} },
      ],
    });
    const plan = await planChanges(before, after, never);
    expect(plan.others).toEqual({
      orchestration: { copy: true, remove: [{ id: '7', json: { name: 'a' } }] }, // 8 is edited in place
      trigger: { copy: true, remove: [{ id: '1', json: { cool: 5 } }] },
      subscription: { copy: true, remove: [{ id: 'old', json: { event: 'job-failed' } }] },
    });
    expect(plan.changes).toMatchObject({ orchestrationsChanged: 2, triggersChanged: 1, notificationsChanged: 2, needsAPerson: [] });
  });
});
