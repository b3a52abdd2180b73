import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@kernos/model-emulator';
import type { Waiter } from '../policy.js';
import { bySeq } from './keys.js';
import { TenantQueues } from './tenant-queues.js';

let seq = 0;
const w = (tenant: string, init: Partial<Omit<Waiter, 'seq' | 'ref'>> = {}): Waiter => ({
  seq: seq++,
  priority: 0,
  enqueuedAt: 0,
  estimatedTokens: 100,
  deadlineMs: 0,
  ref: { tenant },
  ...init,
});

const heads = (queues: TenantQueues) => [...queues.backlogged()].map((q) => `${q.tenant}:${q.waiters.peek()!.seq}`).sort();

describe('TenantQueues', () => {
  it('keeps one queue per tenant in the given order and the backlogged set in step with it', () => {
    const queues = new TenantQueues((a, b) => a.priority > b.priority || (a.priority === b.priority && bySeq(a, b)));
    const a1 = w('a', { priority: 1 });
    const a2 = w('a', { priority: 5 });
    const b1 = w('b');
    queues.add(a1);
    queues.add(a2);
    queues.add(b1);
    queues.add(b1); // the same waiter twice is queued once
    expect(queues.size).toBe(3);
    expect(heads(queues)).toEqual([`a:${a2.seq}`, `b:${b1.seq}`]);
    expect(queues.remove(b1)).toBe(true);
    expect(queues.remove(b1)).toBe(false);
    expect(queues.has(b1)).toBe(false);
    expect(heads(queues)).toEqual([`a:${a2.seq}`]);
    expect(queues.remove(a2)).toBe(true);
    expect(heads(queues)).toEqual([`a:${a1.seq}`]);
    expect(queues.remove(a1)).toBe(true);
    expect(queues.size).toBe(0);
    expect(queues.backlogged().size).toBe(0);
    expect(queues.minBacklogged()).toBeUndefined();
  });

  it('charges estimates at grant, corrects them at release, and honours weights', () => {
    const queues = new TenantQueues(bySeq, { heavy: 2 });
    const x = w('light', { estimatedTokens: 1_000 });
    const y = w('heavy', { estimatedTokens: 1_000 });
    queues.add(x);
    queues.add(y);
    queues.remove(x);
    queues.granted(x);
    queues.remove(y);
    queues.granted(y);
    expect(queues.counters.get('light')).toBe(1_000);
    expect(queues.counters.get('heavy')).toBe(500);
    queues.finished({ ref: x.ref, estimatedTokens: 1_000 }, 400);
    expect(queues.counters.get('light')).toBe(400);
    queues.finished({ ref: y.ref, estimatedTokens: 1_000 }, undefined); // expired: the estimate stands
    expect(queues.counters.get('heavy')).toBe(500);
  });

  it('lifts a returning tenant to the least-served backlogged one, so idling banks no credit', () => {
    const queues = new TenantQueues(bySeq);
    const busy = w('busy', { estimatedTokens: 5_000 });
    queues.add(busy);
    queues.remove(busy);
    queues.granted(busy);
    queues.add(w('busy'));
    expect(queues.minBacklogged()).toBe(5_000);
    queues.add(w('idle'));
    expect(queues.counters.get('idle')).toBe(5_000);
    // A tenant already ahead is not lowered.
    const rich = new TenantQueues(bySeq);
    rich.counters.charge('r', 9_000);
    rich.add(w('other'));
    rich.add(w('r'));
    expect(rich.counters.get('r')).toBe(9_000);
    expect(rich.minBacklogged()).toBe(0);
  });

  it('matches a plain model under random adds and removes', () => {
    const random = mulberry32(11);
    const queues = new TenantQueues(bySeq);
    const model = new Map<string, Waiter[]>();
    const all: Waiter[] = [];
    for (let i = 0; i < 3_000; i++) {
      if (random() < 0.55 || all.length === 0) {
        const waiter = w(`t${Math.floor(random() * 6)}`);
        queues.add(waiter);
        all.push(waiter);
        model.set(waiter.ref!.tenant!, [...(model.get(waiter.ref!.tenant!) ?? []), waiter]);
      } else {
        const waiter = all.splice(Math.floor(random() * all.length), 1)[0]!;
        expect(queues.remove(waiter)).toBe(true);
        model.set(waiter.ref!.tenant!, model.get(waiter.ref!.tenant!)!.filter((x) => x !== waiter));
      }
      expect(queues.size).toBe(all.length);
      const expected = [...model].filter(([, ws]) => ws.length > 0).map(([t, ws]) => `${t}:${Math.min(...ws.map((x) => x.seq))}`).sort();
      expect(heads(queues)).toEqual(expected);
    }
  });
});
