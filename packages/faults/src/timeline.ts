/**
 * Where a run's time goes, read from its Temporal history: every workflow task and every activity split into the
 * time it waited in its task queue (scheduled → started: no worker poller or slot took it yet) and the time it ran
 * (started → closed). For an activity that was retried, the time before its last attempt is `.retries` instead of
 * `.queue` (the failed attempts and the backoff: history records only the last attempt's start). What is left of
 * the run's wall time is the run waiting on a signal or a timer (for the agent: the scheduler's lease grant). The
 * agent awaits one thing at a time, so the parts add up to the run.
 */

/** The fields of a history event this module reads (structurally `temporal.api.history.v1.IHistoryEvent`). */
export interface HistoryEventLike {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  workflowTaskScheduledEventAttributes?: unknown;
  workflowTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
  workflowTaskFailedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; attempt?: number | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: unknown } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: unknown } | null;
}

/** Durations (ms) of one run, by part: `workflowTask.queue`, `workflowTask.run`, `<activity>.queue`, `<activity>.run`, `waiting`. */
export type RunTimeline = Map<string, number[]>;

export const eventMillis = (t: HistoryEventLike['eventTime']): number => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

export function runTimeline(events: readonly HistoryEventLike[]): { parts: RunTimeline; wallMs: number } {
  const parts: RunTimeline = new Map();
  const add = (part: string, ms: number) => {
    const list = parts.get(part) ?? [];
    list.push(ms);
    parts.set(part, list);
  };
  const scheduled = new Map<string, { at: number; part: string }>();
  const started = new Map<string, number>();
  for (const e of events) {
    const at = eventMillis(e.eventTime);
    const id = String(e.eventId);
    if (e.workflowTaskScheduledEventAttributes) scheduled.set(id, { at, part: 'workflowTask' });
    const activity = e.activityTaskScheduledEventAttributes;
    if (activity) scheduled.set(id, { at, part: activity.activityType?.name ?? 'activity' });
    const start = e.workflowTaskStartedEventAttributes ?? e.activityTaskStartedEventAttributes;
    if (start) {
      const key = String(start.scheduledEventId);
      const s = scheduled.get(key);
      if (s) {
        // History records only the last attempt's start: before a retried attempt lie the failed ones and the backoff.
        const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
        add(`${s.part}.${attempt > 1 ? 'retries' : 'queue'}`, at - s.at);
        started.set(key, at);
      }
    }
    const closed =
      e.workflowTaskCompletedEventAttributes ??
      e.workflowTaskFailedEventAttributes ??
      e.workflowTaskTimedOutEventAttributes ??
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes;
    if (closed) {
      const key = String(closed.scheduledEventId);
      const s = scheduled.get(key);
      // An activity that timed out before any attempt started spent all of it queued.
      if (s) add(`${s.part}.${started.has(key) ? 'run' : 'queue'}`, at - (started.get(key) ?? s.at));
    }
  }
  const wallMs = events.length > 1 ? eventMillis(events.at(-1)!.eventTime) - eventMillis(events[0]!.eventTime) : 0;
  let covered = 0;
  for (const list of parts.values()) for (const ms of list) covered += ms;
  add('waiting', Math.max(0, wallMs - covered));
  return { parts, wallMs };
}

export interface PartSummary {
  part: string;
  /** Share of all runs' wall time spent in this part (0..1). */
  share: number;
  count: number;
  p50: number;
  p99: number;
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

/** Sums many runs' timelines: each part's share of the total wall time, and its p50/p99 per occurrence, largest share first. */
export function summariseTimelines(timelines: readonly { parts: RunTimeline; wallMs: number }[]): PartSummary[] {
  const all = new Map<string, number[]>();
  let wall = 0;
  for (const t of timelines) {
    wall += t.wallMs;
    for (const [part, list] of t.parts) all.set(part, [...(all.get(part) ?? []), ...list]);
  }
  return [...all]
    .map(([part, list]) => {
      const sorted = [...list].sort((a, b) => a - b);
      return { part, share: wall > 0 ? sorted.reduce((a, b) => a + b, 0) / wall : 0, count: sorted.length, p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)) };
    })
    .sort((a, b) => b.share - a.share);
}
