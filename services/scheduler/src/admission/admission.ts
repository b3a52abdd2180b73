import { KernosError } from '@kernos/errors';
import type { EndpointConfig } from '../config.js';
import { EndpointQueue, type AdmissionRequest, type Clock, type EndpointQueueStats, type Lease, type Usage } from './endpoint-queue.js';
import { Controls, type Budget, type ControlKind } from './controls.js';
import { policyFactories } from './policy.js';

export interface AdmissionOptions {
  /** The endpoints to admit turns to; names must be unique. */
  endpoints: readonly EndpointConfig[];
  /** How long a lease lives without a release or renewal (ms), unless its endpoint sets its own `leaseTtlMs`. */
  leaseTtlMs: number;
  /** Time source (default: the system clock). */
  clock?: Clock;
  /** Lease id generator (default: crypto.randomUUID). */
  newLeaseId?: () => string;
  /** Told of every lease reclaimed by its TTL. */
  onExpire?: (lease: Lease) => void;
  /** Told of every grant before the grantee hears of it (persistence for failover). */
  onLeaseStart?: (lease: Lease) => void;
  /** Told when a lease stops being active. */
  onLeaseEnd?: (leaseId: string) => void;
  /** Told of every change of operator controls, budgets and spend (persistence for failover; default none). */
  onControlChange?: (kind: ControlKind, id: string, value: unknown) => void;
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
  /** Restarts an active lease's TTL from now; undefined when the lease is not active (unknown, released or expired). */
  renew(leaseId: string): Lease | undefined;
  stats(): EndpointQueueStats[];
  /** Rejects all waiters with `unavailable` and forgets all leases; used on shutdown. */
  close(): void;
  /** Takes over a predecessor's active lease (failover); false if its endpoint is unknown or it has expired. */
  restoreLease(lease: Lease): boolean;
  /** Takes over a predecessor's controls, budgets, spend and drains (failover), then re-applies them to the queues. */
  restoreControls(entries: readonly { kind: ControlKind; id: string; value: unknown }[]): void;
  /** Operator controls; each returns how many queued turns changed state (parked, unparked or failed). */
  control(action: ControlAction, target: string, reason?: string): number;
  /** Sets (or, with undefined, removes) a run or job token budget; returns the tokens spent so far and whether it is exceeded. */
  setBudget(scope: 'run' | 'job', id: string, budget: Budget | undefined): { spent: number; exceeded: boolean };
}

export type ControlAction = 'pause-run' | 'resume-run' | 'cancel-run' | 'hold-job' | 'release-job' | 'drain-endpoint' | 'resume-endpoint';

/** One EndpointQueue per configured endpoint, behind a lookup that turns a wrong name into an actionable error. */
export function createAdmission(options: AdmissionOptions): Admission {
  const queues = new Map<string, { queue: EndpointQueue; config: EndpointConfig }>();
  const controls = new Controls(options.onControlChange);
  const regateAll = () => [...queues.values()].reduce((sum, { queue }) => sum + queue.regate(), 0);
  for (const config of options.endpoints) {
    if (queues.has(config.name)) throw new KernosError('invalid_argument', `endpoints: duplicate endpoint name "${config.name}"`);
    const queue = new EndpointQueue({
      name: config.name,
      maxConcurrent: config.maxConcurrent,
      leaseTtlMs: config.leaseTtlMs ?? options.leaseTtlMs,
      policy: policyFactories[config.policy](config.policyOptions ?? {}),
      rateLimits: { tokensPerMinute: config.tokensPerMinute, requestsPerMinute: config.requestsPerMinute },
      clock: options.clock,
      newLeaseId: options.newLeaseId,
      onExpire: options.onExpire,
      gate: (ref) => controls.gate(ref),
      onLeaseStart: options.onLeaseStart,
      onLeaseEnd: options.onLeaseEnd,
      // A turn that pushes its run or job over budget parks (or fails) that run's queued turns on every endpoint.
      onUsage: (lease, tokens) => {
        if (controls.charge(lease.ref, tokens)) regateAll();
      },
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
    renew(leaseId) {
      for (const { queue } of queues.values()) {
        const lease = queue.renew(leaseId);
        if (lease) return lease;
      }
      return undefined;
    },
    stats() {
      return [...queues.values()].map(({ queue }) => queue.stats());
    },
    control(action, target, reason) {
      if (target.trim() === '') throw new KernosError('invalid_argument', `control ${action}: target: required`);
      switch (action) {
        case 'pause-run':
          controls.pauseRun(target);
          break;
        case 'resume-run':
          controls.resumeRun(target);
          break;
        case 'cancel-run':
          controls.cancelRun(target, reason);
          break;
        case 'hold-job':
          controls.holdJob(target);
          break;
        case 'release-job':
          controls.releaseJob(target);
          break;
        case 'drain-endpoint':
        case 'resume-endpoint': {
          const entry = queues.get(target);
          if (!entry) throw new KernosError('not_found', `unknown endpoint "${target}"; known endpoints: ${known}`, { details: { endpoint: target } });
          entry.queue.setDraining(action === 'drain-endpoint');
          options.onControlChange?.('drain', target, action === 'drain-endpoint' ? true : undefined);
          return entry.queue.stats().queued;
        }
      }
      return regateAll();
    },
    setBudget(scope, id, budget) {
      if (id.trim() === '') throw new KernosError('invalid_argument', `budget: ${scope}_id: required`);
      controls.setBudget(scope, id, budget);
      regateAll();
      return { spent: controls.spent(scope, id), exceeded: controls.exceeded(scope, id) };
    },
    restoreControls(entries) {
      controls.restore(entries);
      for (const entry of entries) if (entry.kind === 'drain') queues.get(entry.id)?.queue.setDraining(true);
      regateAll();
    },
    restoreLease(lease) {
      return queues.get(lease.endpoint)?.queue.restoreLease(lease) ?? false;
    },
    close() {
      const reason = new KernosError('unavailable', 'the scheduler is shutting down; retry the acquire');
      for (const { queue } of queues.values()) queue.close(reason);
    },
  };
}
