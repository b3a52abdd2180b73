import { describe, expect, it } from 'vitest';
import { createKeyedTokenBuckets } from './token-bucket.js';

describe('keyed token buckets', () => {
  it('allows a burst, refuses the next with the wait, and refills with time', () => {
    let t = 0;
    const buckets = createKeyedTokenBuckets({ ratePerSecond: 2, burst: 3 }, () => t);
    expect([1, 2, 3].map(() => buckets.take('a').ok)).toEqual([true, true, true]);
    const refused = buckets.take('a');
    expect(refused).toEqual({ ok: false, retryAfterMs: 500 });
    t = 499;
    expect(buckets.take('a').ok).toBe(false);
    t = 500;
    expect(buckets.take('a').ok).toBe(true);
    // Never more than the burst, however long the quiet spell.
    t = 60_000;
    expect([1, 2, 3, 4].map(() => buckets.take('a').ok)).toEqual([true, true, true, false]);
  });

  it('keeps keys apart and refunds a token', () => {
    const t = 0;
    const buckets = createKeyedTokenBuckets({ ratePerSecond: 1 }, () => t);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').ok).toBe(false);
    expect(buckets.take('b').ok).toBe(true);
    buckets.refund('a');
    expect(buckets.take('a').ok).toBe(true);
  });

  it('a zero rate refuses forever once the burst is spent', () => {
    const buckets = createKeyedTokenBuckets({ ratePerSecond: 0, burst: 1 }, () => 0);
    expect(buckets.take('a').ok).toBe(true);
    expect(buckets.take('a').retryAfterMs).toBe(Number.POSITIVE_INFINITY);
  });
});
