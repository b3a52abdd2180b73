import { contracts } from '@kernos/wire';
import type { KernelClient } from './client.js';

/**
 * The holder's side of a scheduler lease: renews it every third of its TTL (kernos.scheduler.renew) while the work
 * runs, so a turn longer than the TTL keeps its slot; a holder that dies stops renewing and the lease expires one
 * TTL later. A failed renewal is only retried at the next tick: the work goes on either way. Returns the function
 * that stops renewing; call it before (or when) the lease is released.
 */
export function keepLeaseAlive(kernel: KernelClient, leaseId: string, ttlMs: number): () => void {
  const everyMs = ttlMs > 0 ? Math.max(250, Math.floor(ttlMs / 3)) : 20_000;
  const timer = setInterval(() => {
    void kernel.call(contracts.scheduler.renew, { leaseId }, { timeoutMs: Math.min(everyMs, 5_000) }).catch(() => undefined);
  }, everyMs);
  return () => clearInterval(timer);
}
