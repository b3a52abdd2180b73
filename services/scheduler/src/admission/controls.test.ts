import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EndpointConfig } from '../config.js';
import { createAdmission, type Admission } from './admission.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

const endpoint = (name: string): EndpointConfig => ({ name, baseUrl: `http://${name}.local/v1`, model: 'm', maxConcurrent: 1, policy: 'fifo' });

/** One endpoint with a slot held by "holder"; returns a helper that queues labelled turns and records grants. */
async function setup(): Promise<{ admission: Admission; granted: string[]; failed: Map<string, string>; queue: (label: string, ref: { runId?: string; jobId?: string; tenant?: string }) => void; freeSlot: () => Promise<void> }> {
  const admission = createAdmission({ endpoints: [endpoint('e')], leaseTtlMs: 600_000 });
  const granted: string[] = [];
  const failed = new Map<string, string>();
  const leases = new Map<string, string>();
  let current = (await admission.acquire('e', { ref: { runId: 'holder' } })).id;
  const queue = (label: string, ref: { runId?: string; jobId?: string; tenant?: string }) => {
    void admission.acquire('e', { ref, estimatedTokens: 10 }).then(
      (grant) => {
        granted.push(label);
        leases.set(label, grant.id);
        current = grant.id;
      },
      (error: Error & { code: string }) => failed.set(label, `${error.code}: ${error.message}`),
    );
  };
  const freeSlot = async () => {
    admission.release(current, { inputTokens: 50, outputTokens: 50 });
    await flush();
  };
  return { admission, granted, failed, queue, freeSlot };
}

describe('operator controls', () => {
  it('a paused run waits while others go ahead; resumed, it is granted', async () => {
    const t = await setup();
    t.queue('a1', { runId: 'a' });
    t.queue('b1', { runId: 'b' });
    expect(t.admission.control('pause-run', 'a')).toBe(1);
    await t.freeSlot();
    expect(t.granted).toEqual(['b1']);
    t.queue('a2', { runId: 'a' }); // a new turn of a paused run is parked at once
    await t.freeSlot();
    expect(t.granted).toEqual(['b1']);
    expect(t.admission.stats()[0]).toMatchObject({ queued: 2, held: 2, active: 0 });
    expect(t.admission.control('resume-run', 'a')).toBe(2);
    await flush();
    expect(t.granted).toEqual(['b1', 'a1']);
  });

  it('cancelling a run fails its queued turns and refuses new ones', async () => {
    const t = await setup();
    t.queue('a1', { runId: 'a' });
    t.admission.control('cancel-run', 'a', 'runaway');
    await flush();
    expect(t.failed.get('a1')).toBe('conflict: run a was cancelled by an operator: runaway');
    t.queue('a2', { runId: 'a' });
    await flush();
    expect(t.failed.get('a2')).toMatch(/^conflict/);
    expect(t.admission.stats()[0]!.queued).toBe(0);
  });

  it('holding a job parks all of its runs until released', async () => {
    const t = await setup();
    t.queue('x1', { runId: 'x', jobId: 'nightly' });
    t.queue('y1', { runId: 'y', jobId: 'nightly' });
    t.queue('z1', { runId: 'z', jobId: 'other' });
    t.admission.control('hold-job', 'nightly');
    await t.freeSlot();
    await t.freeSlot();
    expect(t.granted).toEqual(['z1']);
    t.admission.control('release-job', 'nightly');
    await flush();
    expect(t.granted).toEqual(['z1', 'x1']);
  });

  it('draining an endpoint stops new grants until it is resumed', async () => {
    const t = await setup();
    t.queue('a1', { runId: 'a' });
    t.admission.control('drain-endpoint', 'e');
    await t.freeSlot();
    expect(t.granted).toEqual([]);
    expect(t.admission.stats()[0]).toMatchObject({ draining: true, active: 0, queued: 1 });
    t.admission.control('resume-endpoint', 'e');
    await flush();
    expect(t.granted).toEqual(['a1']);
    expect(() => t.admission.control('drain-endpoint', 'nope')).toThrow(/unknown endpoint "nope"/);
  });
});

describe('token budgets', () => {
  it('pause: once a run has used its budget its next turns wait until the budget is raised (pause and ask)', async () => {
    const t = await setup();
    t.admission.setBudget('run', 'r', { maxTokens: 150, onExceed: 'pause' });
    t.queue('r1', { runId: 'r' });
    await t.freeSlot(); // holder releases: r1 granted
    t.queue('r2', { runId: 'r' });
    await t.freeSlot(); // r1 used 100 of 150: r2 granted
    t.queue('r3', { runId: 'r' });
    t.queue('o1', { runId: 'o' });
    await t.freeSlot(); // r2 used 100 more: 200 >= 150, r3 parks; o1 goes
    expect(t.granted).toEqual(['r1', 'r2', 'o1']);
    expect(t.admission.setBudget('run', 'r', { maxTokens: 1_000, onExceed: 'pause' })).toEqual({ spent: 200, exceeded: false });
    await t.freeSlot();
    expect(t.granted).toEqual(['r1', 'r2', 'o1', 'r3']);
  });

  it('stop: a job over its budget has its turns refused with denied, naming the budget', async () => {
    const t = await setup();
    t.admission.setBudget('job', 'j', { maxTokens: 100, onExceed: 'stop' });
    t.queue('j1', { runId: 'r', jobId: 'j' });
    await t.freeSlot();
    t.queue('j2', { runId: 'r2', jobId: 'j' });
    await t.freeSlot(); // j1 used 100: the job is at its budget
    await flush();
    expect(t.granted).toEqual(['j1']);
    expect(t.failed.get('j2')).toBe('denied: job j has used its token budget (100 of 100 tokens)');
  });
});
