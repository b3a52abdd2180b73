import { randomUUID } from 'node:crypto';
import { KernosError } from '@kernos/errors';
import type { HolderRef, Policy, Waiter } from './policy.js';

/** Time and timers, injectable so tests can move time by hand. */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/**
 * Wall clock and Node timers. The globals are looked up on each call (not captured at import) so that
 * vitest's fake timers, installed after import, still take effect.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // Lease and wait timers must never be what keeps a process alive on shutdown.
    (timer as { unref?: () => void }).unref?.();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface AdmissionRequest {
  /** Higher is more urgent (default 0). */
  priority?: number;
  /** Input plus maximum output tokens the caller expects to use (default 0). */
  estimatedTokens?: number;
  /** Unix ms by which the turn should be done; 0 means none (default 0). Ordering by it is a later policy. */
  deadlineMs?: number;
  /**
   * Give up waiting after this many ms: the request leaves the queue and the promise rejects with `timeout`.
   * Callers set it to their own request timeout so no grant is made for a caller that has gone (default 0: wait forever).
   */
  maxWaitMs?: number;
  ref?: HolderRef;
}

export interface Lease {
  readonly id: string;
  readonly endpoint: string;
  readonly priority: number;
  readonly estimatedTokens: number;
  readonly ref: HolderRef | undefined;
  readonly grantedAt: number;
  readonly expiresAt: number;
  /** How long the request sat in the queue before the grant. */
  readonly waitedMs: number;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * What happened to a release:
 * - `released`: the lease was active; its slot is free now.
 * - `late`: the lease had already expired (its slot was reclaimed earlier); the usage is still counted.
 * - `unknown`: never granted here, already released, or expired too long ago to remember.
 */
export type ReleaseOutcome = 'released' | 'late' | 'unknown';

export interface EndpointQueueStats {
  endpoint: string;
  maxConcurrent: number;
  active: number;
  queued: number;
  grantedTotal: number;
  /** Input plus output tokens from release reports. */
  tokensTotal: number;
  expiredTotal: number;
  waitTimeoutsTotal: number;
}

export interface EndpointQueueOptions {
  /** Endpoint name, copied into leases and errors. */
  name: string;
  /** Leases that may be active at once; a positive integer. */
  maxConcurrent: number;
  /** How long a lease lives without a release; a positive number of ms. */
  leaseTtlMs: number;
  /** Orders the waiters; one instance per queue. */
  policy: Policy;
  /** Time source (default: the system clock). */
  clock?: Clock;
  /** Lease id generator (default: crypto.randomUUID). */
  newLeaseId?: () => string;
  /** Told of every lease reclaimed by its TTL, after the slot is freed and before the next waiter is granted. */
  onExpire?: (lease: Lease) => void;
  /**
   * How many expired lease ids to remember so a late release still counts its tokens (default 1024).
   * Older ones are forgotten and their late release is `unknown`.
   */
  rememberExpired?: number;
}

interface QueuedWaiter extends Waiter {
  readonly maxWaitMs: number;
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: Error) => void;
  waitTimer: unknown;
}

interface ActiveLease {
  readonly lease: Lease;
  readonly ttlTimer: unknown;
}

/**
 * Admission for one model endpoint: at most `maxConcurrent` active leases, everyone else waits in a queue that
 * the policy orders. Everything here runs synchronously on the event loop, so a release and the grant it
 * enables happen in one step: there is never a free slot while someone waits.
 */
export class EndpointQueue {
  readonly name: string;
  readonly maxConcurrent: number;
  private readonly leaseTtlMs: number;
  private readonly policy: Policy;
  private readonly clock: Clock;
  private readonly newLeaseId: () => string;
  private readonly onExpire: ((lease: Lease) => void) | undefined;
  private readonly rememberExpired: number;

  private readonly active = new Map<string, ActiveLease>();
  /** In arrival order; policies rely on that. */
  private readonly waiters: QueuedWaiter[] = [];
  /** Insertion-ordered, so the oldest is evicted first. */
  private readonly recentlyExpired = new Map<string, Lease>();
  private nextSeq = 0;
  private closedWith: KernosError | undefined;
  private grantedTotal = 0;
  private tokensTotal = 0;
  private expiredTotal = 0;
  private waitTimeoutsTotal = 0;

