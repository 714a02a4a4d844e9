/**
 * The three file providers (docs/CONTRACTS.md#file-transfer) against the real object-store servers that
 * scripts/object-stores.ts starts (docs/object-stores.md): versitygw (strict SigV4, per-file users), Azurite
 * (checks SAS signatures and expiry) and fake-gcs-server. The Files API answers come from a local test server,
 * in each provider's documented shape (test/stack/file-stack.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startObjectStore, type ObjectStoreKind, type ObjectStoreServer } from '../../scripts/object-stores';
import { createStackClient, StackError, type StackClient } from '../../stack';
import { CuttingProxy, FileStack, GCS_TOKEN, workerEnv } from './file-stack';
import { readAll, TestServer, TOKEN } from './helpers';

const KINDS: ObjectStoreKind[] = ['aws', 'azure', 'gcp'];
const BUCKETS: Record<ObjectStoreKind, string> = { aws: 'kbc-files', azure: 'exp-15-files', gcp: 'kbc-files' };
/** How each provider's manifest names an object (and sliceUrls() a plain file's). */
const OBJECT_URL: Record<ObjectStoreKind, RegExp> = {
  aws: /^s3:\/\/kbc-files\/exp-15\/1\/files\/2026\/12\/01\/\d+\./,
  azure: /^azure:\/\/devstoreaccount1\.blob\.core\.windows\.net\/exp-15-files\/exp-15\/1\/files\/2026\/12\/01\/\d+\./,
  gcp: /^gs:\/\/kbc-files\/exp-15\/1\/files\/2026\/12\/01\/\d+\./,
};
const MB = 1024 * 1024;

let dir: string;
let api: TestServer;
const stores = {} as Record<ObjectStoreKind, ObjectStoreServer>;
const proxies = {} as Record<ObjectStoreKind, CuttingProxy>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'; // SDK releases after 2026 want Node 22
  dir = await mkdtemp(path.join(os.tmpdir(), 'file-providers-'));
  await Promise.all(
    KINDS.map(async (kind) => {
      stores[kind] = await startObjectStore(kind, { dir: path.join(dir, kind) });
      await stores[kind].createBucket(BUCKETS[kind]);
      proxies[kind] = await new CuttingProxy(stores[kind].endpoint).start();
    }),
  );
  api = await new TestServer().start();
  Object.assign(process.env, workerEnv(stores.aws), workerEnv(stores.gcp));
});

afterAll(async () => {
  process.env = savedEnv;
  await api?.close();
  await Promise.all(KINDS.map(async (kind) => Promise.all([stores[kind]?.stop(), proxies[kind]?.close()])));
  await rm(dir, { recursive: true, force: true });
});

/** `bytes` of deterministic pseudo-random data, produced 64 KiB at a time (never held whole). */
function generated(bytes: number, seed: number): Readable {
  let offset = 0;
  let state = seed;
  return new Readable({
    read() {
      if (offset >= bytes) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(64 * 1024, bytes - offset));
      for (let i = 0; i < chunk.length; i += 4) {
        state = (state * 1664525 + 1013904223) >>> 0;
        chunk.writeUInt32LE(state, i);
      }
      offset += chunk.length;
      this.push(chunk);
    },
  });
}

