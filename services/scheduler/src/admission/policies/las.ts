import { IndexedHeap } from '../heap.js';
import type { Policy, PolicyOptions, Served, Waiter } from '../policy.js';
import { bySeq } from './keys.js';

interface Keyed {
  readonly waiter: Waiter;
  /** The run's attained service (tokens) when this waiter queued. */
  readonly attained: number;
}

/** How many runs' attained service to remember; the least recently served are forgotten first (they restart at 0). */
const rememberRuns = 100_000;

/**
 * Program-level least attained service (Autellix, "Autellix: An Efficient Serving Engine for LLM Agents as
 * General Programs", 2025): the next grant goes to the waiter whose *run* (the whole agent program, not the single
 * call) has received the fewest tokens so far, so short programs finish quickly without knowing lengths in
 * advance, and a long program cannot block them. Autellix discretises attained service into a few queues; a
 * heap on the exact value orders the same way at this scale. Starvation guard: a waiter older than
 * `starvationMs` goes first, oldest first, whatever its run's service.
 *
 * A run's key is fixed when its waiter queues (an agent's turns are sequential, so its service does not change
 * while it waits), which keeps the heap order valid.
 */
export function createLasPolicy(options: PolicyOptions = {}): Policy {
  const starvationMs = options.starvationMs ?? 30_000;
  const attained = new Map<string, number>();
  const byService = new IndexedHeap<Keyed>((a, b) => (a.attained !== b.attained ? a.attained < b.attained : a.waiter.seq < b.waiter.seq));
  const byAge = new IndexedHeap<Keyed>((a, b) => bySeq(a.waiter, b.waiter));
  const keyed = new Map<Waiter, Keyed>();

  const runKey = (ref: Served['ref'], seq?: number) => ref?.runId || (seq === undefined ? undefined : `#${seq}`);
  const addService = (run: string | undefined, tokens: number) => {
    if (run === undefined) return;
    const value = (attained.get(run) ?? 0) + tokens;
    // Re-inserting moves the run to the young end of the map's order, which the eviction below relies on.
    attained.delete(run);
    attained.set(run, Math.max(0, value));
    if (attained.size > rememberRuns) attained.delete(attained.keys().next().value!);
  };
  const takeOut = (entry: Keyed) => {
    byService.remove(entry);
    byAge.remove(entry);
    keyed.delete(entry.waiter);
    return entry.waiter;
  };

  return {
    name: 'las',
    get size() {
      return keyed.size;
    },
    add(waiter) {
      const entry = { waiter, attained: attained.get(runKey(waiter.ref, waiter.seq)!) ?? 0 };
      keyed.set(waiter, entry);
      byService.push(entry);
      byAge.push(entry);
    },
    remove(waiter) {
      const entry = keyed.get(waiter);
      if (!entry) return false;
      takeOut(entry);
      return true;
    },
    take(now) {
      const oldest = byAge.peek();
      if (!oldest) return undefined;
      if (now - oldest.waiter.enqueuedAt >= starvationMs) return takeOut(oldest);
      return takeOut(byService.peek()!);
    },
    onGrant: (waiter) => addService(runKey(waiter.ref, waiter.seq), waiter.estimatedTokens),
    onFinish(served, actualTokens) {
      if (actualTokens !== undefined) addService(runKey(served.ref), actualTokens - served.estimatedTokens);
    },
  };
}
