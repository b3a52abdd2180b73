import { KernosError } from '@kernos/errors';
import type { EndpointConfig } from '../config.js';
import { EndpointQueue, type AdmissionRequest, type Clock, type EndpointQueueStats, type Lease, type Usage } from './endpoint-queue.js';
import { policyFactories } from './policy.js';

export interface AdmissionOptions {
  /** The endpoints to admit turns to; names must be unique. */
  endpoints: readonly EndpointConfig[];
  /** How long a lease lives without a release (ms). */
  leaseTtlMs: number;
  /** Time source (default: the system clock). */
  clock?: Clock;
  /** Lease id generator (default: crypto.randomUUID). */
  newLeaseId?: () => string;
  /** Told of every lease reclaimed by its TTL. */
  onExpire?: (lease: Lease) => void;
}

/** A lease plus where to send the turn. */
export interface Grant extends Lease {
  readonly baseUrl: string;
  readonly model: string;
}

export interface ReleaseResult {
  /** True only if the lease was active and its slot is now free. */
  released: boolean;
  /** The lease's endpoint when known (active or recently expired). */
  endpoint: string | undefined;
  /** True when the lease had already expired; its usage was still counted. */
  late: boolean;
}

export interface Admission {
  readonly endpoints: readonly EndpointConfig[];
  /** Rejects with not_found for an unknown endpoint; otherwise resolves when granted (see EndpointQueue.acquire). */
  acquire(endpoint: string, request?: AdmissionRequest): Promise<Grant>;
  release(leaseId: string, usage?: Usage): ReleaseResult;
  stats(): EndpointQueueStats[];
  /** Rejects all waiters with `unavailable` and forgets all leases; used on shutdown. */
  close(): void;
}

/** One EndpointQueue per configured endpoint, behind a lookup that turns a wrong name into an actionable error. */
export function createAdmission(options: AdmissionOptions): Admission {
  const queues = new Map<string, { queue: EndpointQueue; config: EndpointConfig }>();
  for (const config of options.endpoints) {
    if (queues.has(config.name)) throw new KernosError('invalid_argument', `endpoints: duplicate endpoint name "${config.name}"`);
    const queue = new EndpointQueue({
      name: config.name,
      maxConcurrent: config.maxConcurrent,
      leaseTtlMs: options.leaseTtlMs,
      policy: policyFactories[config.policy](),
      clock: options.clock,
      newLeaseId: options.newLeaseId,
      onExpire: options.onExpire,
    });
    queues.set(config.name, { queue, config });
  }
  const known = [...queues.keys()].join(', ');

  return {
    endpoints: options.endpoints,
    async acquire(endpoint, request) {
      const entry = queues.get(endpoint);
      if (!entry) throw new KernosError('not_found', `unknown endpoint "${endpoint}"; known endpoints: ${known}`, { details: { endpoint } });
      const lease = await entry.queue.acquire(request);
      return { ...lease, baseUrl: entry.config.baseUrl, model: entry.config.model };
    },
    release(leaseId, usage) {
      // Few endpoints per scheduler, so asking each queue beats keeping a second index in sync.
      for (const { queue } of queues.values()) {
        if (!queue.holds(leaseId)) continue;
        const outcome = queue.release(leaseId, usage);
        return { released: outcome === 'released', endpoint: queue.name, late: outcome === 'late' };
      }
      return { released: false, endpoint: undefined, late: false };
    },
    stats() {
      return [...queues.values()].map(({ queue }) => queue.stats());
    },
    close() {
      const reason = new KernosError('unavailable', 'the scheduler is shutting down; retry the acquire');
      for (const { queue } of queues.values()) queue.close(reason);
    },
  };
}
