import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KernosError } from '@kernos/errors';
import { EndpointQueue, type AdmissionRequest, type Lease } from './endpoint-queue.js';
import { createBatchedFifoPolicy, createFifoPolicy, createPriorityPolicy, type Policy } from './policy.js';

// The queue uses the system clock by default; vitest's fake timers replace Date and setTimeout under it.
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets promise reactions attached to grants run. */
const flush = async () => {
  for (let i = 0; i < 3; i++) await Promise.resolve();
};

function makeQueue(options: { maxConcurrent?: number; leaseTtlMs?: number; policy?: Policy; onExpire?: (lease: Lease) => void } = {}) {
  let n = 0;
  return new EndpointQueue({
    name: 'e1',
    maxConcurrent: options.maxConcurrent ?? 1,
    leaseTtlMs: options.leaseTtlMs ?? 60_000,
    policy: options.policy ?? createPriorityPolicy(),
    newLeaseId: () => `lease-${++n}`,
    onExpire: options.onExpire,
  });
}

/** Starts an acquire and records, in grant order, the label of each request that gets a lease. */
function tracker(queue: EndpointQueue) {
  const granted: string[] = [];
  const leases = new Map<string, Lease>();
  const acquire = (label: string, request: AdmissionRequest = {}) =>
    queue.acquire(request).then((lease) => {
      granted.push(label);
      leases.set(label, lease);
      return lease;
    });
  return { granted, leases, acquire };
}

