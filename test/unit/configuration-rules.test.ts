import { findEncryptedValues, hasOAuthAuthorization, hasSshTunnel, usesChangedSince } from '../../activities/configuration-rules';

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
