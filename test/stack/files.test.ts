/** File upload and download (docs/CONTRACTS.md#gcp) with streams, plain and sliced, against a fake GCS store in the test server. */
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { createStackClient, StackClient, StackError, type FileInfo } from '../../stack';
import { readAll, sendJson, TestServer, TOKEN } from './helpers';

let server: TestServer;
let client: StackClient;
let nextFileId = 1000;

/** The fake stack's file endpoints: prepare, detail (federationToken), refresh. */
function enableFiles(options: { expiresIn?: number; downloadExpiresIn?: number } = {}): Map<number, { name: string; isSliced: boolean; key: string }> {
  const files = new Map<number, { name: string; isSliced: boolean; key: string }>();
  const bucket = 'kbc-files';
  const detail = (id: number, withUpload: boolean) => {
    const f = files.get(id)!;
    const objectKey = f.isSliced ? `${f.key}manifest` : f.key;
    return {
      id,
      name: f.name,
      created: '2017-02-14T10:34:45+0100',
      isSliced: f.isSliced,
      isEncrypted: true,
      url: `${server.url}/_gcs/${bucket}/${objectKey}?X-Goog-Signature=sig-${id}`,
      provider: 'gcp',
      region: 'us-east-1',
      sizeBytes: 0,
      tags: [],
      ...(withUpload
        ? { gcsUploadParams: { projectId: 'p', bucket, key: f.key, access_token: server.gcsToken, expires_in: options.expiresIn ?? 3599, token_type: 'Bearer' } }
        : {
            gcsCredentials: { access_token: server.gcsToken, expires_in: options.downloadExpiresIn ?? 3599, token_type: 'Bearer', projectId: 'p' },
            gcsPath: { bucket, key: f.key },
          }),
    };
  };
  server.on('POST', '/v2/storage/files/prepare', (req, res) => {
    const body = req.json as { name: string; isSliced?: boolean };
    const id = nextFileId++;
    files.set(id, { name: body.name, isSliced: body.isSliced === true, key: `exp-15/files/${id}.${body.name}` });
    sendJson(res, 201, detail(id, true));
  });
  server.on('GET', /^\/v2\/storage\/files\/\d+$/, (req, res) => {
    const id = Number(req.path.split('/').pop());
    if (!files.has(id)) return sendJson(res, 404, { error: 'File not found', code: 'storage.files.notFound' });
    sendJson(res, 200, detail(id, false));
  });
  server.on('PUT', /^\/v2\/storage\/files\/\d+\/refresh$/, (req, res) => {
    const id = Number(req.path.split('/')[4]);
    sendJson(res, 200, detail(id, true));
  });
  server.enableObjectStore();
  return files;
}

beforeAll(async () => {
  server = await new TestServer().start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  client = createStackClient({ url: server.url, token: TOKEN, jobPollIntervalMs: 5 });
});

/** A stream of `count` chunks produced lazily (never one big buffer). */
function chunked(count: number, chunk: Buffer): Readable {
  let i = 0;
  return new Readable({
    read() {
      this.push(i++ < count ? chunk : null);
    },
  });
}