describe('EndpointQueue', () => {
  it('grants at once while below maxConcurrent and queues the rest', async () => {
    const queue = makeQueue({ maxConcurrent: 2 });
    const t = tracker(queue);
    void t.acquire('a');
    void t.acquire('b');
    void t.acquire('c');
    await flush();
    expect(t.granted).toEqual(['a', 'b']);
    expect(queue.stats()).toMatchObject({ active: 2, queued: 1, grantedTotal: 2 });
    expect(t.leases.get('a')).toMatchObject({ endpoint: 'e1', waitedMs: 0, grantedAt: 1_000_000, expiresAt: 1_060_000 });
  });

  it('grants FIFO within a priority', async () => {
    const queue = makeQueue();
    const t = tracker(queue);
    void t.acquire('holder');
    for (const label of ['a', 'b', 'c']) void t.acquire(label, { priority: 3 });
    await flush();
    for (let i = 0; i < 3; i++) {
      expect(queue.release(t.leases.get(t.granted.at(-1)!)!.id)).toBe('released');
      await flush();
    }
    expect(t.granted).toEqual(['holder', 'a', 'b', 'c']);
  });

  it('grants higher priority first, oldest first among equals', async () => {
    const queue = makeQueue();
    const t = tracker(queue);
    void t.acquire('holder');
    void t.acquire('low', { priority: 0 });
    void t.acquire('high', { priority: 5 });
    void t.acquire('mid', { priority: 2 });
    void t.acquire('high2', { priority: 5 });
    void t.acquire('negative', { priority: -1 });
    await flush();
    vi.advanceTimersByTime(250);
    while (queue.stats().queued > 0) {
      queue.release(t.leases.get(t.granted.at(-1)!)!.id);
      await flush();
    }
    expect(t.granted).toEqual(['holder', 'high', 'high2', 'mid', 'low', 'negative']);
    expect(t.leases.get('high')!.waitedMs).toBe(250);
  });

  it('with the fifo policy ignores priority', async () => {
    const queue = makeQueue({ policy: createFifoPolicy() });
    const t = tracker(queue);
    void t.acquire('holder');
    void t.acquire('low', { priority: 0 });
    void t.acquire('high', { priority: 9 });
    await flush();
    queue.release(t.leases.get('holder')!.id);
    await flush();
    expect(t.granted).toEqual(['holder', 'low']);
  });

  it('reclaims a lease after its TTL, records it, and grants the next waiter', async () => {
    const expired: Lease[] = [];
    const queue = makeQueue({ leaseTtlMs: 1_000, onExpire: (lease) => expired.push(lease) });
    const t = tracker(queue);
    void t.acquire('dead-holder');
    void t.acquire('next');
    await flush();
    vi.advanceTimersByTime(999);
    await flush();
    expect(t.granted).toEqual(['dead-holder']);
    vi.advanceTimersByTime(1);
    await flush();
    expect(t.granted).toEqual(['dead-holder', 'next']);
    expect(expired.map((l) => l.id)).toEqual([t.leases.get('dead-holder')!.id]);
    expect(t.leases.get('next')).toMatchObject({ waitedMs: 1_000 });
    expect(queue.stats()).toMatchObject({ active: 1, queued: 0, expiredTotal: 1, grantedTotal: 2 });
  });

  it('keeps a renewed lease past its first TTL, and still expires it one TTL after the last renewal', async () => {
    const expired: Lease[] = [];
    const starts: Lease[] = [];
    let n = 0;
    const queue = new EndpointQueue({
      name: 'e1',
      maxConcurrent: 1,
      leaseTtlMs: 1_000,
      policy: createFifoPolicy(),
      newLeaseId: () => `lease-${++n}`,
      onExpire: (lease) => expired.push(lease),
      onLeaseStart: (lease) => starts.push(lease),
    });
    const t = tracker(queue);
    void t.acquire('long-turn');
    void t.acquire('next');
    await flush();
    const id = t.leases.get('long-turn')!.id;
    // A turn streaming for 3 TTLs, renewing every half TTL: never reclaimed.
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(500);
      const renewed = queue.renew(id);
      expect(renewed?.expiresAt).toBe(Date.now() + 1_000);
    }
    await flush();
    expect(t.granted).toEqual(['long-turn']);
    expect(expired).toEqual([]);
    // Each renewal is persisted like a grant, with the new expiry, so a successor keeps the lease.
    expect(starts.filter((lease) => lease.id === id).map((lease) => lease.expiresAt)).toEqual([1_001_000, 1_001_500, 1_002_000, 1_002_500, 1_003_000, 1_003_500, 1_004_000]);
    // The holder dies (stops renewing): one TTL later the slot goes to the next waiter.
    vi.advanceTimersByTime(999);
    await flush();
    expect(t.granted).toEqual(['long-turn']);
    vi.advanceTimersByTime(1);
    await flush();
    expect(t.granted).toEqual(['long-turn', 'next']);
    expect(expired.map((lease) => lease.id)).toEqual([id]);
    // Too late: an expired, released or unknown lease cannot be renewed back into a slot.
    expect(queue.renew(id)).toBeUndefined();
    expect(queue.renew('no-such-lease')).toBeUndefined();
    const next = t.leases.get('next')!;
    queue.release(next.id);
    expect(queue.renew(next.id)).toBeUndefined();
  });

  it('answers a release after expiry as late, counting its tokens once', async () => {
    const queue = makeQueue({ leaseTtlMs: 1_000 });
    const lease = await queue.acquire();
    vi.advanceTimersByTime(1_000);
    expect(queue.release(lease.id, { inputTokens: 10, outputTokens: 5 })).toBe('late');
    expect(queue.release(lease.id, { inputTokens: 10, outputTokens: 5 })).toBe('unknown');
    expect(queue.stats()).toMatchObject({ active: 0, tokensTotal: 15 });
  });

  it('still frees the slot when the expiry hook throws', async () => {
    const queue = makeQueue({ leaseTtlMs: 10, onExpire: () => { throw new Error('logger broke'); } });
    const t = tracker(queue);
    void t.acquire('a');
    void t.acquire('b');
    await flush();
    expect(() => vi.advanceTimersByTime(10)).toThrow('logger broke');
    await flush();
    expect(t.granted).toEqual(['a', 'b']);
  });

  it('answers an unknown or repeated release with unknown and changes nothing', async () => {
    const queue = makeQueue();
    const lease = await queue.acquire();
    expect(queue.release('no-such-lease', { inputTokens: 1, outputTokens: 1 })).toBe('unknown');
    expect(queue.release(lease.id, { inputTokens: 7, outputTokens: 3 })).toBe('released');
    expect(queue.release(lease.id, { inputTokens: 7, outputTokens: 3 })).toBe('unknown');
    expect(queue.stats()).toMatchObject({ active: 0, queued: 0, grantedTotal: 1, tokensTotal: 10 });
  });

  it('does not expire a lease that was released', async () => {
    const expired: Lease[] = [];
    const queue = makeQueue({ leaseTtlMs: 100, onExpire: (l) => expired.push(l) });
    const lease = await queue.acquire();
    queue.release(lease.id);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual([]);
    expect(queue.stats().expiredTotal).toBe(0);
  });

  it('drops a waiter after max wait with a timeout, and never grants it', async () => {
    const queue = makeQueue();
    const holder = await queue.acquire();
    const outcome = queue.acquire({ maxWaitMs: 500 }).then(
      () => 'granted',
      (error: KernosError) => error,
    );
    vi.advanceTimersByTime(500);
    const error = await outcome;
    expect(error).toBeInstanceOf(KernosError);
    expect((error as KernosError).code).toBe('timeout');
    expect((error as KernosError).message).toContain('"e1"');
    expect(queue.stats()).toMatchObject({ queued: 0, waitTimeoutsTotal: 1 });
    queue.release(holder.id);
    expect(queue.stats()).toMatchObject({ active: 0, grantedTotal: 1 });
  });

  it('cancels the max-wait timer of a waiter that was granted', async () => {
    const queue = makeQueue();
    const holder = await queue.acquire();
    const waiting = queue.acquire({ maxWaitMs: 500 });
    queue.release(holder.id);
    const lease = await waiting;
    vi.advanceTimersByTime(1_000);
    expect(queue.stats()).toMatchObject({ active: 1, waitTimeoutsTotal: 0 });
    expect(lease.id).toBe('lease-2');
  });

  it('on close rejects waiters and refuses new requests', async () => {
    const queue = makeQueue();
    await queue.acquire();
    const waiting = queue.acquire();
    const reason = new KernosError('unavailable', 'shutting down');
    queue.close(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(queue.acquire()).rejects.toBe(reason);
    expect(queue.stats()).toMatchObject({ active: 0, queued: 0 });
  });

  it('rejects a nonsensical maxConcurrent or TTL', () => {
    expect(() => makeQueue({ maxConcurrent: 0 })).toThrow(/maxConcurrent must be a positive integer/);
    expect(() => makeQueue({ leaseTtlMs: 0 })).toThrow(/leaseTtlMs must be positive/);
  });

  it('asks a batching policy again when its window ends', async () => {
    const queue = makeQueue({ maxConcurrent: 2, policy: createBatchedFifoPolicy({ batchIntervalMs: 100 }) });
    const t = tracker(queue);
    vi.advanceTimersByTime(30); // 1_000_030: the window ends at 1_000_100
    void t.acquire('a');
    void t.acquire('b');
    await flush();
    expect(t.granted).toEqual([]);
    vi.advanceTimersByTime(69);
    await flush();
    expect(t.granted).toEqual([]);
    vi.advanceTimersByTime(1);
    await flush();
    expect(t.granted).toEqual(['a', 'b']);
  });

  it('holds grants to tokensPerMinute, and a release with less than the estimate gives the rest back', async () => {
    let n = 0;
    const queue = new EndpointQueue({
      name: 'tpm',
      maxConcurrent: 10,
      leaseTtlMs: 600_000,
      policy: createFifoPolicy(),
      rateLimits: { tokensPerMinute: 1_000 },
      newLeaseId: () => `lease-${++n}`,
    });
    const t = tracker(queue);
    void t.acquire('a', { estimatedTokens: 600 });
    void t.acquire('b', { estimatedTokens: 600 });
    void t.acquire('c', { estimatedTokens: 100 });
    await flush();
    // b does not fit; c would, but it must not overtake b (the policy chose b first).
    expect(t.granted).toEqual(['a']);
    expect(queue.stats()).toMatchObject({ active: 1, queued: 2, tokensInWindow: 600 });
    // a used only 300 of its 600: the window now has 700 free, so b (600) fits, and c (100) too.
    expect(queue.release(t.leases.get('a')!.id, { inputTokens: 200, outputTokens: 100 })).toBe('released');
    await flush();
    expect(t.granted).toEqual(['a', 'b', 'c']);
    expect(queue.stats().tokensInWindow).toBe(1_000);
    void t.acquire('d', { estimatedTokens: 50 });
    await flush();
    expect(t.granted).toHaveLength(3);
    // a's booking leaves the window 60 s after its grant.
    vi.advanceTimersByTime(60_000);
    await flush();
    expect(t.granted).toEqual(['a', 'b', 'c', 'd']);
  });

  it('holds grants to requestsPerMinute', async () => {
    const queue = new EndpointQueue({ name: 'rpm', maxConcurrent: 10, leaseTtlMs: 600_000, policy: createFifoPolicy(), rateLimits: { requestsPerMinute: 2 } });
    const t = tracker(queue);
    for (const label of ['a', 'b', 'c']) void t.acquire(label);
    await flush();
    expect(t.granted).toEqual(['a', 'b']);
    vi.advanceTimersByTime(59_999);
    await flush();
    expect(t.granted).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await flush();
    expect(t.granted).toEqual(['a', 'b', 'c']);
  });

  it('tells the policy of grants and of actual usage at release', async () => {
    const seen: string[] = [];
    const inner = createFifoPolicy();
    const policy: Policy = {
      ...inner,
      get size() {
        return inner.size;
      },
      add: (w, now) => inner.add(w, now),
      remove: (w) => inner.remove(w),
      take: (now) => inner.take(now),
      onGrant: (w) => seen.push(`grant ${w.estimatedTokens}`),
      onFinish: (served, actual) => seen.push(`finish ${served.ref?.tenant} ${served.estimatedTokens}->${actual}`),
    };
    const queue = makeQueue({ policy });
    const lease = await queue.acquire({ estimatedTokens: 500, ref: { tenant: 'acme' } });
    queue.release(lease.id, { inputTokens: 100, outputTokens: 20 });
    expect(seen).toEqual(['grant 500', 'finish acme 500->120']);
  });
});

