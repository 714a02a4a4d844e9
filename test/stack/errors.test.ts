/** Error classification (docs/domain.md#failure-policy), job polling, and that the token never leaks into an error. */
import { inspect } from 'node:util';
import { createStackClient, JobSchema, parseRetryAfter, StackClient, StackError, kindForJobErrorCode, type Job } from '../../stack';
import { job, sendJson, TestServer, TOKEN } from './helpers';
import { poll } from '../../stack/transport';

let server: TestServer;
let client: StackClient;

beforeAll(async () => {
  server = await new TestServer().start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  client = createStackClient({ url: server.url, token: TOKEN, jobPollIntervalMs: 5, timeoutMs: 500 });
});

/** A job by its id, awaited (the client has no method for it: the transport's own job waiting). */
async function waitForJobId(c: StackClient, id: number): Promise<Job> {
  return c.transport.waitForJob(await c.transport.request('GET', `/jobs/${id}`, JobSchema));
}

async function failure(promise: Promise<unknown>): Promise<StackError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StackError);
  return error as StackError;
}

/** The token must appear nowhere: message, stack, own fields, JSON, util.inspect. */
function expectNoToken(error: StackError): void {
  expect(error.message).not.toContain(TOKEN);
  expect(String(error.stack)).not.toContain(TOKEN);
  expect(JSON.stringify(error)).not.toContain(TOKEN);
  expect(JSON.stringify(Object.entries(error))).not.toContain(TOKEN);
  expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
  expect(error).not.toHaveProperty('cause');
}

