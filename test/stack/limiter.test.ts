/** The per-stack adaptive limiter (AIMD): unit behaviour, and against the emulator's rate-limit fault. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type EmulatedStack } from '../../emulator/server';
import { AdaptiveLimiter, createStackClient, StackError } from '../../stack';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AdaptiveLimiter', () => {
  test('never lets more than the limit run at once', async () => {
    const limiter = new AdaptiveLimiter({ max: 3 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const permit = await limiter.acquire();
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        permit.success();
      }),
    );
    expect(peak).toBe(3);
    expect(limiter.stats()).toMatchObject({ inFlight: 0, waiting: 0, limit: 3 });
  });

  test('halves on overload, once per burst, not below min; grows by one per success up to max', async () => {
    const limiter = new AdaptiveLimiter({ max: 16, min: 2 });
    const burst = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire()));
    for (const permit of burst) permit.overloaded(); // eight 429s of requests sent at the same moment
    expect(limiter.limit).toBe(8);
    expect(limiter.stats().decreases).toBe(1);
    for (let i = 0; i < 5; i++) (await limiter.acquire()).overloaded(); // each started after the last decrease
    expect(limiter.limit).toBe(2);
    (await limiter.acquire()).release(); // a 4xx or a network error changes nothing
    expect(limiter.limit).toBe(2);
    for (let i = 0; i < 20; i++) (await limiter.acquire()).success();
    expect(limiter.limit).toBe(16);
  });

  test('waiters get the slots freed by a shrunken limit only when they fit', async () => {
    const limiter = new AdaptiveLimiter({ max: 4 });
    const first = await Promise.all(Array.from({ length: 4 }, () => limiter.acquire()));
    let started = 0;
    const later = Array.from({ length: 4 }, () => limiter.acquire().then((p) => (started++, p)));
    first[0].overloaded(); // limit 2, in flight 3: nobody may start
    await tick();
    expect(limiter.limit).toBe(2);
    expect(started).toBe(0);
    first[1].release();
    first[2].release(); // in flight 1 < 2: one may start
    await tick();
    expect(started).toBe(1);
    first[3].success(); // limit 3, in flight 1: two more
    await tick();
    expect(started).toBe(3);
    for (const p of await Promise.all(later.slice(0, 3))) p.success();
    for (const p of [await later[3]]) p.success();
    expect(limiter.stats()).toMatchObject({ inFlight: 0, waiting: 0, limit: 4 });
  });
});

describe('limiter in the stack client, against the emulator', () => {
  const TOKEN = 'limiter-token-0123456789';
  let stack: EmulatedStack;
  let dataDir: string;
  const admin = async (method: string, path: string, body?: unknown) =>
    fetch(`${stack.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'limiter-'));
    stack = await startStack({
      port: 0,
      dataDir,
      jobDelayMs: 5,
      seed: {
        stack: { region: 'us-east-1', snowflakeHost: 'h', outboundIpAddresses: [], components: [] },
        projects: [{ id: 1, name: 'p', defaultBackend: 'snowflake', backends: ['snowflake'], tokens: [{ token: TOKEN, description: 'master', isMasterToken: true }] }],
      },
    });
  });
  afterAll(async () => {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('429s shrink the stack limit, the failing calls still fail (Temporal retries), successes restore it', async () => {
    const limiter = new AdaptiveLimiter({ max: 8 });
    const client = createStackClient({ url: stack.url, token: TOKEN, limiter });
    await admin('POST', '/_emulator/faults', { kind: 'rate-limit', forRequests: 12, retryAfterSeconds: 1 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => client.buckets.list()));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as StackError).kind === 'rate-limited')).toBe(true);
    expect(limiter.limit).toBe(4); // one burst: halved once
    for (let i = 0; i < 4; i++) await client.buckets.list().catch(() => undefined); // four more 429s, one at a time
    expect(limiter.limit).toBe(1);
    expect(limiter.stats().decreases).toBe(3); // 8 → 4 → 2 → 1
    for (let i = 0; i < 10; i++) await client.buckets.list();
    expect(limiter.limit).toBe(8);
    expect(limiter.stats().inFlight).toBe(0);
  });

  test('a slot is taken by streamed downloads and uploads too, and freed when they end', async () => {
    const limiter = new AdaptiveLimiter({ max: 2 });
    const client = createStackClient({ url: stack.url, token: TOKEN, limiter });
    const file = await client.files.get((await client.files.upload('x.csv', Buffer.from('"a"\n"1"\n'))).id);
    const chunks: Buffer[] = [];
    for await (const chunk of client.files.openSlice(file, (await client.files.sliceUrls(file))[0])) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('"a"\n"1"\n');
    expect(limiter.stats()).toMatchObject({ inFlight: 0, limit: 2 });
  });
});
