/** Fault injection (outage, drop, latency, rate limit), request counting, persistence across restarts, CSV parsing. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../../emulator/server';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { csvBatches, CSV_WRITE_OPTIONS } from '../../emulator/csv';
import { parseFaultFlag } from '../../emulator/faults';
import { Api, DEST_SEED, DEST_TOKEN, objectsOf, SOURCE_SEED, SOURCE_TOKEN, tempDir } from './util';

const admin = (url: string, method: string, path: string, body?: unknown) =>
  fetch(`${url}/_emulator/${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

describe('faults', () => {
  test('outage by requests: 503 maintenance with Retry-After, then back; admin API is never faulted', async () => {
    const stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 10 });
    try {
      const api = new Api(stack.url, SOURCE_TOKEN);
      const f = await admin(stack.url, 'POST', 'faults', { kind: 'outage', forRequests: 2, retryAfterSeconds: 7 });
      expect(f.status).toBe(201);
      expect(((await f.json()) as any).id).toBeDefined();
      const a = await api.get('buckets');
      expect(a.status).toBe(503);
      expect(a.headers.get('retry-after')).toBe('7');
      expect(a.body).toMatchObject({ status: 'maintenance' });
      expect(typeof a.body.reason).toBe('string');
      expect(typeof a.body.estimatedEndTime).toBe('string');
      expect((await admin(stack.url, 'GET', 'faults')).status).toBe(200);
      expect((await api.get('buckets')).status).toBe(503);
      expect((await api.get('buckets')).status).toBe(200);
      const counts = (await (await admin(stack.url, "GET", "requests")).json()) as Record<string, number>;
      expect(counts['GET /v2/storage/buckets']).toBe(3);
    } finally {
      await stack.close();
    }
  });

  test('outage by seconds, scoped by path and method', async () => {
    const stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 10 });
    try {
      const api = new Api(stack.url, SOURCE_TOKEN);
      await admin(stack.url, 'POST', 'faults', { kind: 'outage', forSeconds: 1, pathPattern: '/buckets', method: 'GET' });
      const r = await api.get('buckets');
      expect(r.status).toBe(503);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await api.get('tables')).status).toBe(200);
      expect((await api.post('buckets', { name: 'during-outage' })).status).toBe(201);
      await new Promise((x) => setTimeout(x, 1100));
      expect((await api.get('buckets')).status).toBe(200);
    } finally {
      await stack.close();
    }
  });

  test('drop destroys the connection; rate-limit answers 429; latency delays; DELETE clears', async () => {
    const stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, jobDelayMs: 10 });
    try {
      const api = new Api(stack.url, SOURCE_TOKEN);
      await admin(stack.url, 'POST', 'faults', { kind: 'drop', forRequests: 1 });
      await expect(api.get('buckets')).rejects.toThrow();
      expect((await api.get('buckets')).status).toBe(200);

      await admin(stack.url, 'POST', 'faults', { kind: 'rate-limit', forRequests: 1, retryAfterSeconds: 3 });
      const limited = await api.get('buckets');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('3');
      expect(limited.body).toMatchObject({ status: 'error', code: 'tooManyRequests' });

      await admin(stack.url, 'POST', 'faults', { kind: 'latency', latencyMs: 250 });
      const t0 = Date.now();
      expect((await api.get('buckets')).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
      expect((await admin(stack.url, 'DELETE', 'faults')).status).toBe(204);
      const t1 = Date.now();
      await api.get('buckets');
      expect(Date.now() - t1).toBeLessThan(200);
      expect((await admin(stack.url, 'POST', 'faults', { kind: 'boom' })).status).toBe(400);
    } finally {
      await stack.close();
    }
  });

  test('late-write closes the connection at once and carries the write out later; lose-response works on the service routes too', async () => {
    const stack = await startStack({ dataDir: tempDir(), seed: DEST_SEED, jobDelayMs: 10 });
    try {
      const api = new Api(stack.url, DEST_TOKEN);
      await admin(stack.url, 'POST', 'faults', { kind: 'late-write', latencyMs: 400, method: 'POST', pathPattern: '^/v2/storage/buckets$', forRequests: 1 });
      const t0 = Date.now();
      await expect(api.post('buckets', { name: 'late' })).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(300); // the client hears nothing and gives up before the write happens
      expect((await api.get('buckets')).body).toEqual([]);
      await new Promise((x) => setTimeout(x, 600));
      expect((await api.get('buckets')).body.map((b: { id: string }) => b.id)).toEqual(['in.c-late']);

      // a service route (the Orchestrator API) carries a request out and loses its answer
      await admin(stack.url, 'POST', 'faults', { kind: 'lose-response', method: 'POST', pathPattern: '^/_services/orchestrator/orchestrations$', forRequests: 1 });
      await expect(api.post('/_services/orchestrator/orchestrations', { name: 'Lost answer' })).rejects.toThrow();
      expect((await api.get('/_services/orchestrator/orchestrations')).body.map((o: { name: string }) => o.name)).toEqual(['Lost answer']);
    } finally {
      await stack.close();
    }
  });

  test('faults given at start (CLI flags)', async () => {
    expect(parseFaultFlag('outage:30s')).toEqual({ kind: 'outage', forSeconds: 30 });
    expect(parseFaultFlag('outage:20r')).toEqual({ kind: 'outage', forRequests: 20 });
    expect(parseFaultFlag('drop:10r')).toEqual({ kind: 'drop', forRequests: 10 });
    expect(parseFaultFlag('latency:200ms')).toEqual({ kind: 'latency', latencyMs: 200 });
    expect(parseFaultFlag('rate-limit:5r')).toEqual({ kind: 'rate-limit', forRequests: 5 });
    expect(() => parseFaultFlag('outage:soon')).toThrow();
    const stack = await startStack({ dataDir: tempDir(), seed: SOURCE_SEED, faults: [parseFaultFlag('rate-limit:1r')] });
    try {
      const api = new Api(stack.url, SOURCE_TOKEN);
      expect((await api.get('tokens/verify')).status).toBe(429);
      expect((await api.get('tokens/verify')).status).toBe(200);
    } finally {
      await stack.close();
    }
  });
});

describe('persistence', () => {
  test('a restarted stack over the same data directory has all its data; saved state wins over the seed', async () => {
    const dir = tempDir();
    let stack = await startStack({ dataDir: dir, seed: DEST_SEED, jobDelayMs: 10 });
    let api = new Api(stack.url, DEST_TOKEN);
    await api.post('buckets', { name: 'kept' });
    const fileId = await api.upload('d.csv', Buffer.from('id,v\n1,"a\nb"\n2,c\n'));
    expect((await api.job('POST', 'buckets/in.c-kept/tables-async', { name: 't', dataFileId: fileId, primaryKey: 'id' })).status).toBe('success');
    await api.post('branch/default/components/keboola.app-tree/configs', { configurationId: 'kept-config', name: 'K', configuration: { a: 1 } });
    await api.post('branch/default/metadata', { metadata: [{ key: 'k', value: 'v' }] });
    await stack.close();
    expect(existsSync(join(dir, 'state.json'))).toBe(true);
    JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));

    stack = await startStack({ dataDir: dir, seed: DEST_SEED, jobDelayMs: 10 });
    api = new Api(stack.url, DEST_TOKEN);
    try {
      expect((await api.get('buckets')).body.map((b: { id: string }) => b.id)).toEqual(['in.c-kept']);
      expect((await api.get('tables/in.c-kept.t')).body).toMatchObject({ rowsCount: 2, primaryKey: ['id'] });
      expect((await api.get('branch/default/components/keboola.app-tree/configs/kept-config')).body.configuration).toEqual({ a: 1 });
      expect((await api.get('branch/default/metadata')).body[0]).toMatchObject({ key: 'k', value: 'v' });
      const job = await api.job('POST', 'tables/in.c-kept.t/export-async', {});
      const { gunzipSync } = await import('node:zlib');
      const text = (await api.download(job.results.file.id)).map((s) => gunzipSync(s).toString()).join('');
      expect(text).toBe('"1","a\nb"\n"2","c"\n');
      // ids keep growing after a restart (no reuse)
      expect(job.id).toBeGreaterThan(1000);
    } finally {
      await stack.close();
    }
  });

  test('an acknowledged write is on disk before its answer (a SIGKILL right after it loses nothing)', async () => {
    const dir = tempDir();
    const stack = await startStack({ dataDir: dir, seed: DEST_SEED, jobDelayMs: 10 });
    try {
      const api = new Api(stack.url, DEST_TOKEN);
      const saved = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
      for (let i = 0; i < 5; i++) {
        expect((await api.post('buckets', { name: `b${i}` })).status).toBe(201);
        // read straight after the answer, with the stack still running (no shutdown flush)
        expect(saved().projects[0].buckets.map((b: { id: string }) => b.id)).toContain(`in.c-b${i}`);
      }
      const created = await api.post('branch/default/components/keboola.app-tree/configs', { name: 'Acknowledged', configuration: { a: 1 } });
      expect(saved().projects[0].configurations.map((c: { id: string }) => c.id)).toContain(created.body.id);
    } finally {
      await stack.close();
    }
  });

  test('benchmark options: changes saved on the debounce, not before the answer; one set of S3 credentials for the bucket', async () => {
    const dir = tempDir();
    const stack = await startStack({ dataDir: dir, seed: DEST_SEED, jobDelayMs: 10, saveBeforeAnswer: false, s3Credentials: 'per-stack' });
    try {
      const api = new Api(stack.url, DEST_TOKEN);
      const savedBuckets = () => (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).projects[0].buckets as Array<{ id: string }>).map((b) => b.id);
      expect((await api.post('buckets', { name: 'later' })).status).toBe(201);
      const answered = Date.now();
      const right = savedBuckets();
      if (Date.now() - answered < 50) expect(right).not.toContain('in.c-later'); // the debounce is 100 ms
      for (let waited = 0; !savedBuckets().includes('in.c-later'); waited += 50) {
        if (waited > 5000) throw new Error('the change was not saved within 5 s of its answer');
        await new Promise((x) => setTimeout(x, 50));
      }

      const [a, b] = [await api.upload('a.csv', Buffer.from('a\n1\n')), await api.upload('b.csv', Buffer.from('b\n2\n'))];
      const [da, db] = [(await api.get(`files/${a}?federationToken=1`)).body, (await api.get(`files/${b}?federationToken=1`)).body];
      expect(da.credentials.AccessKeyId).toBe(db.credentials.AccessKeyId);
      // per file (the default, test/emulator/behaviour.test.ts) this is AccessDenied
      await expect(objectsOf(da, 'download').get(db.s3Path.key)).resolves.toEqual(Buffer.from('b\n2\n'));
    } finally {
      await stack.close();
    }
  });

  test('starting without state and without seed fails clearly', async () => {
    await expect(startStack({ dataDir: tempDir() })).rejects.toThrow(/seed/);
  });
});

/** The records the emulator reads from a stream that delivers these chunks. */
async function readChunks(chunks: Buffer[]): Promise<string[][]> {
  const out: string[][] = [];
  for await (const batch of csvBatches(Readable.from(chunks))) out.push(...batch);
  return out;
}

const csvLine = (values: string[]) => stringify([values], CSV_WRITE_OPTIONS);

describe('csv', () => {
  test('parser handles quotes, escaped quotes, CRLF, newlines in values and chunk boundaries', async () => {
    const text = 'a,"b ""q"", c"\r\n"line1\nline2",\n"",x\n\n"é🚀",last';
    const bytes = Buffer.from(text);
    const whole = await readChunks([bytes]);
    expect(whole).toEqual([
      ['a', 'b "q", c'],
      ['line1\nline2', ''],
      ['', 'x'],
      ['é🚀', 'last'],
    ]);
    // every cut, also inside a multi-byte character
    for (let cut = 1; cut < bytes.length; cut++) {
      const out = await readChunks([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(out).toEqual(whole);
    }
    expect(csvLine(['a"b', '', 'c,d'])).toBe('"a""b","","c,d"\n');
  });
});
