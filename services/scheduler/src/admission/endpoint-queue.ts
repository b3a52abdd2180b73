import { randomUUID } from 'node:crypto';
import { KernosError } from '@kernos/errors';
import type { HolderRef, Policy, Waiter } from './policy.js';
import type { Gate } from './controls.js';
import { RateWindow, type RateLimits } from './rate-window.js';

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
  /** Unix ms by which the turn should be done; 0 means none (default 0). The edf and composite policies order by it. */
  deadlineMs?: number;
  /**
   * Give up waiting after this many ms: the request leaves the queue and the promise rejects with `timeout`.
   * Callers set it to their own request timeout so no grant is made for a caller that has gone (default 0: wait forever).
   */
  maxWaitMs?: number;
  ref?: HolderRef;
  /** Aborting takes a still-queued request out of the queue; the promise rejects with the abort reason (a KernosError) or `conflict`. */
  signal?: AbortSignal;
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
  /** Tokens booked in the rolling minute (estimates, corrected at release); 0 when the endpoint has no rate limit. */
  tokensInWindow: number;
  /** Queued turns parked by an operator control or a budget (counted in `queued` too). */
  held: number;
  /** True while an operator drains the endpoint: no new grants, running turns finish. */
  draining: boolean;
  /** Queue wait of the last 1024 grants (ms). */
  waitP50Ms: number;
  waitP95Ms: number;
  /** Share of slot time in use since the queue started (0..1). */
  utilisation: number;
  /** Per tenant: grants, reported tokens, turns queued now. */
  tenants: { tenant: string; grantedTotal: number; tokensTotal: number; queued: number }[];
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
  /** Tokens and requests per rolling minute (default: unlimited). */
  rateLimits?: RateLimits;
  /** Operator controls and budgets: whether a waiter may be granted (default: always). */
  gate?: (ref: HolderRef | undefined) => Gate;
  /** Told of each reported usage (release or late release), e.g. to charge budgets. */
  onUsage?: (lease: Lease, tokens: number) => void;
  /** Told of every grant (before the grantee hears of it) and every renewal, e.g. to persist active leases for a successor. */
  onLeaseStart?: (lease: Lease) => void;
  /** Told when a lease stops being active (release or expiry). */
  onLeaseEnd?: (leaseId: string) => void;
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
  state: 'queued' | 'granted' | 'gone';
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
  /** Waiters live in the policy; this set is the queue's own record of who is still waiting (for close). */
  private readonly waiting = new Set<QueuedWaiter>();
  private readonly rate: RateWindow;
  /** The policy's choice when the rate window had no room for it: it is granted first once room appears. */
  private blocked: QueuedWaiter | undefined;
  private wakeTimer: unknown;
  private wakeAt = Number.POSITIVE_INFINITY;
  private readonly gate: (ref: HolderRef | undefined) => Gate;
  private readonly onUsage: ((lease: Lease, tokens: number) => void) | undefined;
  private readonly onLeaseStart: ((lease: Lease) => void) | undefined;
  private readonly onLeaseEnd: ((leaseId: string) => void) | undefined;
  /** Waiters held back by the gate; they are out of the policy until the gate lets them go. */
  private readonly parked = new Set<QueuedWaiter>();
  private draining = false;
  private readonly recentWaits: number[] = [];
  private recentWaitsNext = 0;
  private readonly startedAt: number;
  private busySlotMs = 0;
  private busySince: number;
  private readonly perTenant = new Map<string, { grantedTotal: number; tokensTotal: number }>();
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
    this.rate = new RateWindow(options.rateLimits ?? {});
    this.gate = options.gate ?? (() => 'go');
    this.onUsage = options.onUsage;
    this.onLeaseStart = options.onLeaseStart;
    this.onLeaseEnd = options.onLeaseEnd;
    this.startedAt = this.clock.now();
    this.busySince = this.startedAt;
  }

  /**
   * Takes over a lease granted by a predecessor (leader failover): it counts against maxConcurrent until it is
   * released or its original expiry passes. Returns false for a lease already past its expiry.
   */
  restoreLease(lease: Lease): boolean {
    const remaining = lease.expiresAt - this.clock.now();
    if (remaining <= 0 || this.active.has(lease.id)) return false;
    this.trackBusy();
    const ttlTimer = this.clock.setTimer(() => this.expire(lease.id), remaining);
    this.active.set(lease.id, { lease, ttlTimer });
    return true;
  }

  /** Stops (or resumes) granting on this endpoint; running leases are not touched. */
  setDraining(draining: boolean): void {
    this.draining = draining;
    if (!draining) this.grantWhileFree();
  }

  /**
   * Re-applies the gate to every queued waiter after a control or budget changed: newly held ones are parked,
   * released ones go back to the policy, failed ones are rejected. Returns how many waiters changed state.
   */
  regate(): number {
    let changed = 0;
    for (const waiter of [...this.waiting]) {
      const gate = this.gate(waiter.ref);
      const isParked = this.parked.has(waiter);
      if (gate instanceof KernosError) {
        this.leave(waiter, gate);
        changed++;
      } else if (gate === 'hold' && !isParked) {
        if (this.blocked === waiter) this.blocked = undefined;
        else this.policy.remove(waiter);
        this.parked.add(waiter);
        changed++;
      } else if (gate === 'go' && isParked) {
        this.parked.delete(waiter);
        this.policy.add(waiter, this.clock.now());
        changed++;
      }
    }
    this.grantWhileFree();
    return changed;
  }

  /** Resolves with a lease at once if a slot is free, otherwise when the policy picks this request. */
  acquire(request: AdmissionRequest = {}): Promise<Lease> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (request.signal?.aborted) return Promise.reject(abortError(request.signal));
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
        state: 'queued',
      };
      const gate = this.gate(waiter.ref);
      if (gate instanceof KernosError) {
        reject(gate);
        return;
      }
      // Always queue, then grant: one code path, and the policy sees the newcomer next to those already waiting.
      this.waiting.add(waiter);
      if (gate === 'hold') this.parked.add(waiter);
      else this.policy.add(waiter, waiter.enqueuedAt);
      // Same instant as the enqueue: a request granted on arrival has waited 0 ms even if the clock ticked meanwhile.
      this.grantWhileFree(waiter.enqueuedAt);
      if (waiter.state === 'queued' && waiter.maxWaitMs > 0) {
        waiter.waitTimer = this.clock.setTimer(() => this.giveUp(waiter), waiter.maxWaitMs);
      }
      if (waiter.state === 'queued' && request.signal) {
        const signal = request.signal;
        signal.addEventListener('abort', () => this.leave(waiter, abortError(signal)), { once: true });
      }
    });
  }

  /** Frees the lease's slot (granting the next waiter) and counts the reported usage. Never throws. */
  release(leaseId: string, usage: Usage = { inputTokens: 0, outputTokens: 0 }): ReleaseOutcome {
    const held = this.active.get(leaseId);
    if (held) {
      this.clock.clearTimer(held.ttlTimer);
      this.trackBusy();
      this.active.delete(leaseId);
      this.onLeaseEnd?.(leaseId);
      this.account(held.lease, usage);
      this.grantWhileFree();
      return 'released';
    }
    const expired = this.recentlyExpired.get(leaseId);
    if (expired) {
      // The turn did run and spend tokens; only the slot was already taken back. Deleting the id makes a second report unknown.
      this.recentlyExpired.delete(leaseId);
      this.account(expired, usage);
      this.grantWhileFree();
      return 'late';
    }
    return 'unknown';
  }

  /**
   * The holder is still using the lease (a long turn streaming): its TTL starts again from now, and the new expiry
   * is persisted like a grant (onLeaseStart) so a successor keeps it. Returns the renewed lease, or undefined when
   * the lease is not active: a holder that stopped renewing (it died) has lost the slot for good.
   */
  renew(leaseId: string): Lease | undefined {
    const held = this.active.get(leaseId);
    if (!held) return undefined;
    this.clock.clearTimer(held.ttlTimer);
    const lease: Lease = { ...held.lease, expiresAt: this.clock.now() + this.leaseTtlMs };
    const ttlTimer = this.clock.setTimer(() => this.expire(leaseId), this.leaseTtlMs);
    this.active.set(leaseId, { lease, ttlTimer });
    this.onLeaseStart?.(lease);
    return lease;
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
      queued: this.waiting.size,
      held: this.parked.size,
      draining: this.draining,
      ...this.waitPercentiles(),
      utilisation: this.utilisation(),
      tenants: this.tenantStats(),
      grantedTotal: this.grantedTotal,
      tokensTotal: this.tokensTotal,
      expiredTotal: this.expiredTotal,
      waitTimeoutsTotal: this.waitTimeoutsTotal,
      tokensInWindow: this.rate.usedTokens(this.clock.now()),
    };
  }

  /**
   * Rejects every waiter with `reason`, cancels all timers and refuses new requests. State is in memory only,
   * so active leases are simply forgotten; a release that reaches a restarted scheduler answers released=false.
   */
  close(reason: KernosError): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    this.clock.clearTimer(this.wakeTimer);
    this.parked.clear();
    for (const waiter of this.waiting) {
      this.clock.clearTimer(waiter.waitTimer);
      this.policy.remove(waiter);
      waiter.state = 'gone';
      waiter.reject(reason);
    }
    this.waiting.clear();
    this.blocked = undefined;
    for (const held of this.active.values()) this.clock.clearTimer(held.ttlTimer);
    this.active.clear();
  }

  /** Counts reported usage and lets the rate window and the policy replace the estimate by it. */
  private account(lease: Lease, usage: Usage): void {
    const actual = usage.inputTokens + usage.outputTokens;
    this.tokensTotal += actual;
    this.tenantEntry(lease.ref?.tenant ?? '').tokensTotal += actual;
    this.onUsage?.(lease, actual);
    this.rate.correct(lease.id, actual);
    this.policy.onFinish?.({ ref: lease.ref, estimatedTokens: lease.estimatedTokens }, actual, this.clock.now());
  }

  private grantWhileFree(now = this.clock.now()): void {
    if (this.closedWith || this.draining) return;
    while (this.active.size < this.maxConcurrent && this.waiting.size > this.parked.size) {
      const waiter = this.blocked ?? (this.policy.take(now) as QueuedWaiter | undefined);
      this.blocked = undefined;
      if (!waiter) {
        this.wakeUpAt(this.policy.nextEligibleAt?.(now));
        return;
      }
      // Checked again at grant time: a control or budget may have changed since the waiter queued.
      const gate = this.gate(waiter.ref);
      if (gate !== 'go') {
        if (gate === 'hold') this.parked.add(waiter);
        else this.leave(waiter, gate);
        continue;
      }
      const fitsAt = this.rate.fitsAt(waiter.estimatedTokens, now);
      if (fitsAt > now) {
        // Keep the policy's choice rather than letting smaller requests slip past it: order stays the policy's.
        this.blocked = waiter;
        this.wakeUpAt(fitsAt);
        return;
      }
      this.waiting.delete(waiter);
      waiter.state = 'granted';
      this.clock.clearTimer(waiter.waitTimer);
      const lease = this.grant(waiter, now);
      this.policy.onGrant?.(waiter, now);
      waiter.resolve(lease);
    }
  }

  /** Asks to run grantWhileFree again at `at` (batching window end, rate window room); keeps the earliest such time. */
  private wakeUpAt(at: number | undefined): void {
    if (at === undefined || !Number.isFinite(at) || at >= this.wakeAt) return;
    this.clock.clearTimer(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimer(() => {
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.wakeTimer = undefined;
      this.grantWhileFree();
    }, Math.max(0, at - this.clock.now()));
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
    this.trackBusy();
    this.active.set(lease.id, { lease, ttlTimer });
    this.tenantEntry(lease.ref?.tenant ?? '').grantedTotal++;
    if (this.recentWaits.length < 1024) this.recentWaits.push(lease.waitedMs);
    else this.recentWaits[this.recentWaitsNext++ % 1024] = lease.waitedMs;
    this.rate.book(lease.id, waiter.estimatedTokens, now);
    this.onLeaseStart?.(lease);
    this.grantedTotal++;
    return lease;
  }

  private expire(leaseId: string): void {
    const held = this.active.get(leaseId);
    if (!held) return;
    this.trackBusy();
    this.active.delete(leaseId);
    this.onLeaseEnd?.(leaseId);
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

  /** Adds the slot time used since the last change of the active count; call before every change. */
  private trackBusy(): void {
    const now = this.clock.now();
    this.busySlotMs += this.active.size * (now - this.busySince);
    this.busySince = now;
  }

  private utilisation(): number {
    this.trackBusy();
    const elapsed = this.clock.now() - this.startedAt;
    return elapsed <= 0 ? 0 : this.busySlotMs / (elapsed * this.maxConcurrent);
  }

  private waitPercentiles(): { waitP50Ms: number; waitP95Ms: number } {
    if (this.recentWaits.length === 0) return { waitP50Ms: 0, waitP95Ms: 0 };
    const sorted = [...this.recentWaits].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
    return { waitP50Ms: at(0.5), waitP95Ms: at(0.95) };
  }

  private tenantEntry(tenant: string): { grantedTotal: number; tokensTotal: number } {
    let entry = this.perTenant.get(tenant);
    if (!entry) {
      entry = { grantedTotal: 0, tokensTotal: 0 };
      this.perTenant.set(tenant, entry);
    }
    return entry;
  }

  private tenantStats(): EndpointQueueStats['tenants'] {
    const queued = new Map<string, number>();
    for (const waiter of this.waiting) {
      const tenant = waiter.ref?.tenant ?? '';
      queued.set(tenant, (queued.get(tenant) ?? 0) + 1);
    }
    const names = new Set([...this.perTenant.keys(), ...queued.keys()]);
    return [...names].sort().map((tenant) => ({
      tenant,
      grantedTotal: this.perTenant.get(tenant)?.grantedTotal ?? 0,
      tokensTotal: this.perTenant.get(tenant)?.tokensTotal ?? 0,
      queued: queued.get(tenant) ?? 0,
    }));
  }

  private giveUp(waiter: QueuedWaiter): void {
    if (waiter.state !== 'queued') return;
    this.waitTimeoutsTotal++;
    this.leave(
      waiter,
      new KernosError(
        'timeout',
        `no slot on endpoint "${this.name}" within max_wait_ms ${waiter.maxWaitMs} (${this.active.size}/${this.maxConcurrent} active, ${this.waiting.size - 1} still queued)`,
        { details: { endpoint: this.name } },
      ),
    );
  }

  /** Takes a queued waiter out (timeout, abort) and rejects it. */
  private leave(waiter: QueuedWaiter, error: Error): void {
    if (waiter.state !== 'queued') return;
    if (this.blocked === waiter) this.blocked = undefined;
    else if (!this.parked.delete(waiter)) this.policy.remove(waiter);
    this.waiting.delete(waiter);
    this.clock.clearTimer(waiter.waitTimer);
    waiter.state = 'gone';
    waiter.reject(error);
    // The one who left may have been the policy's blocked choice; the next one may fit.
    this.grantWhileFree();
  }
}

function abortError(signal: AbortSignal): KernosError {
  return signal.reason instanceof KernosError ? signal.reason : new KernosError('conflict', 'the request was withdrawn before it was granted');
}
