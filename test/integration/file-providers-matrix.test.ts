// Migrations between stacks of each pair of Keboola's file providers (docs/object-stores.md): real Temporal, and the
// table data moving through a real object-store server behind each emulated stack (the Versity S3 Gateway for
// `aws`, Azurite for `azure`, the emulator's own GCS-shaped store for `gcp`).
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startMigration } from '../../client/commands/start';
import type { FileProviderName } from '../../emulator/file-storage';
import type { StackPair } from '../../scripts/stack-pair';
import { exportTableRows } from '../../snapshot/table-rows';
import { useHarness } from '../helpers/harness';

const h = useHarness({ jobDelayMs: 10 });

const ROUTES: [FileProviderName, FileProviderName][] = [
  ['aws', 'aws'],
  ['aws', 'azure'],
  ['azure', 'gcp'],
  ['gcp', 'aws'],
];

/** The objects the stacks' servers hold under project file keys (`exp-15/...`), by provider. */
async function storedFileObjects(pair: StackPair): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const { aws, azure } = pair.objectStores;
  if (aws) {
    const names = await readdir(path.join(aws.dir, 'data'), { recursive: true });
    counts.aws = names.filter((name) => String(name).includes(`exp-15${path.sep}`) && String(name).endsWith('.gz')).length;
  }
  if (azure) {
    const service = new BlobServiceClient(azure.accountUrl, new StorageSharedKeyCredential(azure.accountName, azure.accountKey));
    let n = 0;
    for await (const container of service.listContainers()) {
      for await (const blob of service.getContainerClient(container.name).listBlobsFlat({ prefix: 'exp-15/' })) if (blob.name.endsWith('.gz')) n++;
    }
    counts.azure = n;
  }
  const gcsObjects = await Promise.all(
    (['source', 'destination'] as const)
      .filter((side) => pair[side].fileProvider === 'gcp')
      .map(async (side) => (await readdir(path.join(pair.dataDir, side, 'objects'), { recursive: true })).filter((name) => String(name).endsWith('.gz')).length),
  );
  if (gcsObjects.length) counts.gcp = gcsObjects.reduce((a, b) => a + b, 0);
  return counts;
}

describe('a migration between stacks of each file provider pair', () => {
  test.each(ROUTES)('%s → %s: every table arrives and verifies', async (sourceProvider, destinationProvider) => {
    await h.useStacks({ jobDelayMs: 10, fileProviders: { source: sourceProvider, destination: destinationProvider } });
    expect([h.stacks.source.fileProvider, h.stacks.destination.fileProvider]).toEqual([sourceProvider, destinationProvider]);

    const result = await h.withWorker(async (taskQueue) => {
      const handle = await startMigration(h.client, taskQueue, { source: h.stacks.sourceRef, destination: h.stacks.destinationRef, requireApproval: false });
      return handle.result();
    });
    expect(result.outcome).toBe('completed');
    expect(result.verification.mismatches).toEqual([]);
    expect(result.verification.tables).toBeGreaterThan(0);
    expect(result.verification.ok).toBe(result.verification.tables);

    const destinationTables = (await h.destination.tables.list()).filter((t) => !t.isAlias);
    expect(destinationTables.length).toBe(result.verification.tables);
    for (const table of destinationTables) {
      expect(await exportTableRows(h.destination, table.id)).toEqual(await exportTableRows(h.source, table.id));
    }

    // The data went through the servers: the source's export slices and the destination's uploads are objects there.
    const stored = await storedFileObjects(h.stacks);
    for (const provider of new Set([sourceProvider, destinationProvider])) {
      expect(stored[provider]).toBeGreaterThanOrEqual(destinationTables.length);
    }
  }, 240_000);
});
