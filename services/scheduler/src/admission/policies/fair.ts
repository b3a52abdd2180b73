import { IndexedHeap } from '../heap.js';
import type { Policy, PolicyOptions, Served, Waiter } from '../policy.js';
import { bySeq, tenantOf } from './keys.js';

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

interface TenantQueue {
  readonly tenant: string;
  readonly waiters: IndexedHeap<Waiter>;
}

/**
 * Token-weighted fair queuing across tenants (VTC). Each tenant has a virtual counter of the tokens it was
 * granted (estimate at grant: input + max output; corrected to the actual usage at release); the next grant goes
 * to the backlogged tenant with the lowest counter, FIFO within a tenant. Priority and deadlines are ignored: this
 * is fairness alone. A decision scans the backlogged tenants (O(tenants + log n)).
 */
export function createFairPolicy(options: PolicyOptions = {}): Policy {
  const counters = new VirtualTokenCounters(options.tenantWeights);
  const tenants = new Map<string, TenantQueue>();
  const backlogged = new Set<TenantQueue>();
  let size = 0;

  const minBacklogged = (): number | undefined => {
    let min: number | undefined;
    for (const queue of backlogged) {
      const value = counters.get(queue.tenant);
      if (min === undefined || value < min) min = value;
    }
    return min;
  };

  return {
    name: 'fair',
    get size() {
      return size;
    },
    add(waiter) {
      const tenant = tenantOf(waiter.ref);
      let queue = tenants.get(tenant);
      if (!queue) {
        queue = { tenant, waiters: new IndexedHeap<Waiter>(bySeq) };
        tenants.set(tenant, queue);
      }
      if (queue.waiters.size === 0) {
        counters.lift(tenant, minBacklogged());
        backlogged.add(queue);
      }
      queue.waiters.push(waiter);
      size++;
    },
    remove(waiter) {
      const queue = tenants.get(tenantOf(waiter.ref));
      if (!queue?.waiters.remove(waiter)) return false;
      if (queue.waiters.size === 0) backlogged.delete(queue);
      size--;
      return true;
    },
    take() {
      let best: TenantQueue | undefined;
      let bestCounter = 0;
      for (const queue of backlogged) {
        const value = counters.get(queue.tenant);
        if (!best || value < bestCounter || (value === bestCounter && queue.waiters.peek()!.seq < best.waiters.peek()!.seq)) {
          best = queue;
          bestCounter = value;
        }
      }
      if (!best) return undefined;
      const waiter = best.waiters.pop()!;
      if (best.waiters.size === 0) backlogged.delete(best);
      size--;
      return waiter;
    },
    onGrant: (waiter) => counters.granted(tenantOf(waiter.ref), waiter.estimatedTokens),
    onFinish: (served, actualTokens) => counters.finished(served, actualTokens),
  };
}