async function digest(stream: NodeJS.ReadableStream): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function failureOf(promise: Promise<unknown>): Promise<StackError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StackError);
  return error as StackError;
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe.each(KINDS)('the %s file provider against its real server', (kind) => {
  let stack: FileStack;
  let client: StackClient;

  beforeEach(() => {
    api.reset();
    stack = new FileStack(api, stores[kind], BUCKETS[kind]);
    stack.install();
    client = createStackClient({ url: api.url, token: TOKEN });
    Object.assign(process.env, workerEnv(stores.aws), workerEnv(stores.gcp));
  });

  /** The worker reaches the store at `endpoint` instead (the proxy, a closed port). */
  function storeAt(endpoint: string): void {
    if (kind === 'aws') process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    else if (kind === 'gcp') process.env.STORAGE_EMULATOR_HOST = endpoint;
    else {
      const { accountUrl, accountName } = stores.azure as { accountUrl: string; accountName: string };
      stack.tamper = (answer) => {
        const credentials = answer.absUploadParams?.absCredentials ?? answer.absCredentials;
        credentials.SASConnectionString = credentials.SASConnectionString.replace(accountUrl, `${endpoint}/${accountName}`);
      };
    }
  }

  /** A StackError that names the file and its provider, and none of the file's credentials. */
  function expectNamed(error: StackError, fileId: number): void {
    const text = `${error.message} ${JSON.stringify(error)}`;
    expect(error.message).toContain(`file ${fileId}`);
    expect(error.message).toContain(`the ${kind} file storage of ${api.url}`);
    for (const secret of [TOKEN, GCS_TOKEN, 'sig=', 'SharedAccessSignature', ...[...stack.files.values()].map((f) => f.user?.secretAccessKey ?? 'none')]) {
      expect(text).not.toContain(secret);
    }
  }

  it('plain file: a Buffer uploaded, read back through its one URL', async () => {
    const data = Buffer.from('id,name\n1,a\n2,b\n');
    const file = await client.files.get((await client.files.upload('t.csv', data)).id);
    const urls = await client.files.sliceUrls(file);
    expect(urls).toHaveLength(1);
    if (kind === 'gcp') expect(urls).toEqual([file.url]);
    else expect(urls[0]).toMatch(OBJECT_URL[kind]);
    expect(await readAll(client.files.openSlice(file, urls[0]))).toEqual(data);
    expect(JSON.stringify(file)).not.toMatch(/SecretAccessKey|SASConnectionString|access_token|Signature|sig=/);
  });

  it('sliced file: slices under {key}partNNNN, the manifest at {key}manifest naming them as the provider does', async () => {
    const rows = ['1,a\n', '2,b\n', '3,c\n'];
    const file = await client.files.get((await client.files.uploadSliced('in.c-main.t.csv.gz', rows.map((row) => () => Readable.from([gzipSync(row)])))).id);
    expect(file.isSliced).toBe(true);
    const urls = await client.files.sliceUrls(file);
    expect(urls).toHaveLength(3);
    urls.forEach((url, i) => {
      expect(url).toMatch(OBJECT_URL[kind]);
      expect(url.endsWith(`.in.c-main.t.csv.gzpart000${i + 1}.csv.gz`)).toBe(true);
    });
    const texts: string[] = [];
    for (const url of urls) texts.push(gunzipSync(await readAll(client.files.openSlice(file, url))).toString());
    expect(texts).toEqual(rows);
  });

  it('12 MB streamed (more than one multipart part), generated and checked on the fly', async () => {
    const size = 12 * MB;
    const expected = await digest(generated(size, 7));
    const file = await client.files.get((await client.files.upload('big.csv', () => generated(size, 7))).id);
    const [url] = await client.files.sliceUrls(file);
    expect(await digest(client.files.openSlice(file, url))).toEqual(expected);
    if (kind !== 'gcp') expect(await stack.partsOf(stack.files.get(file.id)!.key)).toBeGreaterThanOrEqual(2);
  });

  it('an object that disappeared is not-found, not retryable, naming the file and the provider', async () => {
    const file = await client.files.get((await client.files.uploadSliced('t.csv.gz', [() => Readable.from([gzipSync('1\n')])])).id);
    const [url] = await client.files.sliceUrls(file);
    await stack.deleteObject(`${stack.files.get(file.id)!.key}part0001.csv.gz`);
    const error = await failureOf(readAll(client.files.openSlice(file, url)));
    expect(error).toMatchObject({ kind: 'not-found', retryable: false, status: 404, ...(kind === 'gcp' ? {} : { code: kind === 'aws' ? 'NoSuchKey' : 'BlobNotFound' }) });
    expect(error.message).toContain('has no such object');
    expectNamed(error, file.id);
  });

  it('a bucket or container that does not exist is not-found, not retryable', async () => {
    stack.tamper = (answer) => {
      if (kind === 'aws') answer.uploadParams.bucket = 'no-such-bucket';
      if (kind === 'gcp') answer.gcsUploadParams.bucket = 'no-such-bucket';
      if (kind === 'azure') {
        // A SAS of that container (one for another container is refused as credentials first).
        answer.absUploadParams.container = 'no-such-container';
        answer.absUploadParams.absCredentials.SASConnectionString = (stores.azure as { sasConnectionString(c: string): string }).sasConnectionString('no-such-container');
      }
    };
    const error = await failureOf(client.files.upload('t.csv', Buffer.from('x')));
    expect(error).toMatchObject({ kind: 'not-found', retryable: false, status: 404, ...(kind === 'gcp' ? {} : { code: kind === 'aws' ? 'NoSuchBucket' : 'ContainerNotFound' }) });
    expect(error.message).toContain('does not exist');
    expect(error.message).toMatch(/no-such-(bucket|container)\//); // where it looked: the credentials are redacted, not the place
    expectNamed(error, stack.lastFileId);
  });

  it('a download cut short is a retryable network error saying how much arrived', async () => {
    storeAt(proxies[kind].url);
    const file = await client.files.get((await client.files.uploadSliced('t.csv', [() => generated(MB, 3)])).id);
    const [url] = await client.files.sliceUrls(file);
    proxies[kind].cutNextDownload(/part0001/, 100_000);
    const error = await failureOf(readAll(client.files.openSlice(file, url)));
    expect(error).toMatchObject({ kind: 'network', retryable: true });
    expect(error.message).toMatch(/ended early .*after \d+ of 1048576 bytes/);
    expectNamed(error, file.id);
  });

  it('an unreachable object store is a retryable network error (ECONNREFUSED)', async () => {
    storeAt(`http://127.0.0.1:${await closedPort()}`);
    const error = await failureOf(client.files.upload('t.csv', Buffer.from('x')));
    expect(error).toMatchObject({ kind: 'network', retryable: true, code: 'ECONNREFUSED' });
    expectNamed(error, stack.lastFileId);
  });
});

describe('credentials the stores refuse: retryable, a new attempt gets fresh ones', () => {
  let stack: FileStack;
  let client: StackClient;

  function start(kind: 'aws' | 'azure'): void {
    api.reset();
    stack = new FileStack(api, stores[kind], BUCKETS[kind]);
    stack.install();
    client = createStackClient({ url: api.url, token: TOKEN });
  }

  async function expectRefused(upload: Promise<unknown>, provider: string, code: string | RegExp): Promise<StackError> {
    const error = await failureOf(upload);
    expect(error).toMatchObject({ kind: 'forbidden', retryable: true });
    expect(error.code).toMatch(code);
    expect(error.message).toContain(`refused the credentials of file ${stack.lastFileId}`);
    expect(error.message).toContain(`the ${provider} file storage`);
    return error;
  }

  it('aws: a wrong secret (SignatureDoesNotMatch), redacted', async () => {
    start('aws');
    const wrong = randomBytes(24).toString('base64url');
    stack.tamper = (answer) => void (answer.uploadParams.credentials.SecretAccessKey = wrong);
    const error = await expectRefused(client.files.upload('t.csv', Buffer.from('x')), 'aws', 'SignatureDoesNotMatch');
    expect(`${error.message}${JSON.stringify(error)}`).not.toContain(wrong);
  });

  it('aws: an access key the gateway does not know (InvalidAccessKeyId)', async () => {
    start('aws');
    stack.tamper = (answer) => void (answer.uploadParams.credentials.AccessKeyId = 'ASIAUNKNOWN0000000');
    await expectRefused(client.files.upload('t.csv', Buffer.from('x')), 'aws', /InvalidAccessKeyId|InvalidToken/);
  });

  it('aws: a session token, which versitygw refuses from every account (InvalidToken, docs/object-stores.md)', async () => {
    start('aws');
    stack.tamper = (answer) => void (answer.uploadParams.credentials.SessionToken = 'FwoGZXIvYXdzEBYaDKsession-token');
    await expectRefused(client.files.upload('t.csv', Buffer.from('x')), 'aws', 'InvalidToken');
  });

  it('aws: the credentials of another file (AccessDenied: a file user reaches only its own objects)', async () => {
    start('aws');
    const other = await client.files.upload('other.csv', Buffer.from('x'));
    stack.tamper = (answer, stage, file) => {
      if (file.id === other.id) return;
      const user = stack.files.get(other.id)!.user!;
      Object.assign(answer.uploadParams.credentials, { AccessKeyId: user.accessKeyId, SecretAccessKey: user.secretAccessKey });
    };
    await expectRefused(client.files.upload('t.csv', Buffer.from('x')), 'aws', 'AccessDenied');
  });

  it('aws: expired credentials (the emulated stack revoked the file user) fail the download', async () => {
    start('aws');
    const file = await client.files.get((await client.files.upload('t.csv', Buffer.from('x'))).id);
    const [url] = await client.files.sliceUrls(file);
    await (stores.aws as { deleteFileUser(b: string, a: string): Promise<void> }).deleteFileUser(BUCKETS.aws, stack.files.get(file.id)!.user!.accessKeyId);
    const error = await failureOf(readAll(client.files.openSlice(file, url)));
    expect(error).toMatchObject({ kind: 'forbidden', retryable: true, code: 'InvalidAccessKeyId' });
    expect(error.message).toContain(`file ${file.id}`);
  });

  it('azure: an expired SAS', async () => {
    start('azure');
    const azure = stores.azure as { sasConnectionString(c: string, o: { expiresOn: Date }): string };
    stack.tamper = (answer) => void (answer.absUploadParams.absCredentials.SASConnectionString = azure.sasConnectionString(BUCKETS.azure, { expiresOn: new Date(Date.now() - 60_000) }));
    await expectRefused(client.files.upload('t.csv', Buffer.from('x')), 'azure', /^Authentication|^Authorization/);
  });

  it('azure: a SAS with a wrong signature, redacted', async () => {
    start('azure');
    const signature = encodeURIComponent(randomBytes(32).toString('base64'));
    stack.tamper = (answer) => {
      const credentials = answer.absUploadParams.absCredentials;
      credentials.SASConnectionString = credentials.SASConnectionString.replace(/sig=[^&;]+/, `sig=${signature}`);
    };
    const error = await expectRefused(client.files.upload('t.csv', Buffer.from('x')), 'azure', /^Authentication|^Authorization/);
    expect(`${error.message}${JSON.stringify(error)}`).not.toContain(signature);
  });

  // fake-gcs-server accepts any token (docs/object-stores.md): GCP's refused credentials are covered by
  // test/stack/files.test.ts against the test server's own store.
});