  constructor(options: EndpointQueueOptions) {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) {
      throw new KernosError('invalid_argument', `endpoint ${options.name}: maxConcurrent must be a positive integer, got ${options.maxConcurrent}`);
    }
    if (!(options.leaseTtlMs > 0)) {
      throw new KernosError('invalid_argument', `endpoint ${options.name}: leaseTtlMs must be positive, got ${options.leaseTtlMs}`);
    }
    this.name = options.name;
    this.maxConcurrent = options.maxConcurrent;
    this.leaseTtlMs = options.leaseTtlMs;
    this.policy = options.policy;
    this.clock = options.clock ?? systemClock;
    this.newLeaseId = options.newLeaseId ?? randomUUID;
    this.onExpire = options.onExpire;
    this.rememberExpired = options.rememberExpired ?? 1024;
  }

  /** Resolves with a lease at once if a slot is free, otherwise when the policy picks this request. */
  acquire(request: AdmissionRequest = {}): Promise<Lease> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<Lease>((resolve, reject) => {
      const waiter: QueuedWaiter = {
        seq: this.nextSeq++,
        priority: request.priority ?? 0,
        estimatedTokens: request.estimatedTokens ?? 0,
        deadlineMs: request.deadlineMs ?? 0,
        ref: request.ref,
        enqueuedAt: this.clock.now(),
        maxWaitMs: request.maxWaitMs ?? 0,
        resolve,
        reject,
        waitTimer: undefined,
      };
      // Always queue, then grant: one code path, and a newcomer can never overtake someone already waiting.
      this.waiters.push(waiter);
      this.grantWhileFree();
      if (this.waiters.includes(waiter) && waiter.maxWaitMs > 0) {
        waiter.waitTimer = this.clock.setTimer(() => this.giveUp(waiter), waiter.maxWaitMs);
      }
    });
  }

  /** Frees the lease's slot (granting the next waiter) and counts the reported usage. Never throws. */
  release(leaseId: string, usage: Usage = { inputTokens: 0, outputTokens: 0 }): ReleaseOutcome {
    const held = this.active.get(leaseId);
    if (held) {
      this.clock.clearTimer(held.ttlTimer);
      this.active.delete(leaseId);
      this.tokensTotal += usage.inputTokens + usage.outputTokens;
      this.grantWhileFree();
      return 'released';
    }
    if (this.recentlyExpired.delete(leaseId)) {
      // The turn did run and spend tokens; only the slot was already taken back. Deleting the id makes a second report unknown.
      this.tokensTotal += usage.inputTokens + usage.outputTokens;
      return 'late';
    }
    return 'unknown';
  }

  /** Whether the lease is active here; lets a multi-endpoint front find the right queue. */
  holds(leaseId: string): boolean {
    return this.active.has(leaseId) || this.recentlyExpired.has(leaseId);
  }

  stats(): EndpointQueueStats {
    return {
      endpoint: this.name,
      maxConcurrent: this.maxConcurrent,
      active: this.active.size,
      queued: this.waiters.length,
      grantedTotal: this.grantedTotal,
      tokensTotal: this.tokensTotal,
      expiredTotal: this.expiredTotal,
      waitTimeoutsTotal: this.waitTimeoutsTotal,
    };
  }

  /**
   * Rejects every waiter with `reason`, cancels all timers and refuses new requests. State is in memory only,
   * so active leases are simply forgotten; a release that reaches a restarted scheduler answers released=false.
   */
  close(reason: KernosError): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    for (const waiter of this.waiters.splice(0)) {
      this.clock.clearTimer(waiter.waitTimer);
      waiter.reject(reason);
    }
    for (const held of this.active.values()) this.clock.clearTimer(held.ttlTimer);
    this.active.clear();
  }

  private grantWhileFree(): void {
    while (this.active.size < this.maxConcurrent && this.waiters.length > 0) {
      const now = this.clock.now();
      const index = this.policy.pick(this.waiters, now);
      // A policy bug must not strand the queue or grant twice; fall back to arrival order.
      const chosen = Number.isInteger(index) && index >= 0 && index < this.waiters.length ? index : 0;
      const [waiter] = this.waiters.splice(chosen, 1);
      this.clock.clearTimer(waiter!.waitTimer);
      waiter!.resolve(this.grant(waiter!, now));
    }
  }

  private grant(waiter: QueuedWaiter, now: number): Lease {
    const lease: Lease = {
      id: this.newLeaseId(),
      endpoint: this.name,
      priority: waiter.priority,
      estimatedTokens: waiter.estimatedTokens,
      ref: waiter.ref,
      grantedAt: now,
      expiresAt: now + this.leaseTtlMs,
      waitedMs: now - waiter.enqueuedAt,
    };
    const ttlTimer = this.clock.setTimer(() => this.expire(lease.id), this.leaseTtlMs);
    this.active.set(lease.id, { lease, ttlTimer });
    this.grantedTotal++;
    return lease;
  }

  private expire(leaseId: string): void {
    const held = this.active.get(leaseId);
    if (!held) return;
    this.active.delete(leaseId);
    this.expiredTotal++;
    this.recentlyExpired.set(leaseId, held.lease);
    if (this.recentlyExpired.size > this.rememberExpired) {
      const oldest = this.recentlyExpired.keys().next().value;
      if (oldest !== undefined) this.recentlyExpired.delete(oldest);
    }
    try {
      this.onExpire?.(held.lease);
    } finally {
      // Even if the hook throws, the freed slot must go to the next waiter.
      this.grantWhileFree();
    }
  }

  private giveUp(waiter: QueuedWaiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return;
    this.waiters.splice(index, 1);
    this.waitTimeoutsTotal++;
    waiter.reject(
      new KernosError(
        'timeout',
        `no slot on endpoint "${this.name}" within max_wait_ms ${waiter.maxWaitMs} (${this.active.size}/${this.maxConcurrent} active, ${this.waiters.length} still queued)`,
        { details: { endpoint: this.name } },
      ),
    );
  }
}
