// Heartbeats: progress (the cursor a retry resumes from) and liveness. Activities call `heartbeat` instead of the
// SDK's: without details it sends the last progress again, so a "still alive" never erases a cursor. The worker
// runs every heartbeat-timed activity under `keepAlive` (worker/create-worker.ts), which does the same every few
// seconds while the activity runs: a single long request or transfer never looks like a dead worker, and a worker
// that does die is noticed within the heartbeat timeout (tens of seconds), whatever the activity was doing.
import { Context } from '@temporalio/activity';

const lastDetails = new WeakMap<Context, { details: unknown }>();

/** The progress `details` (a cursor), or, without an argument, the last progress again. */
export function heartbeat(...details: [unknown?]): void {
  const context = Context.current();
  if (details.length > 0) lastDetails.set(context, { details: details[0] });
  context.heartbeat(progressOf(context));
}

/** What the activity last reported; before its first heartbeat, the cursor its previous attempt left. */
function progressOf(context: Context): unknown {
  return lastDetails.has(context) ? lastDetails.get(context)!.details : context.info.heartbeatDetails;
}

/** How often `keepAlive` heartbeats: a quarter of the timeout, at most every 5 s (the SDK throttles below that). */
export function keepAliveIntervalMs(heartbeatTimeoutMs: number): number {
  return Math.max(250, Math.min(5000, Math.floor(heartbeatTimeoutMs / 4)));
}

/** Runs `fn` (the activity of `context`) heartbeating its last progress on an interval, when it has a heartbeat timeout. */
export async function keepAlive<T>(context: Context, fn: () => Promise<T>): Promise<T> {
  const timeoutMs = context.info.heartbeatTimeoutMs;
  if (!timeoutMs) return fn();
  const timer = setInterval(() => context.heartbeat(progressOf(context)), keepAliveIntervalMs(timeoutMs));
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Where one unit of an activity's work stands: whether the activity is a retry, the cursor a previous attempt left
 * for that unit, and how to report a new one. An activity of one table passes its own (`ownCursor`); an activity of
 * a group of tables gives each table its part of the group's cursor (activities/table-groups.ts).
 */
export interface Resumable<C> {
  retried: boolean;
  cursor: C | undefined;
  report(cursor: C): void;
}

/** The cursor of the current activity as a whole. */
export function ownCursor<C>(): Resumable<C> {
  const { info } = Context.current();
  return { retried: info.attempt > 1, cursor: info.heartbeatDetails as C | undefined, report: (cursor) => heartbeat(cursor) };
}
