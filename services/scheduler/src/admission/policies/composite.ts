import { IndexedHeap } from '../heap.js';
import type { Policy, PolicyOptions, Waiter } from '../policy.js';
import { tenantOf } from './keys.js';
import { VirtualTokenCounters } from './fair.js';

interface TenantQueue {
  readonly tenant: string;
  readonly waiters: IndexedHeap<Waiter>;
}

/**
 * The default policy: priority, deadlines and fairness in one order.
 *
 * 1. **Urgent deadlines.** A waiter whose deadline is less than `urgencyMs` away is granted first, earliest
 *    deadline first. Once its deadline has passed it loses this lane (it keeps its priority below), so one missed
 *    deadline cannot cascade into missing all of the ones behind it, the classic EDF failure under overload.
 * 2. **Priority with aging.** Otherwise each waiter's effective priority is `priority + waited / agingMsPerLevel`:
 *    a low-priority turn is overtaken by newer high-priority ones only for a bounded time, so nothing starves.
 *    The key `priority - enqueuedAt / agingMsPerLevel` orders the same way at every instant (aging is linear and
 *    the same for all), so a per-tenant heap stays valid without re-keying.
 * 3. **Fairness.** Tenants keep VTC virtual token counters (estimate at grant, corrected at release). The best
 *    waiter of each backlogged tenant is lowered by one level per `fairnessTokensPerLevel` tokens its tenant has
 *    received beyond the least-served backlogged tenant; the best adjusted waiter wins. A heavy hitter therefore
 *    keeps its priority order internally but cannot crowd out the other tenants.
 *
 * A decision costs O(log n) for the heaps plus a scan of the backlogged tenants.
 */
export function createCompositePolicy(options: PolicyOptions = {}): Policy {
  const agingMs = options.agingMsPerLevel ?? 15_000;
  const urgencyMs = options.urgencyMs ?? 15_000;
  const tokensPerLevel = options.fairnessTokensPerLevel ?? 5_000;
  const counters = new VirtualTokenCounters(options.tenantWeights);
  const agedKey = (w: Waiter) => w.priority - w.enqueuedAt / agingMs;
  const tenants = new Map<string, TenantQueue>();
  const backlogged = new Set<TenantQueue>();
  const urgent = new IndexedHeap<Waiter>((a, b) => (a.deadlineMs !== b.deadlineMs ? a.deadlineMs < b.deadlineMs : a.seq < b.seq));
  let size = 0;

  const minBacklogged = (): number | undefined => {
    let min: number | undefined;
    for (const queue of backlogged) {
      const value = counters.get(queue.tenant);
      if (min === undefined || value < min) min = value;
    }
    return min;
  };
  const takeOut = (waiter: Waiter): Waiter => {
    const queue = tenants.get(tenantOf(waiter.ref))!;
    queue.waiters.remove(waiter);
    if (queue.waiters.size === 0) backlogged.delete(queue);
    urgent.remove(waiter);
    size--;
    return waiter;
  };

  return {
    name: 'composite',
    get size() {
      return size;
    },
    add(waiter) {
      const tenant = tenantOf(waiter.ref);
      let queue = tenants.get(tenant);
      if (!queue) {
        queue = { tenant, waiters: new IndexedHeap<Waiter>((a, b) => {
          const ka = agedKey(a);
          const kb = agedKey(b);
          return ka !== kb ? ka > kb : a.seq < b.seq;
        }) };
        tenants.set(tenant, queue);
      }
      if (queue.waiters.size === 0) {
        counters.lift(tenant, minBacklogged());
        backlogged.add(queue);
      }
      queue.waiters.push(waiter);
      if (waiter.deadlineMs > 0) urgent.push(waiter);
      size++;
    },
    remove(waiter) {
      const queue = tenants.get(tenantOf(waiter.ref));
      if (!queue?.waiters.has(waiter)) return false;
      takeOut(waiter);
      return true;
    },
    take(now) {
      for (let top = urgent.peek(); top && top.deadlineMs < now; top = urgent.peek()) urgent.pop();
      const due = urgent.peek();
      if (due && due.deadlineMs - urgencyMs <= now) return takeOut(due);

      const floor = minBacklogged() ?? 0;
      let best: Waiter | undefined;
      let bestScore = 0;
      for (const queue of backlogged) {
        const head = queue.waiters.peek()!;
        const score = agedKey(head) - (counters.get(queue.tenant) - floor) / tokensPerLevel;
        if (!best || score > bestScore || (score === bestScore && head.seq < best.seq)) {
          best = head;
          bestScore = score;
        }
      }
      return best && takeOut(best);
    },
    onGrant: (waiter) => counters.granted(tenantOf(waiter.ref), waiter.estimatedTokens),
    onFinish: (served, actualTokens) => counters.finished(served, actualTokens),
  };
}
