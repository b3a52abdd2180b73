/** A rate: `ratePerSecond` tokens refill continuously, at most `burst` are held. */
export interface RateLimit {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: how many calls may go at once after a quiet spell (default: max(1, ratePerSecond)). */
  burst?: number;
}

export interface TakeResult {
  ok: boolean;
  /** When not ok: how long until one token is there. */
  retryAfterMs: number;
}

/**
 * Token buckets keyed by name (one per tool, one per agent). Written here rather than taken from a library:
 * cockatiel has no rate limiter, and the well-kept ones (limiter, bottleneck) queue and wait, while the gateway
 * must answer rate_limited at once (the caller, not the gateway, decides whether to wait), for many keys, without
 * timers. Refill is computed lazily from the clock on each take, so an idle key costs nothing.
 */
export interface KeyedTokenBuckets {
  /** Takes one token for `key` if there is one. */
  take(key: string): TakeResult;
  /** Puts back a token taken for a call that was then not sent (so a refused call does not cost the caller twice). */
  refund(key: string): void;
}

export function createKeyedTokenBuckets(limit: RateLimit, now: () => number = () => performance.now()): KeyedTokenBuckets {
  const burst = limit.burst ?? Math.max(1, limit.ratePerSecond);
  const perMs = limit.ratePerSecond / 1000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const refill = (key: string): { tokens: number; at: number } => {
    const t = now();
    const bucket = buckets.get(key) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.set(key, bucket);
    return bucket;
  };

  return {
    take(key) {
      const bucket = refill(key);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true, retryAfterMs: 0 };
      }
      return { ok: false, retryAfterMs: perMs > 0 ? Math.ceil((1 - bucket.tokens) / perMs) : Number.POSITIVE_INFINITY };
    },
    refund(key) {
      const bucket = refill(key);
      bucket.tokens = Math.min(burst, bucket.tokens + 1);
    },
  };
}
