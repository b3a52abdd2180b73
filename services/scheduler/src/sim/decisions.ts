import { mulberry32 } from '@kernos/model-emulator';
import type { Policy, Waiter } from '../admission/policy.js';

/**
 * Decisions per second of one policy at a steady queue depth: the queue is filled with `queued` waiters (50
 * tenants, one run each, mixed priorities, a third with deadlines), then each step takes the policy's choice,
 * charges it, reports its usage and queues a fresh waiter, so the depth stays put. Pure CPU: no timers, no I/O.
 */
export function measureDecisions(policy: Policy, options: { queued?: number; decisions?: number; seed?: number } = {}): number {
  const queued = options.queued ?? 10_000;
  const total = options.decisions ?? 50_000;
  const random = mulberry32(options.seed ?? 7);
  let seq = 0;
  let now = 1_000_000;
  const make = (): Waiter => ({
    seq: seq++,
    priority: Math.floor(random() * 10),
    // Queued a second ago, so a batching window has always closed by the time it is asked.
    enqueuedAt: now - 1_000,
    estimatedTokens: 200 + Math.floor(random() * 4_000),
    deadlineMs: random() < 0.33 ? now + 5_000 + Math.floor(random() * 60_000) : 0,
    ref: { tenant: `t${Math.floor(random() * 50)}`, runId: `r${seq}` },
  });
  for (let i = 0; i < queued; i++) policy.add(make(), now);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    now += 1;
    const waiter = policy.take(now)!;
    policy.onGrant?.(waiter, now);
    policy.onFinish?.({ ref: waiter.ref, estimatedTokens: waiter.estimatedTokens }, Math.floor(waiter.estimatedTokens / 2), now);
    policy.add(make(), now);
  }
  const seconds = (performance.now() - started) / 1_000;
  return total / seconds;
}