describe('upload', () => {
  it('files.upload(Buffer): prepare with size, PUT with Bearer, answers the file ID without reading its detail', async () => {
    enableFiles();
    const data = Buffer.from('id,name\n1,a\n');
    const file = await client.files.upload('t.csv', data, { tags: ['migration'] });
    const prepare = server.last('POST', '/v2/storage/files/prepare');
    expect(prepare.json).toEqual({ name: 't.csv', sizeBytes: data.length, tags: ['migration'], isSliced: false, federationToken: true });
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(put.path).toBe(`/_gcs/kbc-files/exp-15/files/${file.id}.t.csv`);
    expect(put.headers.authorization).toBe(`Bearer ${server.gcsToken}`);
    // the Storage API token never goes to the object store
    expect(put.headers['x-storageapi-token']).toBeUndefined();
    expect(server.objects.get(`kbc-files/exp-15/files/${file.id}.t.csv`)).toEqual(data);
    expect(file).toEqual({ id: expect.any(Number) });
    expect(server.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v2/storage/files'))).toEqual([]);
    const detail = await client.files.get(file.id);
    expect(detail.gcsPath?.key).toBe(`exp-15/files/${file.id}.t.csv`);
    expect(server.last('GET', `/v2/storage/files/${file.id}`).query).toEqual({ federationToken: '1' });
  });

  it('files.upload(stream factory) streams the body (chunked) without knowing its size', async () => {
    enableFiles();
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const file = await client.files.upload('big.csv', () => chunked(32, chunk));
    const put = server.requests.find((r) => r.method === 'PUT')!;
    expect(put.headers['transfer-encoding']).toBe('chunked');
    expect(put.body.length).toBe(32 * chunk.length);
    expect(server.last('POST', '/v2/storage/files/prepare').json).not.toHaveProperty('sizeBytes');
    expect((await client.files.get(file.id)).isSliced).toBe(false);
  });

  it('files.uploadSliced: slices under {key}partNNNN.csv.gz, then the gs:// manifest at {key}manifest', async () => {
    enableFiles();
    const slices = [gzipSync('1,a\n'), gzipSync('2,b\n'), gzipSync('3,c\n')];
    const file = await client.files.uploadSliced('in.c-main.t.csv.gz', slices.map((s) => () => Readable.from([s])), { sizeBytes: 99 });
    const key = `exp-15/files/${file.id}.in.c-main.t.csv.gz`;
    expect(server.last('POST', '/v2/storage/files/prepare').json).toMatchObject({ isSliced: true, federationToken: true, sizeBytes: 99 });
    expect(server.objects.get(`kbc-files/${key}part0001.csv.gz`)).toEqual(slices[0]);
    expect(server.objects.get(`kbc-files/${key}part0003.csv.gz`)).toEqual(slices[2]);
    const manifest = JSON.parse(server.objects.get(`kbc-files/${key}manifest`)!.toString('utf8'));
    expect(manifest).toEqual({
      entries: [1, 2, 3].map((n) => ({ url: `gs://kbc-files/${key}part000${n}.csv.gz` })),
    });
    expect((await client.files.get(file.id)).isSliced).toBe(true);
  });

  it('refreshes short-lived upload credentials between slices', async () => {
    enableFiles({ expiresIn: 10 });
    await client.files.uploadSliced('t.csv', [() => Readable.from([Buffer.from('a\n')]), () => Readable.from([Buffer.from('b\n')])]);
    expect(server.requests.filter((r) => r.path.endsWith('/refresh'))).toHaveLength(2);
  });

  it('an object store refusing the credentials is a retryable forbidden error without secrets', async () => {
    enableFiles();
    server.on('PUT', /^\/_gcs\//, (_req, res) => sendJson(res, 403, { error: 'expired' }));
    const error = (await client.files.upload('t.csv', Buffer.from('x')).catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ kind: 'forbidden', retryable: true, status: 403 });
    expect(error.endpoint).toMatch(/^PUT \/_gcs\/kbc-files\//);
    expect(JSON.stringify(error) + error.message).not.toContain(server.gcsToken);
    expect(JSON.stringify(error) + error.message).not.toContain(TOKEN);
  });

  it('a prepare answer of a provider this client does not speak is refused readably, not retried', async () => {
    server.reply('POST', '/v2/storage/files/prepare', 201, { id: 1, name: 'x', isSliced: false, url: 'https://store.example/b/k', provider: 'oracle' });
    await expect(client.files.upload('x', Buffer.from('x'))).rejects.toMatchObject({
      kind: 'unexpected-response',
      retryable: false,
      endpoint: 'POST /v2/storage/files/prepare',
      message: expect.stringMatching(/file 1 of the file provider "oracle".*aws, azure and gcp/),
    });
  });

  it('a prepare answer without its provider\'s upload parameters names the missing field', async () => {
    server.reply('POST', '/v2/storage/files/prepare', 201, {
      id: 1, name: 'x', isSliced: false, url: 'https://s3.amazonaws.com/b/k', provider: 'aws', uploadParams: { key: 'k', bucket: 'b' },
    });
    await expect(client.files.upload('x', Buffer.from('x'))).rejects.toMatchObject({
      kind: 'unexpected-response',
      message: expect.stringContaining('uploadParams.credentials'),
    });
  });
});

describe('download', () => {
  it('plain file: one URL (the file\'s url), read through its signature without Bearer', async () => {
    enableFiles();
    const uploaded = await client.files.upload('t.csv', Buffer.from('id\n1\n'));
    const file = await client.files.get(uploaded.id);
    const urls = await client.files.sliceUrls(file);
    expect(urls).toEqual([file.url]);
    const content = await readAll(client.files.openSlice(file, urls[0]));
    expect(content.toString()).toBe('id\n1\n');
    const get = server.last('GET', `/_gcs/kbc-files/exp-15/files/${file.id}.t.csv`);
    expect(get.headers.authorization).toBeUndefined();
    expect(get.headers['x-storageapi-token']).toBeUndefined();
  });

  it('sliced file: manifest entries, each slice streamed with the Bearer token', async () => {
    enableFiles();
    const rows = ['1,a\n', '2,b\n', '3,c\n'];
    const uploaded = await client.files.uploadSliced('t.csv.gz', rows.map((r) => () => Readable.from([gzipSync(r)])));
    const file = await client.files.get(uploaded.id);
    const urls = await client.files.sliceUrls(file);
    expect(urls).toHaveLength(3);
    expect(urls[0]).toMatch(/^gs:\/\/kbc-files\/.*part0001\.csv\.gz$/);
    const texts: string[] = [];
    for (const url of urls) texts.push(gunzipSync(await readAll(client.files.openSlice(file, url))).toString());
    expect(texts).toEqual(rows);
    const sliceGet = server.requests.filter((r) => r.method === 'GET' && r.path.includes('part0002'))[0];
    expect(sliceGet.headers.authorization).toBe(`Bearer ${server.gcsToken}`);
    expect(sliceGet.headers['x-storageapi-token']).toBeUndefined();
  });

  it('streams a large slice with backpressure', async () => {
    enableFiles();
    const chunk = Buffer.alloc(256 * 1024, 'y');
    const uploaded = await client.files.upload('big.csv', () => chunked(16, chunk));
    const file = await client.files.get(uploaded.id);
    const stream = client.files.openSlice(file, file.url);
    let total = 0;
    for await (const part of stream) total += (part as Buffer).length;
    expect(total).toBe(16 * chunk.length);
  });

  it('a missing slice errors the stream with a not-found StackError', async () => {
    enableFiles();
    const uploaded = await client.files.uploadSliced('t.csv.gz', [() => Readable.from([gzipSync('1\n')])]);
    const file = await client.files.get(uploaded.id);
    const stream = client.files.openSlice(file, `gs://kbc-files/${file.gcsPath!.key}part0009.csv.gz`);
    const error = (await readAll(stream).catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ kind: 'not-found', status: 404, retryable: false });
  });

  it('a dropped download is a retryable network error on the stream', async () => {
    enableFiles();
    const uploaded = await client.files.upload('t.csv', Buffer.from('x'));
    const file = await client.files.get(uploaded.id);
    server.on('GET', /^\/_gcs\//, (_req, _res, raw) => raw.socket.destroy());
    const error = (await readAll(client.files.openSlice(file, file.url)).catch((e: unknown) => e)) as StackError;
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ kind: 'network', retryable: true });
    expect(error.endpoint).not.toContain('X-Goog-Signature');
  });

  it('a FileInfo this client did not answer (e.g. rebuilt from a heartbeat) is read with a fresh file detail', async () => {
    enableFiles();
    const uploaded = await client.files.uploadSliced('t.csv.gz', [() => Readable.from([gzipSync('1,a\n')])]);
    const copy: FileInfo = JSON.parse(JSON.stringify(uploaded));
    const detailsBefore = server.requests.filter((r) => r.path === `/v2/storage/files/${uploaded.id}`).length;
    const [url] = await client.files.sliceUrls(copy);
    expect(gunzipSync(await readAll(client.files.openSlice(copy, url))).toString()).toBe('1,a\n');
    expect(server.requests.filter((r) => r.path === `/v2/storage/files/${uploaded.id}`)).toHaveLength(detailsBefore + 1);
  });

  it('a file detail without download credentials is an unexpected response naming the field', async () => {
    server.reply('GET', '/v2/storage/files/1', 200, { id: 1, name: 'x', isSliced: true, provider: 'gcp', url: `${server.url}/_gcs/b/kmanifest` });
    const stream = client.files.openSlice({ id: 1, name: 'x', isSliced: true, url: `${server.url}/_gcs/b/kmanifest` }, 'gs://b/kpart0001');
    await expect(readAll(stream)).rejects.toMatchObject({ kind: 'unexpected-response', message: expect.stringContaining('gcsCredentials') });
  });

  it('download credentials about to expire are renewed with a fresh file detail before a slice', async () => {
    enableFiles({ downloadExpiresIn: 10 });
    const uploaded = await client.files.get((await client.files.uploadSliced('t.csv.gz', ['1\n', '2\n'].map((row) => () => Readable.from([gzipSync(row)])))).id);
    const details = () => server.requests.filter((r) => r.method === 'GET' && r.path === `/v2/storage/files/${uploaded.id}`).length;
    const before = details();
    const urls = await client.files.sliceUrls(uploaded);
    for (const url of urls) await readAll(client.files.openSlice(uploaded, url));
    expect(details()).toBe(before + 3); // the manifest and each of the two slices
  });

  it('a FileInfo holds no credentials and an unsigned url; errors and answers never show them', async () => {
    enableFiles();
    const file = await client.files.get((await client.files.uploadSliced('t.csv.gz', [() => Readable.from([gzipSync('1\n')])])).id);
    const text = JSON.stringify(file);
    expect(text).not.toContain(server.gcsToken);
    expect(text).not.toContain('X-Goog-Signature');
    expect(file).not.toHaveProperty('gcsCredentials');
    expect(file.url).toBe(`${server.url}/_gcs/kbc-files/exp-15/files/${file.id}.t.csv.gzmanifest`);
    expect(file.gcsPath).toEqual({ bucket: 'kbc-files', key: `exp-15/files/${file.id}.t.csv.gz` });
  });

  it('a damaged manifest is an unexpected response', async () => {
    enableFiles();
    const uploaded = await client.files.uploadSliced('t.csv', [() => Readable.from([Buffer.from('1\n')])]);
    server.objects.set(`kbc-files/exp-15/files/${uploaded.id}.t.csvmanifest`, Buffer.from('{"entries": "nope"}'));
    const file = await client.files.get(uploaded.id);
    await expect(client.files.sliceUrls(file)).rejects.toMatchObject({ kind: 'unexpected-response', message: expect.stringContaining('entries') });
  });
});