/** mulberry32: small, seedable, good enough to drive a property loop reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('EndpointQueue under interleaved acquire, release and expiry', () => {
  let expiredAcrossSeeds = 0;
  for (const seed of [1, 7, 42, 1234, 99_991]) {
    it(`never exceeds maxConcurrent, never idles a slot while someone waits, and grants in policy order (seed ${seed})`, async () => {
      const random = rng(seed);
      const maxConcurrent = 1 + Math.floor(random() * 4);
      const queue = makeQueue({ maxConcurrent, leaseTtlMs: 1_000 });

      // A model of what the queue should hold, kept independently of it.
      type Req = { seq: number; priority: number; lease?: Lease };
      const waiting: Req[] = [];
      const active = new Map<string, Lease>();
      const grants: Req[] = [];
      let totalGranted = 0;
      let seq = 0;

      for (let step = 0; step < 400; step++) {
        const before = [...waiting];
        const r = random();
        if (r < 0.5) {
          const req: Req = { seq: seq++, priority: Math.floor(random() * 4) };
          waiting.push(req);
          void queue.acquire({ priority: req.priority }).then((lease) => {
            req.lease = lease;
            grants.push(req);
          });
        } else if (r < 0.85) {
          const ids = [...active.keys()];
          if (ids.length > 0) {
            const id = ids[Math.floor(random() * ids.length)]!;
            expect(queue.release(id)).toBe('released');
            active.delete(id);
          } else {
            expect(queue.release(`nope-${step}`)).toBe('unknown');
          }
        } else {
          // Below the TTL, so a lease granted during this step cannot also expire in it.
          vi.advanceTimersByTime(Math.floor(random() * 600));
        }
        await flush();

        for (const [id, lease] of active) if (lease.expiresAt <= Date.now()) active.delete(id);
        const granted = grants.splice(0);
        totalGranted += granted.length;
        for (const req of granted) {
          active.set(req.lease!.id, req.lease!);
          waiting.splice(waiting.indexOf(req), 1);
        }

        // Those granted in this step, in grant order, are the best-ranked of those that were waiting at its start;
        // a newcomer gets a slot only if nobody was left waiting ahead of it.
        const ranked = [...before].sort((a, b) => b.priority - a.priority || a.seq - b.seq);
        const fromBefore = granted.filter((req) => before.includes(req));
        expect(fromBefore).toEqual(ranked.slice(0, fromBefore.length));
        if (granted.length > fromBefore.length) expect(fromBefore.length).toBe(before.length);

        const stats = queue.stats();
        expect(stats.active).toBeLessThanOrEqual(maxConcurrent);
        expect(stats.active).toBe(active.size);
        expect(stats.queued).toBe(waiting.length);
        if (stats.queued > 0) expect(stats.active).toBe(maxConcurrent);
      }
      expect(queue.stats().grantedTotal).toBe(totalGranted);
      expect(totalGranted).toBeGreaterThan(50);
      expiredAcrossSeeds += queue.stats().expiredTotal;
    });
  }

  it('exercised expiry in the loops above (otherwise they prove less than they claim)', () => {
    expect(expiredAcrossSeeds).toBeGreaterThan(0);
  });
});
