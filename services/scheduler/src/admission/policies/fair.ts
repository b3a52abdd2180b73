import type { Policy, PolicyOptions, Waiter } from '../policy.js';
import { bySeq } from './keys.js';
import { TenantQueues, type TenantQueue } from './tenant-queues.js';

// Kept here too: VirtualTokenCounters used to live in this file.
export { VirtualTokenCounters } from './tenant-queues.js';

/**
 * Token-weighted fair queuing across tenants (VTC). Each tenant has a virtual counter of the tokens it was
 * granted (estimate at grant: input + max output; corrected to the actual usage at release); the next grant goes
 * to the backlogged tenant with the lowest counter, FIFO within a tenant. Priority and deadlines are ignored: this
 * is fairness alone. A decision scans the backlogged tenants (O(tenants + log n)).
 */
export function createFairPolicy(options: PolicyOptions = {}): Policy {
  const queues = new TenantQueues(bySeq, options.tenantWeights);

  return {
    name: 'fair',
    get size() {
      return queues.size;
    },
    add: (waiter) => queues.add(waiter),
    remove: (waiter) => queues.remove(waiter),
    take() {
      let best: TenantQueue | undefined;
      let bestCounter = 0;
      for (const queue of queues.backlogged()) {
        const value = queues.counters.get(queue.tenant);
        if (!best || value < bestCounter || (value === bestCounter && queue.waiters.peek()!.seq < best.waiters.peek()!.seq)) {
          best = queue;
          bestCounter = value;
        }
      }
      const waiter: Waiter | undefined = best?.waiters.peek();
      if (waiter) queues.remove(waiter);
      return waiter;
    },
    onGrant: (waiter) => queues.granted(waiter),
    onFinish: (served, actualTokens) => queues.finished(served, actualTokens),
  };
}
