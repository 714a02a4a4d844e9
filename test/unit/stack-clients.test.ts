import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createActivityDeps } from '../../activities/deps';

// The worker keeps one stack client per stack and token (activities/deps.ts), so that a group's tables share its
// object-store clients and discovered services; a token that changes must never reuse the old token's client.
describe('the stack clients of the activities', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'stack-clients-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('gives every activity of one project the same client, and another project or stack its own', async () => {
    const deps = createActivityDeps({ snapshotRoot: dir, env: { US_TOKEN: 'us-token', EU_TOKEN: 'eu-token' } });
    const us = { url: 'https://connection.keboola.com', projectId: 1, tokenRef: 'env:US_TOKEN' };
    const first = await deps.stackClient(us);
    expect(await deps.stackClient({ ...us })).toBe(first);
    expect(await deps.stackClient({ ...us, tokenRef: 'env:EU_TOKEN' })).not.toBe(first);
    expect(await deps.stackClient({ url: 'https://connection.eu-central-1.keboola.com', projectId: 1, tokenRef: 'env:US_TOKEN' })).not.toBe(first);
  });

  it('builds a new client once the token file holds another token', async () => {
    const tokenFile = path.join(dir, 'token');
    await writeFile(tokenFile, 'first-token\n');
    const deps = createActivityDeps({ snapshotRoot: dir, env: {} });
    const ref = { url: 'https://connection.keboola.com', projectId: 1, tokenRef: `file:${tokenFile}` };
    const before = await deps.stackClient(ref);
    expect(await deps.stackClient(ref)).toBe(before);
    await writeFile(tokenFile, 'rotated-token\n');
    const after = await deps.stackClient(ref);
    expect(after).not.toBe(before);
    expect(await deps.stackClient(ref)).toBe(after);
  });
});
