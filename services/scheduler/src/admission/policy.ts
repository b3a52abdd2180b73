/** Who a lease is for; carried so that expiry logs (and later, fairness policies) can name the run. */
export interface HolderRef {
  tenant?: string;
  jobId?: string;
  runId?: string;
  agentId?: string;
}

/** A queued request as a policy sees it. */
export interface Waiter {
  /** Arrival order on this endpoint, strictly increasing; the tie-breaker every policy should fall back to. */
  readonly seq: number;
  /** Higher is more urgent. */
  readonly priority: number;
  /** Clock time when the request was queued (ms). */
  readonly enqueuedAt: number;
  /** Input tokens plus maximum output tokens the caller announced. */
  readonly estimatedTokens: number;
  /** Unix ms by which the turn should be done; 0 means none. */
  readonly deadlineMs: number;
  readonly ref: HolderRef | undefined;
}

/**
 * Decides which waiter gets a freed slot. The queue calls `pick` only when a slot is free and someone waits,
 * so a policy never has to think about capacity; it only orders. Policies may keep state (token-weighted
 * fairness needs per-tenant usage), which is why each endpoint gets its own instance from a factory.
 */
export interface Policy {
  readonly name: string;
  /**
   * Returns the index in `waiters` of the request to grant next. `waiters` is never empty and is in arrival
   * order; returning 0 is FIFO.
   */
  pick(waiters: readonly Waiter[], now: number): number;
}

/** Strict arrival order; priority is ignored. */
export function createFifoPolicy(): Policy {
  return { name: 'fifo', pick: () => 0 };
}

/**
 * Highest priority first, arrival order within a priority. Because waiters are in arrival order, the first
 * maximum found is the oldest one, so ties need no extra comparison. A linear scan is fine at the queue sizes
 * one endpoint sees (hundreds), and it keeps removal of a timed-out waiter trivial.
 */
export function createPriorityPolicy(): Policy {
  return {
    name: 'priority',
    pick(waiters) {
      let best = 0;
      for (let i = 1; i < waiters.length; i++) {
        if (waiters[i]!.priority > waiters[best]!.priority) best = i;
      }
      return best;
    },
  };
}

/** The policies an endpoint can name in its config; later issues add deadline, fair-share and TPM-aware ones here. */
export const policyFactories = {
  fifo: createFifoPolicy,
  priority: createPriorityPolicy,
} as const satisfies Record<string, () => Policy>;

export type PolicyName = keyof typeof policyFactories;

export const policyNames = Object.keys(policyFactories) as [PolicyName, ...PolicyName[]];
