import { IndexedHeap } from '../admission/heap.js';
import type { Policy, Waiter } from '../admission/policy.js';

/**
 * The ceiling no real policy can reach: shortest remaining work first at program level, knowing each agent's
 * future turns (`remainingTokens` is an oracle only the simulator has). It bounds what any non-clairvoyant policy
 * could gain on mean completion time; it ignores priority, deadlines and tenants.
 */
export function createClairvoyantPolicy(remainingTokens: (waiter: Waiter) => number): Policy {
  const keys = new Map<Waiter, number>();
  const heap = new IndexedHeap<Waiter>((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    return ka !== kb ? ka < kb : a.seq < b.seq;
  });
  return {
    name: 'clairvoyant-srpt',
    get size() {
      return heap.size;
    },
    add(waiter) {
      keys.set(waiter, remainingTokens(waiter));
      heap.push(waiter);
    },
    remove(waiter) {
      keys.delete(waiter);
      return heap.remove(waiter);
    },
    take() {
      const waiter = heap.pop();
      if (waiter) keys.delete(waiter);
      return waiter;
    },
  };
}
