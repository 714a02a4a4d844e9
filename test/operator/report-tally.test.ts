// The report's account of the restored configurations, folded a batch of results at a time.
import { ConfigurationTally } from '../../activities/report';
import type { ConfigurationRestoreResult } from '../../activities/configurations';
import type { WritersResults } from '../../activities/writers';

const result = (configId: string, extra: Partial<ConfigurationRestoreResult> = {}): ConfigurationRestoreResult => ({
  componentId: 'keboola.ex-db-mysql',
  destinationComponentId: 'keboola.ex-db-mysql',
  configId,
  name: `config ${configId}`,
  created: true,
  rowsCreated: 1,
  secrets: [],
  oauthRemoved: false,
  sshTunnel: false,
  disabled: false,
  ...extra,
});

describe('ConfigurationTally', () => {
  it('sums rows and lists what a person must do across batches, leaving out skipped configurations', () => {
    const tally = new ConfigurationTally()
      .add([result('1', { rowsCreated: 3, oauthRemoved: true }), result('2', { skipped: 'component missing', rowsCreated: 9, sshTunnel: true })])
      .add([result('3', { sshTunnel: true, disabled: true, secrets: [{ path: 'parameters.#token' }, { rowId: 'r1', path: 'parameters.#key' }] })]);
    expect(tally.rowsCreated).toBe(4);
    expect(tally.reauthorize).toEqual([{ configuration: 'keboola.ex-db-mysql/1', name: 'config 1' }]);
    expect(tally.sshTunnels).toEqual([{ configuration: 'keboola.ex-db-mysql/3', name: 'config 3' }]);
    expect(tally.enable).toEqual([{ configuration: 'keboola.ex-db-mysql/3', name: 'config 3' }]);
    expect(tally.secrets).toEqual([
      { configuration: 'keboola.ex-db-mysql/3', row: undefined, path: 'parameters.#token' },
      { configuration: 'keboola.ex-db-mysql/3', row: 'r1', path: 'parameters.#key' },
    ]);
  });

  it('maps a translated component ID, and names the destination configuration in the checklist', () => {
    const tally = new ConfigurationTally().add([result('5', { componentId: 'ex-db-mysql', oauthRemoved: true })]);
    expect(tally.translated).toEqual([{ type: 'configuration', oldId: 'ex-db-mysql/5', newId: 'keboola.ex-db-mysql/5' }]);
    expect(tally.reauthorize[0]!.configuration).toBe('keboola.ex-db-mysql/5');
  });

  it('leaves out the secrets later steps replaced, and says which re-encryption failed', () => {
    const writers: WritersResults = {
      snowflake: { moved: [{ configuration: 'keboola.wr-snowflake/1', workspaceId: 'w', sharedWith: [] }], customerOwned: [], finishedAt: 'x' } as never,
      secrets: { migrated: ['keboola.ex-db-mysql/2'], failed: [{ configuration: 'keboola.ex-db-mysql/3', error: 'HTTP 500' }], skipped: [], dryRun: false, finishedAt: 'x' },
    };
    const password = { path: 'parameters.db.#password' };
    const tally = new ConfigurationTally(writers).add([
      result('1', { componentId: 'keboola.wr-snowflake', destinationComponentId: 'keboola.wr-snowflake', secrets: [password, { rowId: 'r', path: 'parameters.db.#password' }] }),
      result('2', { secrets: [password] }),
      result('3', { secrets: [password] }),
    ]);
    expect(tally.secrets).toEqual([
      { configuration: 'keboola.wr-snowflake/1', row: 'r', path: 'parameters.db.#password' },
      { configuration: 'keboola.ex-db-mysql/3', row: undefined, path: 'parameters.db.#password', error: 'HTTP 500' },
    ]);
  });

  it('keeps every secret on the list when the re-encryption was a dry run', () => {
    const writers: WritersResults = { secrets: { migrated: ['keboola.ex-db-mysql/2'], failed: [], skipped: [], dryRun: true, finishedAt: 'x' } };
    expect(new ConfigurationTally(writers).add([result('2', { secrets: [{ path: 'parameters.#x' }] })]).secrets).toHaveLength(1);
  });
});
