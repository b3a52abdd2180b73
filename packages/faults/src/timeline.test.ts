import { describe, expect, it } from 'vitest';
import { runTimeline, summariseTimelines, type HistoryEventLike } from './timeline.js';

const at = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });
let id = 0;
const ev = (ms: number, attrs: Partial<HistoryEventLike>): HistoryEventLike => ({ eventId: BigInt(++id), eventTime: at(ms), ...attrs });

describe('runTimeline', () => {
  it('splits workflow tasks and activities into queued and running time, and the rest into waiting', () => {
    id = 0;
    const events = [
      ev(1_000, {}), // started
      ev(1_000, { workflowTaskScheduledEventAttributes: {} }), // 2
      ev(1_300, { workflowTaskStartedEventAttributes: { scheduledEventId: 2n } }),
      ev(1_350, { workflowTaskCompletedEventAttributes: { scheduledEventId: 2n } }),
      ev(1_350, { activityTaskScheduledEventAttributes: { activityType: { name: 'llmTurn' } } }), // 5
      ev(2_350, { activityTaskStartedEventAttributes: { scheduledEventId: 5n } }),
      ev(2_850, { activityTaskCompletedEventAttributes: { scheduledEventId: 5n } }),
      ev(4_850, {}), // a signal 2 s later
      ev(5_000, {}), // completed
    ];
    const { parts, wallMs } = runTimeline(events);
    expect(wallMs).toBe(4_000);
    expect(Object.fromEntries(parts)).toEqual({
      'workflowTask.queue': [300],
      'workflowTask.run': [50],
      'llmTurn.queue': [1_000],
      'llmTurn.run': [500],
      waiting: [2_150],
    });
  });

  it('counts the time before a retried attempt as retries, not queueing', () => {
    id = 0;
    const events = [
      ev(0, { activityTaskScheduledEventAttributes: { activityType: { name: 'remember' } } }),
      ev(9_000, { activityTaskStartedEventAttributes: { scheduledEventId: 1n, attempt: 2 } }),
      ev(9_500, { activityTaskCompletedEventAttributes: { scheduledEventId: 1n } }),
    ];
    const { parts } = runTimeline(events);
    expect(parts.get('remember.retries')).toEqual([9_000]);
    expect(parts.get('remember.queue')).toBeUndefined();
  });

  it('counts an activity that timed out before starting as queued', () => {
    id = 0;
    const events = [
      ev(0, { activityTaskScheduledEventAttributes: { activityType: { name: 'remember' } } }),
      ev(700, { activityTaskTimedOutEventAttributes: { scheduledEventId: 1n } }),
    ];
    expect(runTimeline(events).parts.get('remember.queue')).toEqual([700]);
  });
});

describe('summariseTimelines', () => {
  it('gives each part its share of all wall time, largest first, with percentiles', () => {
    const one = { parts: new Map([['a.run', [10, 30]], ['waiting', [60]]]), wallMs: 100 };
    const two = { parts: new Map([['a.run', [20]], ['waiting', [80]]]), wallMs: 100 };
    expect(summariseTimelines([one, two])).toEqual([
      { part: 'waiting', share: 0.7, count: 2, p50: 60, p99: 80 },
      { part: 'a.run', share: 0.3, count: 3, p50: 20, p99: 30 },
    ]);
  });
});
