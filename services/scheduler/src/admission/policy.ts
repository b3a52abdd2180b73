import { createBatchedFifoPolicy, createEdfPolicy, createFifoPolicy, createPriorityPolicy, createRoundRobinPolicy } from './policies/ordering.js';
import { createCompositePolicy } from './policies/composite.js';
import { createFairPolicy } from './policies/fair.js';
import { createLasPolicy } from './policies/las.js';

/** Who a lease is for; carried so that expiry logs and the fairness policies can name the tenant and the run. */
export interface HolderRef {
  tenant?: string;
  jobId?: string;
  runId?: string;
  agentId?: string;
}

/** A queued request as a policy sees it. */
export interface Waiter {
  /** Arrival order on this endpoint, strictly increasing; the tie-breaker every policy falls back to. */
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

/** What a policy hears about a finished (released or expired) lease, to correct its usage counters. */
export interface Served {
  readonly ref: HolderRef | undefined;
  /** What was charged at grant time (the waiter's estimatedTokens). */
  readonly estimatedTokens: number;
}

/**
 * Decides which waiter gets a freed slot. A policy owns its queued waiters (so it can keep them in heaps keyed
 * the way it orders them: a decision costs O(log n), not a scan) and may keep state across decisions (per-tenant
 * virtual token counters, per-run attained service), which is why each endpoint gets its own instance.
 *
 * The endpoint queue calls `take` only when a slot is free and the rate limits allow a grant, so a policy never
 * thinks about capacity; it only orders.
 */
export interface Policy<W extends Waiter = Waiter> {
  readonly name: string;
  /** Waiters queued now. */
  readonly size: number;
  /** Queues a waiter (its seq is higher than every earlier one's). */
  add(waiter: W, now: number): void;
  /** Takes a waiter out that gave up (wait timeout, cancel); returns whether it was queued. */
  remove(waiter: W): boolean;
  /**
   * Removes and returns the waiter to grant next, or undefined when none may be granted yet although some wait
   * (batching); then `nextEligibleAt` says when to ask again.
   */
  take(now: number): W | undefined;
  /** When `take` returned undefined with waiters queued: the clock time to call it again. */
  nextEligibleAt?(now: number): number | undefined;
  /** A lease was granted to `waiter` (`take` already removed it). Policies charge its estimate here. */
  onGrant?(waiter: W, now: number): void;
  /**
   * A lease ended. `actualTokens` is the reported input + output usage, or undefined when the lease expired without
   * a report (the estimate stands). Policies replace the charged estimate by the actual usage here.
   */
  onFinish?(served: Served, actualTokens: number | undefined, now: number): void;
}

/** Tuning knobs of the policies; each policy reads only its own. Every field is optional. */
export interface PolicyOptions {
  /** batched-fifo: length of a batching window; a request waits for the end of the window it arrived in (default 50 ms). */
  batchIntervalMs?: number;
  /** las: a waiter older than this is served before any newer one whatever its run's attained service (default 30000 ms). */
  starvationMs?: number;
  /** composite: waiting this long raises a waiter by one priority level (default 15000 ms). */
  agingMsPerLevel?: number;
  /** composite: a waiter with a deadline jumps the queue this long before its deadline (default 15000 ms). */
  urgencyMs?: number;
  /** composite: a tenant that has received this many tokens more than the least-served backlogged tenant loses one priority level (default 5000). */
  fairnessTokensPerLevel?: number;
  /** fair, composite: relative share per tenant (default 1 for every tenant; the tenant of a ref without one is ""). */
  tenantWeights?: Readonly<Record<string, number>>;
}

/** The policies an endpoint can name in its config (`policy`), each a factory so every endpoint gets its own state. */
export const policyFactories = {
  /** Strict arrival order (a baseline). */
  fifo: (_options: PolicyOptions = {}): Policy => createFifoPolicy(),
  /** AIOS-style round robin across runs: one turn per run per round (a baseline). */
  'round-robin': (_options: PolicyOptions = {}): Policy => createRoundRobinPolicy(),
  /** AIOS-style batched FIFO: requests are released in arrival order at the end of each batching window (a baseline). */
  'batched-fifo': (options: PolicyOptions = {}): Policy => createBatchedFifoPolicy(options),
  /** Higher priority first, arrival order within a priority. */
  priority: (_options: PolicyOptions = {}): Policy => createPriorityPolicy(),
  /** Earliest deadline first; requests without one after all that have one. */
  edf: (_options: PolicyOptions = {}): Policy => createEdfPolicy(),
  /** Token-weighted fair queuing across tenants with a virtual token counter (VTC). */
  fair: (options: PolicyOptions = {}): Policy => createFairPolicy(options),
  /** Program-level least attained service per run, with a starvation guard (Autellix PLAS). */
  las: (options: PolicyOptions = {}): Policy => createLasPolicy(options),
  /** The default: urgent deadlines first, then priority with aging, adjusted by per-tenant token fairness. */
  composite: (options: PolicyOptions = {}): Policy => createCompositePolicy(options),
} as const satisfies Record<string, (options?: PolicyOptions) => Policy>;

export type PolicyName = keyof typeof policyFactories;

export const policyNames = Object.keys(policyFactories) as [PolicyName, ...PolicyName[]];

export { createBatchedFifoPolicy, createCompositePolicy, createEdfPolicy, createFairPolicy, createFifoPolicy, createLasPolicy, createPriorityPolicy, createRoundRobinPolicy };
export { runOf, tenantOf } from './policies/keys.js';
