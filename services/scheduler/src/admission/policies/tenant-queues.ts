import { IndexedHeap } from '../heap.js';
import type { Served, Waiter } from '../policy.js';
import { tenantOf } from './keys.js';

/** Per-tenant virtual token counters as in VTC (Sheng et al., "Fairness in Serving Large Language Models", OSDI'24). */
export class VirtualTokenCounters {
  private readonly counters = new Map<string, number>();
  private lastGranted = 0;

  constructor(private readonly weights: Readonly<Record<string, number>> = {}) {}

  weight(tenant: string): number {
    const weight = this.weights[tenant];
    return weight !== undefined && weight > 0 ? weight : 1;
  }

  get(tenant: string): number {
    return this.counters.get(tenant) ?? 0;
  }

  /**
   * A tenant that was idle comes back: lift its counter to the least-served backlogged tenant (or, with nobody
   * backlogged, to the last granted one), so idling never banks credit it could later use to starve the others.
   */
  lift(tenant: string, backloggedMin: number | undefined): void {
    const floor = backloggedMin ?? this.lastGranted;
    if (this.get(tenant) < floor) this.counters.set(tenant, floor);
  }

  /** Charges `tokens` (weighted by the tenant's share); negative corrects an over-estimate. */
  charge(tenant: string, tokens: number): void {
    const value = this.get(tenant) + tokens / this.weight(tenant);
    this.counters.set(tenant, value);
  }

  granted(tenant: string, tokens: number): void {
    this.charge(tenant, tokens);
    this.lastGranted = this.get(tenant);
  }

  /** Replaces the estimate charged at grant by the reported usage. */
  finished(served: Served, actualTokens: number | undefined): void {
    if (actualTokens === undefined) return;
    this.charge(tenantOf(served.ref), actualTokens - served.estimatedTokens);
  }
}

/** One tenant's queued waiters, in the order the owning policy gives them. */
export interface TenantQueue {
  readonly tenant: string;
  readonly waiters: IndexedHeap<Waiter>;
}

/**
 * The bookkeeping the tenant-fair policies (`fair`, `composite`) share: one heap of waiters per tenant, the set of
 * backlogged tenants (those with at least one waiter) and their VTC counters. A tenant that becomes backlogged has
 * its counter lifted to the least-served backlogged tenant first, so time spent idle is never banked as credit.
 * Counters are charged with the estimate at grant and corrected to the reported usage at release.
 *
 * Ordering *between* tenants is the policy's business; this class only keeps the queues and counters consistent.
 */
export class TenantQueues {
  readonly counters: VirtualTokenCounters;
  private readonly tenants = new Map<string, TenantQueue>();
  private readonly active = new Set<TenantQueue>();
  private count = 0;

  /** `before` orders the waiters within one tenant (as for IndexedHeap); it must not change while both are queued. */
  constructor(
    private readonly before: (a: Waiter, b: Waiter) => boolean,
    weights: Readonly<Record<string, number>> = {},
  ) {
    this.counters = new VirtualTokenCounters(weights);
  }

  /** Waiters queued across all tenants. */
  get size(): number {
    return this.count;
  }

  /** The tenants with at least one waiter (each queue's `waiters.peek()` is defined). */
  backlogged(): ReadonlySet<TenantQueue> {
    return this.active;
  }

  /** The lowest counter among backlogged tenants, or undefined when nobody waits. */
  minBacklogged(): number | undefined {
    let min: number | undefined;
    for (const queue of this.active) {
      const value = this.counters.get(queue.tenant);
      if (min === undefined || value < min) min = value;
    }
    return min;
  }

  add(waiter: Waiter): void {
    const tenant = tenantOf(waiter.ref);
    let queue = this.tenants.get(tenant);
    if (!queue) {
      queue = { tenant, waiters: new IndexedHeap<Waiter>(this.before) };
      this.tenants.set(tenant, queue);
    }
    if (queue.waiters.size === 0) {
      this.counters.lift(tenant, this.minBacklogged());
      this.active.add(queue);
    }
    if (queue.waiters.has(waiter)) return;
    queue.waiters.push(waiter);
    this.count++;
  }

  has(waiter: Waiter): boolean {
    return this.tenants.get(tenantOf(waiter.ref))?.waiters.has(waiter) ?? false;
  }

  /** Takes `waiter` out of its tenant's queue; returns whether it was queued. */
  remove(waiter: Waiter): boolean {
    const queue = this.tenants.get(tenantOf(waiter.ref));
    if (!queue?.waiters.remove(waiter)) return false;
    if (queue.waiters.size === 0) this.active.delete(queue);
    this.count--;
    return true;
  }

  /** Charges a granted waiter's estimate to its tenant. */
  granted(waiter: Waiter): void {
    this.counters.granted(tenantOf(waiter.ref), waiter.estimatedTokens);
  }

  /** Replaces the estimate charged at grant by the reported usage (undefined: the lease expired, the estimate stands). */
  finished(served: Served, actualTokens: number | undefined): void {
    this.counters.finished(served, actualTokens);
  }
}
