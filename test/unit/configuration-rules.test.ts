import { findEncryptedValues, hasOAuthAuthorization, hasSshTunnel, usesChangedSince } from '../../activities/configuration-rules';
import { sanitize } from '../../activities/configurations';
import { translateComponentId } from '../../activities/component-ids';

describe('configuration rules', () => {
  const configuration = {
    authorization: { oauth_api: { id: '12345' } },
    parameters: { db: { host: 'db.example.com', '#password': 'KBC::ProjectSecure::abc', ssh: { enabled: true, keys: { public: 'ssh-rsa', '#private': 'KBC::x' } } }, tokens: [{ '#key': 'KBC::y' }] },
    storage: { input: { tables: [{ source: 'in.c-crm.orders', changed_since: '-7 days' }] } },
  };

  test('lists every encrypted value by JSON path', () => {
    expect(findEncryptedValues(configuration)).toEqual(['parameters.db.#password', 'parameters.db.ssh.keys.#private', 'parameters.tokens.0.#key']);
    expect(findEncryptedValues({ parameters: { plain: 'x' } })).toEqual([]);
  });

  test('recognizes OAuth, SSH tunnels and "changed in last" input mappings', () => {
    expect(hasOAuthAuthorization(configuration)).toBe(true);
    expect(hasOAuthAuthorization({ parameters: {} })).toBe(false);
    expect(hasSshTunnel(configuration)).toBe(true);
    expect(hasSshTunnel({ parameters: { db: { ssh: { enabled: false } } } })).toBe(false);
    expect(usesChangedSince(configuration)).toBe(true);
    expect(usesChangedSince({ storage: { input: { tables: [{ source: 'in.c-a.b', changed_since: '' }] } } })).toBe(false);
  });
});

describe('sanitize (what the destination receives)', () => {
  const destination = new Set(['keboola.wr-db-snowflake-gcs', 'keboola.ex-db-mysql', 'keboola.orchestrator', 'keboola.data-apps']);

  test('empties encrypted values, reports their paths, and removes the OAuth authorization ID', () => {
    const secrets: string[] = [];
    const body = sanitize('keboola.ex-google-drive', { authorization: { oauth_api: { id: '99', version: 3 } }, parameters: { '#token': 'KBC::x', keep: 1 } }, destination, (p) => secrets.push(p));
    expect(body).toEqual({ authorization: { oauth_api: { version: 3 } }, parameters: { '#token': '', keep: 1 } });
    expect(secrets).toEqual(['parameters.#token']);
  });

  test('a data app loses its parameters.id (the destination assigns its own app)', () => {
    expect(sanitize('keboola.data-apps', { parameters: { id: 'app-123', size: 'tiny' } }, destination, () => undefined)).toEqual({ parameters: { size: 'tiny' } });
  });

  test("a Flow's tasks point at the destination stack's component IDs", () => {
    const flow = { phases: [{ id: 1 }], tasks: [{ phase: 1, task: { componentId: 'keboola.wr-snowflake-blob-storage', configId: 'w1' } }, { phase: 1, task: { componentId: 'keboola.ex-db-mysql', configId: 'e1' } }] };
    const body = sanitize('keboola.orchestrator', flow, destination, () => undefined) as typeof flow;
    expect(body.tasks.map((t) => t.task.componentId)).toEqual(['keboola.wr-db-snowflake-gcs', 'keboola.ex-db-mysql']);
    expect(flow.tasks[0].task.componentId).toBe('keboola.wr-snowflake-blob-storage'); // the snapshot's copy is untouched
  });

  test('translateComponentId keeps an ID the destination has and maps the Snowflake writer across clouds', () => {
    expect(translateComponentId('keboola.ex-db-mysql', destination)).toBe('keboola.ex-db-mysql');
    expect(translateComponentId('keboola.wr-db-snowflake', destination)).toBe('keboola.wr-db-snowflake-gcs');
    expect(translateComponentId('keboola.ex-unknown', destination)).toBeUndefined();
  });
});
