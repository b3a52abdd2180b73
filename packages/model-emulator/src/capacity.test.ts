import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGate, createTokenPacer } from './capacity.js';

describe('createGate', () => {
  it('admits up to maxConcurrent, queues FIFO, and refuses beyond maxQueue', async () => {
    const gate = createGate({ maxConcurrent: 2, maxQueue: 2 });
    const [a, b, c, d] = [gate.tryEnter()!, gate.tryEnter()!, gate.tryEnter()!, gate.tryEnter()!];
    expect(gate.tryEnter()).toBeUndefined();
    expect([gate.inFlight, gate.queued]).toEqual([2, 2]);

    const order: string[] = [];
    void c.ready.then(() => order.push('c'));
    void d.ready.then(() => order.push('d'));
    a.release();
    await c.ready;
    b.release();
    await d.ready;
    expect(order).toEqual(['c', 'd']);
    expect(gate.maxObservedConcurrency).toBe(2);
  });

  it('lets a queued ticket leave without taking a slot', async () => {
    const gate = createGate({ maxConcurrent: 1, maxQueue: Infinity });
    const first = gate.tryEnter()!;
    const waiting = gate.tryEnter()!;
    waiting.release();
    await expect(waiting.ready).resolves.toBe(false);
    first.release();
    first.release(); // idempotent: must not free a second slot
    expect([gate.inFlight, gate.queued]).toEqual([0, 0]);
  });

  it('refuses immediately with maxQueue 0 when every slot is busy', () => {
    const gate = createGate({ maxConcurrent: 1, maxQueue: 0 });
    expect(gate.tryEnter()).toBeDefined();
    expect(gate.tryEnter()).toBeUndefined();
  });
});

describe('createTokenPacer (processor sharing)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const finishTimes = (pacer: ReturnType<typeof createTokenPacer>, counts: number[]): number[] => {
    const start = Date.now();
    const times: number[] = [];
    counts.forEach((count, i) => void pacer.stream(count, () => undefined).done.then(() => (times[i] = Date.now() - start)));
    return times;
  };

  it('gives one stream the whole throughput', async () => {
    const pacer = createTokenPacer({ tokensPerSecond: 100, perStreamTokensPerSecond: Infinity, now: () => Date.now() });
    const times = finishTimes(pacer, [10]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(times).toEqual([100]);
  });

  it('shares the throughput equally and hands it back when a stream ends', async () => {
    const pacer = createTokenPacer({ tokensPerSecond: 100, perStreamTokensPerSecond: Infinity, now: () => Date.now() });
    const times = finishTimes(pacer, [10, 20]);
    await vi.advanceTimersByTimeAsync(1_000);
    // 50 tok/s each until the short one is done at 200 ms; the long one then has 10 left at 100 tok/s.
    expect(times).toEqual([200, 300]);
  });

  it('caps a single stream at perStreamTokensPerSecond', async () => {
    const pacer = createTokenPacer({ tokensPerSecond: 1_000, perStreamTokensPerSecond: 50, now: () => Date.now() });
    const times = finishTimes(pacer, [10, 10]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(times).toEqual([200, 200]);
  });

  it('emits tokens in order, spread over time, and stops on cancel', async () => {
    const pacer = createTokenPacer({ tokensPerSecond: 100, perStreamTokensPerSecond: Infinity, now: () => Date.now() });
    const seen: Array<[number, number]> = [];
    const start = Date.now();
    const paced = pacer.stream(10, (i) => seen.push([i, Date.now() - start]));
    await vi.advanceTimersByTimeAsync(35);
    paced.cancel();
    await expect(paced.done).resolves.toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(seen).toEqual([
      [0, 10],
      [1, 20],
      [2, 30],
    ]);
    expect(pacer.active).toBe(0);
  });

  it('emits everything at once when unpaced', async () => {
    const pacer = createTokenPacer({ tokensPerSecond: Infinity, perStreamTokensPerSecond: Infinity });
    let count = 0;
    await expect(pacer.stream(5, () => count++).done).resolves.toBe(true);
    expect(count).toBe(5);
  });
});