describe('HTTP error classification', () => {
  const cases: Array<{ status: number; body: unknown; headers?: Record<string, string>; kind: string; retryable: boolean; code?: string; retryAfterSeconds?: number; text: RegExp }> = [
    { status: 401, body: { error: 'Invalid access token', code: 'storage.tokenInvalid' }, kind: 'invalid-token', retryable: false, code: 'storage.tokenInvalid', text: /token for http:\/\/127\.0\.0\.1:\d+ was rejected.*check that the token exists/ },
    { status: 403, body: { error: 'You don\'t have access to the resource.', code: 'accessDenied' }, kind: 'forbidden', retryable: false, code: 'accessDenied', text: /not allowed.*master token/ },
    { status: 404, body: { error: 'Bucket in.c-x not found', code: 'storage.buckets.notFound' }, kind: 'not-found', retryable: false, code: 'storage.buckets.notFound', text: /not found/ },
    { status: 400, body: { error: 'Invalid name', code: 'storage.buckets.validation' }, kind: 'bad-request', retryable: false, code: 'storage.buckets.validation', text: /refused.*as invalid.*Invalid name/ },
    { status: 422, body: { error: 'Unprocessable', code: 422 }, kind: 'bad-request', retryable: false, code: '422', text: /as invalid/ },
    { status: 409, body: { error: 'exists', code: 'storage.buckets.alreadyExists' }, kind: 'conflict', retryable: false, text: /exists already/ },
    { status: 429, body: { error: 'Too many requests' }, headers: { 'retry-after': '7' }, kind: 'rate-limited', retryable: true, retryAfterSeconds: 7, text: /rate limiting.*retry in 7 s/ },
    { status: 500, body: { error: 'Internal Server Error', exceptionId: 'exception-1' }, kind: 'server', retryable: true, text: /HTTP 500.*retry later/ },
    { status: 502, body: '<html>bad gateway</html>', kind: 'server', retryable: true, text: /HTTP 502/ },
    { status: 503, body: { status: 'maintenance', reason: 'Thesystemisdownformaintenance', estimatedEndTime: '2013-05-25T10:30:44+02:00' }, headers: { 'retry-after': '559' }, kind: 'maintenance', retryable: true, retryAfterSeconds: 559, text: /under maintenance \(Thesystemisdownformaintenance\).*retry in 559 s/ },
    { status: 503, body: { error: 'unavailable' }, kind: 'server', retryable: true, text: /HTTP 503/ },
  ];

  it.each(cases)('HTTP $status → $kind', async (c) => {
    server.on('GET', '/v2/storage/buckets', (_req, res) => {
      if (typeof c.body === 'string') res.writeHead(c.status, { 'content-type': 'text/html', ...(c.headers ?? {}) }).end(c.body);
      else sendJson(res, c.status, c.body, c.headers);
    });
    const error = await failure(client.buckets.list());
    expect(error.kind).toBe(c.kind);
    expect(error.status).toBe(c.status);
    expect(error.retryable).toBe(c.retryable);
    expect(error.endpoint).toBe('GET /v2/storage/buckets');
    if (c.code) expect(error.code).toBe(c.code);
    expect(error.retryAfterSeconds).toBe(c.retryAfterSeconds);
    expect(error.message).toMatch(c.text);
    expectNoToken(error);
  });

  it('a server echoing the token in its error text has it redacted', async () => {
    server.reply('GET', '/v2/storage/tokens/verify', 401, { error: `Token ${TOKEN} is invalid`, code: 'storage.tokenInvalid' });
    const error = await failure(client.tokens.verify());
    expect(error.kind).toBe('invalid-token');
    expect(error.message).toContain('Token *** is invalid');
    expectNoToken(error);
  });

  it('a dropped connection is a retryable network error', async () => {
    server.on('GET', '/v2/storage/buckets', (_req, _res, raw) => {
      raw.socket.destroy();
    });
    const error = await failure(client.buckets.list());
    expect(error.kind).toBe('network');
    expect(error.retryable).toBe(true);
    expect(error.endpoint).toBe('GET /v2/storage/buckets');
    expect(error.message).toMatch(/could not talk to http:\/\/127\.0\.0\.1:\d+.*retry later/);
    expectNoToken(error);
  });

  it('a refused connection is a retryable network error', async () => {
    const dead = createStackClient({ url: 'http://127.0.0.1:1', token: TOKEN, timeoutMs: 2000 });
    const error = await failure(dead.tokens.verify());
    expect(error.kind).toBe('network');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.retryable).toBe(true);
    expectNoToken(error);
  });

  it('a server that never answers is a retryable timeout', async () => {
    server.on('GET', '/v2/storage/buckets', () => {
      // never answers
    });
    const error = await failure(client.buckets.list());
    expect(error.kind).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/did not answer in time/);
    expectNoToken(error);
  });

  it('the client itself does not show the token when inspected or serialised', () => {
    expect(inspect(client, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(client)).not.toContain(TOKEN);
  });

  it('the client never retries by itself', async () => {
    server.reply('GET', '/v2/storage/buckets', 500, { error: 'boom' });
    await failure(client.buckets.list());
    expect(server.requests).toHaveLength(1);
  });
});

