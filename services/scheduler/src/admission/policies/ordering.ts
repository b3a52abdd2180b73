import { IndexedHeap } from '../heap.js';
import type { Policy, PolicyOptions, Waiter } from '../policy.js';
import { bySeq, runOf } from './keys.js';

/** A policy that is one heap under a fixed order. */
function heapPolicy(name: string, before: (a: Waiter, b: Waiter) => boolean): Policy {
  const heap = new IndexedHeap<Waiter>(before);
  return {
    name,
    get size() {
      return heap.size;
    },
    add: (waiter) => heap.push(waiter),
    remove: (waiter) => heap.remove(waiter),
    take: () => heap.pop(),
  };
}

/** Strict arrival order; priority, deadlines and tenants are ignored. The baseline every other policy is measured against. */
export function createFifoPolicy(): Policy {
  return heapPolicy('fifo', bySeq);
}

/** Highest priority first, arrival order within a priority. Starves low priorities under sustained high-priority load, by design. */
export function createPriorityPolicy(): Policy {
  return heapPolicy('priority', (a, b) => (a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq));
}

/**
 * Earliest deadline first. Waiters without a deadline (0) come after every waiter with one, in arrival order;
 * equal deadlines go by priority, then arrival. Optimal for meeting deadlines when the load is feasible, and
 * prone to a domino of misses when it is not; the composite policy guards against that.
 */
export function createEdfPolicy(): Policy {
  const due = (w: Waiter) => (w.deadlineMs > 0 ? w.deadlineMs : Number.POSITIVE_INFINITY);
  return heapPolicy('edf', (a, b) => {
    const da = due(a);
    const db = due(b);
    if (da !== db) return da < db;
    if (a.priority !== b.priority) return a.priority > b.priority;
    return a.seq < b.seq;
  });
}

/**
 * AIOS-style round robin at turn granularity: runs take turns, one grant per run per round, in the order the
 * runs first queued. AIOS slices a generation in time; a turn cannot be cut here (cooperative preemption at turn
 * boundaries), so with one waiting turn per run this is close to FIFO, and it differs when a run fans out turns.
 */
export function createRoundRobinPolicy(): Policy {
  const perRun = new Map<string, IndexedHeap<Waiter>>();
  /** Runs with waiters, in round order; a run may appear once. */
  let ring: string[] = [];
  let head = 0;
  let size = 0;
  return {
    name: 'round-robin',
    get size() {
      return size;
    },
    add(waiter) {
      const run = runOf(waiter);
      let queue = perRun.get(run);
      if (!queue) {
        queue = new IndexedHeap<Waiter>(bySeq);
        perRun.set(run, queue);
        ring.push(run);
      }
      queue.push(waiter);
      size++;
    },
    remove(waiter) {
      const queue = perRun.get(runOf(waiter));
      if (!queue?.remove(waiter)) return false;
      size--;
      // An emptied run stays in the ring until take() reaches it, which keeps removal O(log n).
      return true;
    },
    take() {
      while (head < ring.length) {
        const run = ring[head++]!;
        const queue = perRun.get(run)!;
        const waiter = queue.pop();
        if (queue.size > 0) ring.push(run);
        else perRun.delete(run);
        // Compact the consumed prefix now and then so the ring does not grow without bound.
        if (head > 1024 && head * 2 > ring.length) {
          ring = ring.slice(head);
          head = 0;
        }
        if (waiter) {
          size--;
          return waiter;
        }
      }
      return undefined;
    },
  };
}

/**
 * AIOS-style batched FIFO: the scheduler collects requests for `batchIntervalMs` and dispatches each window's
 * batch in arrival order. A request arriving at an idle endpoint still waits for the end of its window, which is
 * the latency this baseline trades for batching.
 */
export function createBatchedFifoPolicy(options: PolicyOptions = {}): Policy {
  const interval = options.batchIntervalMs ?? 50;
  const heap = new IndexedHeap<Waiter>(bySeq);
  const windowEnd = (w: Waiter) => (Math.floor(w.enqueuedAt / interval) + 1) * interval;
  return {
    name: 'batched-fifo',
    get size() {
      return heap.size;
    },
    add: (waiter) => heap.push(waiter),
    remove: (waiter) => heap.remove(waiter),
    take(now) {
      const oldest = heap.peek();
      return oldest && windowEnd(oldest) <= now ? heap.pop() : undefined;
    },
    nextEligibleAt() {
      const oldest = heap.peek();
      return oldest && windowEnd(oldest);
    },
  };
}
