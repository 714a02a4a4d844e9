// What a migration's workflow histories tell: their sizes, and when each activity ran.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;
const seconds = (t: HistoryEvent['eventTime']) => Number(t?.seconds ?? 0) + (t?.nanos ?? 0) / 1e9;

export interface Interval {
  type: string;
  start: number;
  end: number;
}

function activityIntervals(events: HistoryEvent[]): Interval[] {
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  const out: Interval[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) scheduled.set(id, e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?');
    else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) started.set(String(e.activityTaskStartedEventAttributes?.scheduledEventId), seconds(e.eventTime));
    else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
      const sid = String(e.activityTaskCompletedEventAttributes?.scheduledEventId);
      out.push({ type: scheduled.get(sid) ?? '?', start: started.get(sid) ?? seconds(e.eventTime), end: seconds(e.eventTime) });
    }
  }
  return out;
}

/** Length of the union of intervals, optionally minus the parts covered by `minus`. */
export function covered(intervals: Interval[], minus: Interval[] = []): number {
  const points: Array<[number, number, number]> = [];
  for (const i of intervals) points.push([i.start, 1, 0], [i.end, -1, 0]);
  for (const i of minus) points.push([i.start, 0, 1], [i.end, 0, -1]);
  points.sort((a, b) => a[0] - b[0]);
  let inA = 0;
  let inB = 0;
  let last = 0;
  let total = 0;
  for (const [t, a, b] of points) {
    if (inA > 0 && inB === 0) total += t - last;
    inA += a;
    inB += b;
    last = t;
  }
  return total;
}

/** The activities that move tables: a batch's small ones in one, `tableConcurrency` at a time; a large one alone. */
export const TABLE_ACTIVITIES = new Set(['snapshotTableGroup', 'restoreTableGroup']);

/**
 * How many table activities were running at once: the peak, and the mean over the time any ran (the sum of their
 * durations over the length of their union). A group activity counts once, whatever the tables it has in hand.
 */
export function tablesInFlight(intervals: Interval[]): { peak: number; mean: number } {
  const tables = intervals.filter((i) => TABLE_ACTIVITIES.has(i.type));
  const points = tables.flatMap((i): Array<[number, number]> => [[i.start, 1], [i.end, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let running = 0;
  let peak = 0;
  for (const [, step] of points) peak = Math.max(peak, (running += step));
  const busy = tables.reduce((sum, i) => sum + (i.end - i.start), 0);
  return { peak, mean: busy / Math.max(0.001, covered(tables)) };
}

export interface MigrationHistory {
  parentEvents: number;
  parentBytes: number;
  children: number;
  largestChild: number;
  totalEvents: number;
  /** Every activity of the parent and its children. */
  intervals: Interval[];
}

/** The parent's history, and that of every child it started. */
export async function readHistory(client: Client, handle: WorkflowHandle): Promise<MigrationHistory> {
  const parentEvents: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
  const description = await handle.describe();
  const childIds = parentEvents
    .filter((e) => e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? '');
  const intervals = activityIntervals(parentEvents);
  let childEvents = 0;
  let largestChild = 0;
  for (const id of childIds) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    childEvents += events.length;
    largestChild = Math.max(largestChild, events.length);
    intervals.push(...activityIntervals(events));
  }
  return { parentEvents: parentEvents.length, parentBytes: description.historySize ?? 0, children: childIds.length, largestChild, totalEvents: parentEvents.length + childEvents, intervals };
}
