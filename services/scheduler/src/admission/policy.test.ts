import { describe, expect, it } from 'vitest';
import { IndexedHeap } from './heap.js';
import { mulberry32 } from '@kernos/model-emulator';
import { policyFactories, policyNames, type Policy, type PolicyOptions, type Waiter } from './policy.js';

let seq = 0;
const w = (label: string, init: Partial<Omit<Waiter, 'seq'>> = {}): Waiter & { label: string } => ({
  label,
  seq: seq++,
  priority: 0,
  enqueuedAt: 0,
  estimatedTokens: 100,
  deadlineMs: 0,
  ref: undefined,
  ...init,
});

/** Grants one waiter at a time at `now`, reporting each grant's usage as its estimate, and returns the grant order. */
function drain(policy: Policy, now = 0): string[] {
  const order: string[] = [];
  for (let waiter = policy.take(now); waiter; waiter = policy.take(now)) {
    policy.onGrant?.(waiter, now);
    policy.onFinish?.({ ref: waiter.ref, estimatedTokens: waiter.estimatedTokens }, waiter.estimatedTokens, now);
    order.push((waiter as Waiter & { label: string }).label);
  }
  return order;
}

const make = (name: keyof typeof policyFactories, options: PolicyOptions = {}, waiters: Waiter[] = []) => {
  const policy = policyFactories[name](options);
  for (const waiter of waiters) policy.add(waiter, waiter.enqueuedAt);
  return policy;
};

describe('IndexedHeap', () => {
  it('pops in order and removes from the middle under random operations', () => {
    const random = mulberry32(5);
    const heap = new IndexedHeap<{ v: number }>((a, b) => a.v < b.v);
    const model: { v: number }[] = [];
    for (let i = 0; i < 2_000; i++) {
      const r = random();
      if (r < 0.5 || model.length === 0) {
        const item = { v: Math.floor(random() * 100) };
        heap.push(item);
        model.push(item);
      } else if (r < 0.75) {
        const item = model.splice(Math.floor(random() * model.length), 1)[0]!;
        expect(heap.remove(item)).toBe(true);
        expect(heap.remove(item)).toBe(false);
      } else {
        const min = Math.min(...model.map((m) => m.v));
        const popped = heap.pop()!;
        expect(popped.v).toBe(min);
        model.splice(model.indexOf(popped), 1);
      }
      expect(heap.size).toBe(model.length);
    }
  });
});

describe('every policy', () => {
  for (const name of policyNames) {
    it(`${name}: grants each waiter exactly once, honours removal, and makes a fresh instance per endpoint`, () => {
      const random = mulberry32(name.length);
      const policy = policyFactories[name]({ batchIntervalMs: 10 });
      expect(policyFactories[name]()).not.toBe(policyFactories[name]());
      const added: Waiter[] = [];
      for (let i = 0; i < 300; i++) {
        added.push(
          w(`w${i}`, {
            priority: Math.floor(random() * 5),
            enqueuedAt: i,
            deadlineMs: random() < 0.3 ? 1_000 + Math.floor(random() * 1_000) : 0,
            estimatedTokens: 1 + Math.floor(random() * 1_000),
            ref: { tenant: `t${Math.floor(random() * 4)}`, runId: `r${Math.floor(random() * 40)}` },
          }),
        );
        policy.add(added.at(-1)!, i);
      }
      const removed = added.filter((_, i) => i % 7 === 3);
      for (const waiter of removed) expect(policy.remove(waiter)).toBe(true);
      expect(policy.remove(removed[0]!)).toBe(false);
      expect(policy.size).toBe(300 - removed.length);
      const order = drain(policy, 500);
      expect(new Set(order).size).toBe(order.length);
      expect(order.sort()).toEqual(added.filter((x) => !removed.includes(x)).map((x) => (x as Waiter & { label: string }).label).sort());
      expect(policy.size).toBe(0);
      expect(policy.take(500)).toBeUndefined();
    });
  }
});