describe('job polling', () => {
  it('polls until success with backoff, calling onPoll each time', async () => {
    let polls = 0;
    server.reply('POST', '/v2/storage/tables/in.c-a.t/import-async', 202, job(7, 'waiting'));
    server.on('GET', '/v2/storage/jobs/7', (_req, res) => {
      polls++;
      sendJson(res, 200, job(7, polls < 3 ? 'processing' : 'success', { results: { ok: true } }));
    });
    const seen: string[] = [];
    const c = createStackClient({ url: server.url, token: TOKEN, jobPollIntervalMs: 5, onJobPoll: (j) => seen.push(j.status) });
    const done = await c.tables.import('in.c-a.t', { dataFileId: 1 });
    expect(done.status).toBe('success');
    expect(polls).toBe(3);
    expect(seen).toEqual(['processing', 'processing', 'success']);
  });

  it('waits between checks from the first interval, growing by half up to 2 s', async () => {
    // A sleep of its own rather than a spy on setTimeout: the HTTP client's timers would show among the delays.
    const delays: number[] = [];
    const sleep = async (ms: number) => void delays.push(ms);
    let checks = 0;
    const timedOut = () => new StackError({ kind: 'timeout', endpoint: 'GET jobs/1', message: 'timed out' });
    await poll(0, async () => ++checks, (n) => n >= 12, { intervalMs: 100, timeoutMs: Infinity, timedOut, sleep });
    expect(delays.map(Math.round)).toEqual([100, 150, 225, 338, 506, 759, 1139, 1709, 2000, 2000, 2000, 2000]);
  });

  it('transport.waitForJob accepts a job read by its id and a job', async () => {
    server.reply('GET', '/v2/storage/jobs/8', 200, job(8, 'success'));
    expect((await waitForJobId(client, 8)).status).toBe('success');
    expect((await client.transport.waitForJob(job(8, 'waiting') as never)).status).toBe('success');
  });

  it('a job ending in a user error throws a non-retryable StackError carrying the job id', async () => {
    server.reply('POST', '/v2/storage/buckets/in.c-a/tables-async', 202, job(9, 'waiting', { operationName: 'tableCreate' }));
    server.reply('GET', '/v2/storage/jobs/9', 200, job(9, 'error', {
      operationName: 'tableCreate',
      error: { code: 'storage.tables.validation.invalidPrimaryKeyColumns', message: 'Primary key columns "x" not found', exceptionId: 'e-1' },
    }));
    const error = await failure(client.tables.createFromFile('in.c-a', { name: 't', dataFileId: 1, primaryKey: ['x'] }));
    expect(error.kind).toBe('job-failed');
    expect(error.retryable).toBe(false);
    expect(error.jobId).toBe(9);
    expect(error.code).toBe('storage.tables.validation.invalidPrimaryKeyColumns');
    expect(error.endpoint).toBe('POST /v2/storage/buckets/in.c-a/tables-async');
    expect(error.message).toMatch(/job 9 \(tableCreate\).*failed.*Primary key columns "x" not found/);
    expectNoToken(error);
  });

  it('a job ending in an internal error is retryable', async () => {
    server.reply('GET', '/v2/storage/jobs/10', 200, job(10, 'error', { error: { code: 'APPLICATION_ERROR', message: 'Application error' } }));
    const error = await failure(waitForJobId(client, 10));
    expect(error.kind).toBe('server');
    expect(error.retryable).toBe(true);
    expect(error.jobId).toBe(10);
  });

  it('gives up after jobTimeoutMs with a retryable timeout carrying the job id', async () => {
    server.reply('GET', '/v2/storage/jobs/11', 200, job(11, 'processing'));
    const c = createStackClient({ url: server.url, token: TOKEN, jobPollIntervalMs: 5, jobTimeoutMs: 60 });
    const error = await failure(waitForJobId(c, 11));
    expect(error.kind).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.jobId).toBe(11);
    expect(error.message).toMatch(/still processing/);
  });

  it('a polling request failing surfaces as the HTTP error of jobs/{id}', async () => {
    server.reply('GET', '/v2/storage/jobs/12', 503, { status: 'maintenance', reason: 'upgrade' }, { 'retry-after': '30' });
    const error = await failure(client.transport.waitForJob(job(12, 'waiting') as never));
    expect(error).toMatchObject({ kind: 'maintenance', retryable: true, retryAfterSeconds: 30, endpoint: 'GET /v2/storage/jobs/12' });
  });
});

describe('helpers', () => {
  it('parseRetryAfter reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:01:00 GMT', now)).toBe(60);
  });

  it('kindForJobErrorCode', () => {
    expect(kindForJobErrorCode('storage.buckets.notFound')).toEqual({ kind: 'not-found', retryable: false });
    expect(kindForJobErrorCode('storage.tables.alreadyExists')).toEqual({ kind: 'conflict', retryable: false });
    expect(kindForJobErrorCode(undefined)).toEqual({ kind: 'job-failed', retryable: false });
  });

  it('StackError.toJSON is a plain object without undefined fields', () => {
    const error = new StackError({ kind: 'server', endpoint: 'GET /v2/storage', message: 'x', status: 500 });
    expect(JSON.parse(JSON.stringify(error))).toEqual({ name: 'StackError', kind: 'server', message: 'x', endpoint: 'GET /v2/storage', retryable: true, status: 500 });
  });
});
