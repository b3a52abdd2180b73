import { IndexedHeap } from '../heap.js';
import type { Policy, PolicyOptions, Waiter } from '../policy.js';
import { TenantQueues } from './tenant-queues.js';

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
  const agedKey = (w: Waiter) => w.priority - w.enqueuedAt / agingMs;
  const queues = new TenantQueues((a, b) => {
    const ka = agedKey(a);
    const kb = agedKey(b);
    return ka !== kb ? ka > kb : a.seq < b.seq;
  }, options.tenantWeights);
  const urgent = new IndexedHeap<Waiter>((a, b) => (a.deadlineMs !== b.deadlineMs ? a.deadlineMs < b.deadlineMs : a.seq < b.seq));

  const takeOut = (waiter: Waiter): Waiter => {
    queues.remove(waiter);
    urgent.remove(waiter);
    return waiter;
  };

  return {
    name: 'composite',
    get size() {
      return queues.size;
    },
    add(waiter) {
      if (queues.has(waiter)) return;
      queues.add(waiter);
      if (waiter.deadlineMs > 0) urgent.push(waiter);
    },
    remove(waiter) {
      if (!queues.has(waiter)) return false;
      takeOut(waiter);
      return true;
    },
    take(now) {
      for (let top = urgent.peek(); top && top.deadlineMs < now; top = urgent.peek()) urgent.pop();
      const due = urgent.peek();
      if (due && due.deadlineMs - urgencyMs <= now) return takeOut(due);

      const floor = queues.minBacklogged() ?? 0;
      let best: Waiter | undefined;
      let bestScore = 0;
      for (const queue of queues.backlogged()) {
        const head = queue.waiters.peek()!;
        const score = agedKey(head) - (queues.counters.get(queue.tenant) - floor) / tokensPerLevel;
        if (!best || score > bestScore || (score === bestScore && head.seq < best.seq)) {
          best = head;
          bestScore = score;
        }
      }
      return best && takeOut(best);
    },
    onGrant: (waiter) => queues.granted(waiter),
    onFinish: (served, actualTokens) => queues.finished(served, actualTokens),
  };
}
