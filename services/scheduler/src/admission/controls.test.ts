import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EndpointConfig } from '../config.js';
import { createAdmission, type Admission } from './admission.js';
import type { ControlKind } from './controls.js';

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

describe('controls replicated to a successor', () => {
  it('records every change in the sink, and a new admission restored from it parks, fails and counts as the old one did', async () => {
    const stored = new Map<string, { kind: string; id: string; value: unknown }>();
    const sink = (kind: ControlKind, id: string, value: unknown) => {
      if (value === undefined) stored.delete(`${kind}/${id}`);
      else stored.set(`${kind}/${id}`, { kind, id, value });
    };
    const old = createAdmission({ endpoints: [endpoint('e'), endpoint('f')], leaseTtlMs: 600_000, onControlChange: sink });
    old.control('hold-job', 'held-job');
    old.control('pause-run', 'paused-run');
    old.control('pause-run', 'resumed-run');
    old.control('resume-run', 'resumed-run');
    old.control('cancel-run', 'cancelled-run', 'operator said so');
    old.control('drain-endpoint', 'f');
    old.setBudget('run', 'spender', { maxTokens: 100, onExceed: 'stop' });
    old.setBudget('job', 'big-job', { maxTokens: 1_000, onExceed: 'pause' });
    const lease = await old.acquire('e', { ref: { runId: 'spender', jobId: 'big-job' } });
    old.release(lease.id, { inputTokens: 60, outputTokens: 50 });
    expect([...stored.keys()].sort()).toEqual([
      'budget.job/big-job',
      'budget.run/spender',
      'cancel/cancelled-run',
      'drain/f',
      'hold/held-job',
      'pause/paused-run',
      'spent.job/big-job',
      'spent.run/spender',
    ]);

    const successor = createAdmission({ endpoints: [endpoint('e'), endpoint('f')], leaseTtlMs: 600_000 });
    successor.restoreControls([...stored.values()] as Parameters<Admission['restoreControls']>[0]);
    // Spend and budgets came along: the run is over its stop budget, the job is under its own.
    expect(successor.setBudget('job', 'big-job', { maxTokens: 1_000, onExceed: 'pause' })).toEqual({ spent: 110, exceeded: false });
    await expect(successor.acquire('e', { ref: { runId: 'spender' } })).rejects.toMatchObject({ code: 'denied', message: expect.stringContaining('110 of 100') });
    await expect(successor.acquire('e', { ref: { runId: 'cancelled-run' } })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('operator said so') });
    // Held and paused turns park; a resumed run's turn does not; the drained endpoint grants nothing.
    const granted: string[] = [];
    for (const [label, ref] of [['held', { jobId: 'held-job' }], ['paused', { runId: 'paused-run' }], ['resumed', { runId: 'resumed-run' }]] as const) {
      void successor.acquire('e', { ref }).then(() => granted.push(label));
    }
    void successor.acquire('f', { ref: { runId: 'x' } }).then(() => granted.push('drained'));
    await flush();
    expect(granted).toEqual(['resumed']);
    expect(successor.stats().map((s) => ({ endpoint: s.endpoint, held: s.held, draining: s.draining }))).toEqual([
      { endpoint: 'e', held: 2, draining: false },
      { endpoint: 'f', held: 0, draining: true },
    ]);
  });
});
