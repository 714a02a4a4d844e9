// Snapshot stores against real object-store servers (Versity S3 gateway, Azurite, fake-gcs-server, started by
// scripts/object-stores.ts) and a local folder: the same contract for every kind, table data streamed through.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { startObjectStore, type ObjectStoreServer } from '../../scripts/object-stores';
import { snapshotAt } from '../../snapshot/reader';
import type { SnapshotStore } from '../../snapshot/store';
import { openSnapshotStore, SnapshotLocationError } from '../../snapshot/stores';

const servers: ObjectStoreServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

/** The location and the worker environment of a fresh snapshot root of each kind. */
async function rootOf(kind: 'local' | 'aws' | 'azure' | 'gcp'): Promise<{ location: string; env: NodeJS.ProcessEnv }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `store-${kind}-`));
  if (kind === 'local') return { location: dir, env: {} };
  const bucket = `snapshots-${randomBytes(4).toString('hex')}`;
  if (kind === 'aws') {
    const s3 = await startObjectStore('aws', { dir });
    servers.push(s3);
    await s3.createBucket(bucket);
    return {
      location: `s3://${bucket}/team/a`,
      env: { ...s3.env, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.rootCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.rootCredentials.secretAccessKey },
    };
  }
  if (kind === 'azure') {
    const azure = await startObjectStore('azure', { dir });
    servers.push(azure);
    await azure.createBucket(bucket);
    const connection = `DefaultEndpointsProtocol=http;AccountName=${azure.accountName};AccountKey=${azure.accountKey};BlobEndpoint=${azure.accountUrl};`;
    return { location: `azure://${azure.accountName}/${bucket}/team/a`, env: { AZURE_STORAGE_CONNECTION_STRING: connection } };
  }
  const gcs = await startObjectStore('gcp', { dir });
  servers.push(gcs);
  await gcs.createBucket(bucket);
  return { location: `gs://${bucket}/team/a`, env: { ...gcs.env } };
}

/** 6 MB of data that is not compressible, generated in chunks, with its SHA-256. */
function generated(chunks = 24): { stream: () => Readable; sha256: string } {
  const seed = randomBytes(256 * 1024);
  const hash = createHash('sha256');
  for (let i = 0; i < chunks; i++) hash.update(seed).update(String(i));
  return {
    sha256: hash.digest('hex'),
    stream: () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < chunks; i++) yield Buffer.concat([seed, Buffer.from(String(i))]);
        })(),
      ),
  };
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe.each(['local', 'aws', 'azure', 'gcp'] as const)('%s snapshot store', (kind) => {
  let store: SnapshotStore;
  beforeAll(async () => {
    const { location, env } = await rootOf(kind);
    store = openSnapshotStore(location, env).child('migrate-us-1-to-eu-run1');
  }, 300_000);

  test('writes, reads, lists and sizes files; a missing file is undefined, not an error', async () => {
    expect(await store.readText('buckets.json')).toBeUndefined();
    expect(await store.size('buckets.json')).toBeUndefined();
    expect(await store.list('in/c-crm')).toEqual([]);
    await store.writeText('buckets.json', '[{"id":"in.c-crm","name":"c-crm","stage":"in"}]');
    await store.writeText('tables.json', '[]');
    await store.writeText('in/c-crm/orders.part_0.csv.gz', 'a');
    await store.writeText('in/c-crm/orders.part_1.csv.gz', 'b');
    expect(await store.readText('buckets.json')).toContain('in.c-crm');
    expect(await store.list('in/c-crm')).toEqual(['orders.part_0.csv.gz', 'orders.part_1.csv.gz']);
    expect(await store.list('in')).toEqual(['c-crm']);
    expect(await store.size('in/c-crm/orders.part_1.csv.gz')).toBe(1);
    // the snapshot reader works on every kind of store
    const index = await snapshotAt(store).index();
    expect(index.restorableBuckets().map((b) => b.id)).toEqual(['in.c-crm']);
    expect(await snapshotAt(store).tableData('in.c-crm.orders')).toEqual({ files: ['in/c-crm/orders.part_0.csv.gz', 'in/c-crm/orders.part_1.csv.gz'], sliced: true });
  });

  test('streams a table slice larger than one upload part through, byte for byte', async () => {
    const data = generated();
    const size = await store.write('in/c-crm/big.part_0.csv.gz', data.stream());
    expect(size).toBe(24 * (256 * 1024) + '0123456789'.length + 14 * 2);
    expect(await store.size('in/c-crm/big.part_0.csv.gz')).toBe(size);
    expect(await sha256Of(store.openRead('in/c-crm/big.part_0.csv.gz'))).toBe(data.sha256);
  }, 120_000);

  test('a write that fails half-way leaves no file behind', async () => {
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(1024);
        throw new Error('the source export broke off');
      })(),
    );
    await expect(store.write('in/c-crm/broken.part_0.csv.gz', failing)).rejects.toThrow();
    expect(await store.size('in/c-crm/broken.part_0.csv.gz')).toBeUndefined();
  });

  test('a body that fails before the store reads it fails the write, not the worker process', async () => {
    // as a download whose object store refuses the connection at once (a stream that errors before it is read)
    const refused = new PassThrough();
    setImmediate(() => refused.destroy(new Error('connect ECONNREFUSED')));
    await expect(store.write('files/logo.svg', refused)).rejects.toThrow('ECONNREFUSED');
    expect(await store.size('files/logo.svg')).toBeUndefined();
  });

  test('reading a file that is not there fails the stream', async () => {
    await expect(sha256Of(store.openRead('in/c-crm/nothing.csv.gz'))).rejects.toBeDefined();
  });
});

test('a location no store understands is refused with what to write instead', () => {
  expect(() => openSnapshotStore('ftp://host/x', {})).toThrow(SnapshotLocationError);
  expect(() => openSnapshotStore('relative/folder', {})).toThrow(/must be an absolute folder on the worker, or s3:\/\/, azure:\/\/ or gs:\/\//);
  expect(() => openSnapshotStore('azure://account', { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' })).toThrow(/names no container/);
});