describe('fifo', () => {
  it('grants in arrival order whatever the priority or deadline', () => {
    expect(drain(make('fifo', {}, [w('a'), w('b', { priority: 9 }), w('c', { deadlineMs: 1 })]))).toEqual(['a', 'b', 'c']);
  });
});

describe('priority', () => {
  it('grants the highest first and the oldest among equals', () => {
    expect(drain(make('priority', {}, [w('low', { priority: 1 }), w('high', { priority: 5 }), w('high2', { priority: 5 }), w('neg', { priority: -1 })]))).toEqual([
      'high',
      'high2',
      'low',
      'neg',
    ]);
  });
});

describe('edf', () => {
  it('grants the earliest deadline first and those without a deadline last', () => {
    expect(drain(make('edf', {}, [w('none', { priority: 9 }), w('late', { deadlineMs: 900 }), w('soon', { deadlineMs: 100 }), w('none2')]))).toEqual([
      'soon',
      'late',
      'none',
      'none2',
    ]);
  });
});

describe('round-robin', () => {
  it('gives each run one turn per round', () => {
    const r = (run: string) => ({ ref: { runId: run } });
    const policy = make('round-robin', {}, [w('a1', r('a')), w('a2', r('a')), w('a3', r('a')), w('b1', r('b')), w('c1', r('c')), w('c2', r('c'))]);
    expect(drain(policy)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  });
});

describe('batched-fifo', () => {
  it('releases nothing before the end of the window a request arrived in, then the batch in arrival order', () => {
    const policy = make('batched-fifo', { batchIntervalMs: 100 }, [w('a', { enqueuedAt: 10 }), w('b', { enqueuedAt: 99 }), w('c', { enqueuedAt: 100 })]);
    expect(policy.take(99)).toBeUndefined();
    expect(policy.nextEligibleAt?.(99)).toBe(100);
    expect(drain(policy, 100)).toEqual(['a', 'b']);
    expect(policy.nextEligibleAt?.(100)).toBe(200);
    expect(drain(policy, 200)).toEqual(['c']);
  });
});

describe('fair (virtual token counter)', () => {
  it('serves tenants in proportion to tokens, not to requests: a heavy hitter cannot crowd out others', () => {
    const policy = make('fair');
    // heavy queues 10 big requests first, light queues 10 small ones after.
    for (let i = 0; i < 10; i++) policy.add(w(`h${i}`, { estimatedTokens: 1_000, ref: { tenant: 'heavy' } }), 0);
    for (let i = 0; i < 10; i++) policy.add(w(`l${i}`, { estimatedTokens: 100, ref: { tenant: 'light' } }), 0);
    const order = drain(policy);
    // After heavy's first 1000-token grant, light gets ~10 grants before heavy is the least-served again.
    expect(order.slice(0, 12)).toEqual(['h0', 'l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8', 'l9', 'h1']);
  });

  it('corrects the counter with actual usage: a tenant that used less than estimated is served sooner', () => {
    const policy = make('fair');
    const a = w('a', { estimatedTokens: 1_000, ref: { tenant: 'A' } });
    const b = w('b', { estimatedTokens: 500, ref: { tenant: 'B' } });
    policy.add(a, 0);
    policy.add(b, 0);
    policy.onGrant!(policy.take(0)!, 0); // a: A=1000
    policy.onGrant!(policy.take(0)!, 0); // b: B=500
    policy.onFinish!({ ref: a.ref, estimatedTokens: 1_000 }, 100, 0); // A actually used 100
    policy.add(w('a2', { ref: { tenant: 'A' } }), 0);
    policy.add(w('b2', { ref: { tenant: 'B' } }), 0);
    expect(drain(policy)[0]).toBe('a2');
  });

  it('does not let an idle tenant bank credit', () => {
    const policy = make('fair');
    for (let i = 0; i < 5; i++) policy.add(w(`x${i}`, { estimatedTokens: 1_000, ref: { tenant: 'X' } }), 0);
    expect(drain(policy).length).toBe(5); // X: 5000, nobody else backlogged
    for (let i = 0; i < 3; i++) policy.add(w(`x${5 + i}`, { estimatedTokens: 1_000, ref: { tenant: 'X' } }), 0);
    for (let i = 0; i < 3; i++) policy.add(w(`y${i}`, { estimatedTokens: 1_000, ref: { tenant: 'Y' } }), 0);
    // Y arrives while X is backlogged at 5000: Y is lifted to 5000, so they alternate instead of Y taking 5 in a row.
    expect(drain(policy)).toEqual(['x5', 'y0', 'x6', 'y1', 'x7', 'y2']);
  });
});

describe('las (program-level least attained service)', () => {
  it('prefers the run that has received the least service so far', () => {
    const policy = make('las', { starvationMs: 1_000_000 });
    const long = { ref: { runId: 'long' } };
    policy.add(w('long1', { ...long, estimatedTokens: 5_000 }), 0);
    expect(drain(policy)).toEqual(['long1']);
    policy.add(w('long2', long), 1);
    policy.add(w('short1', { ref: { runId: 'short' } }), 2);
    expect(drain(policy, 3)).toEqual(['short1', 'long2']);
  });

  it('serves a waiter older than starvationMs first, whatever its run received', () => {
    const policy = make('las', { starvationMs: 100 });
    policy.add(w('long1', { ref: { runId: 'long' }, estimatedTokens: 5_000 }), 0);
    drain(policy);
    policy.add(w('long2', { ref: { runId: 'long' }, enqueuedAt: 0 }), 0);
    policy.add(w('fresh', { ref: { runId: 'fresh' }, enqueuedAt: 50 }), 50);
    expect(policy.take(99)!.seq).toBeGreaterThan(0);
    const again = make('las', { starvationMs: 100 });
    again.add(w('big', { ref: { runId: 'big' }, estimatedTokens: 5_000 }), 0);
    drain(again);
    again.add(w('big2', { ref: { runId: 'big' }, enqueuedAt: 0 }), 0);
    again.add(w('fresh2', { ref: { runId: 'fresh2' }, enqueuedAt: 50 }), 50);
    expect((again.take(100) as Waiter & { label: string }).label).toBe('big2');
  });
});

describe('composite', () => {
  it('puts a deadline that is about to pass before higher priorities, and forgets it once it has passed', () => {
    const policy = make('composite', { urgencyMs: 100 }, [w('high', { priority: 9 }), w('due', { deadlineMs: 1_050 }), w('missed', { deadlineMs: 900 })]);
    expect(drain(policy, 1_000)).toEqual(['due', 'high', 'missed']);
  });

  it('orders by priority when no deadline is near', () => {
    const policy = make('composite', { urgencyMs: 100 }, [w('low', { priority: 1 }), w('far', { priority: 0, deadlineMs: 10_000 }), w('high', { priority: 5 })]);
    expect(drain(policy, 1_000)).toEqual(['high', 'low', 'far']);
  });

  it('ages: a low priority that waited long enough overtakes newer high priorities', () => {
    const policy = make('composite', { agingMsPerLevel: 1_000 }, [w('old-low', { priority: 0, enqueuedAt: 0 }), w('new-high', { priority: 3, enqueuedAt: 2_000 }), w('newer-high', { priority: 3, enqueuedAt: 4_000 })]);
    // At 4000: old-low counts 0 + 4 = 4, new-high 3 + 2 = 5, newer-high 3 + 0 = 3.
    expect(drain(policy, 4_000)).toEqual(['new-high', 'old-low', 'newer-high']);
  });

  it('lowers a tenant that has received more tokens than the others', () => {
    const policy = make('composite', { fairnessTokensPerLevel: 1_000 });
    for (let i = 0; i < 3; i++) policy.add(w(`h${i}`, { priority: 2, estimatedTokens: 2_000, ref: { tenant: 'heavy' } }), 0);
    policy.add(w('l0', { priority: 1, estimatedTokens: 100, ref: { tenant: 'light' } }), 0);
    // h0 first (priority 2 > 1); then heavy is 2000 tokens (2 levels) ahead, so light's priority-1 turn wins.
    expect(drain(policy)).toEqual(['h0', 'l0', 'h1', 'h2']);
  });
});
