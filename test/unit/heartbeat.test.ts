// The heartbeat helper and the worker's keep-alive: "still alive" never erases a cursor, and an activity that waits
// on one long call still heartbeats, so only a dead worker misses the heartbeat timeout.
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeat, keepAlive, keepAliveIntervalMs } from '../../activities/heartbeat';

function environment(info: { heartbeatDetails?: unknown; heartbeatTimeoutMs?: number }) {
  const env = new MockActivityEnvironment(info);
  const sent: unknown[] = [];
  env.on('heartbeat', (details: unknown) => sent.push(details));
  return { env, sent };
}

test('heartbeat without details sends the last progress again, and before any the previous attempt\'s cursor', async () => {
  const { env, sent } = environment({ heartbeatDetails: { fileId: 7 } });
  await env.run(async () => {
    heartbeat();
    heartbeat({ fileId: 8 });
    heartbeat();
  });
  expect(sent).toEqual([{ fileId: 7 }, { fileId: 8 }, { fileId: 8 }]);
});

test('keepAlive heartbeats the last progress on an interval while the activity waits, and stops after it', async () => {
  const { env, sent } = environment({ heartbeatTimeoutMs: 1000 });
  await env.run(() =>
    keepAlive(Context.current(), async () => {
      heartbeat({ done: 1 });
      await new Promise((resolve) => setTimeout(resolve, 1100)); // one long call, no heartbeat of its own
    }),
  );
  const during = sent.length;
  expect(sent.slice(1)).toEqual(Array(during - 1).fill({ done: 1 }));
  expect(during - 1).toBeGreaterThanOrEqual(3); // every 250 ms for a 1 s timeout
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(sent.length).toBe(during);
});

test('keepAlive leaves an activity without a heartbeat timeout alone', async () => {
  const { env, sent } = environment({ heartbeatTimeoutMs: undefined });
  await env.run(() => keepAlive(Context.current(), () => new Promise((resolve) => setTimeout(resolve, 300))));
  expect(sent).toEqual([]);
});

test('the keep-alive interval is a quarter of the timeout, between 250 ms and 5 s', () => {
  expect(keepAliveIntervalMs(20_000)).toBe(5000);
  expect(keepAliveIntervalMs(8_000)).toBe(2000);
  expect(keepAliveIntervalMs(100)).toBe(250);
});
