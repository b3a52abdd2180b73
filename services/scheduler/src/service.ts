import type { Tracer } from '@opentelemetry/api';
import { createKernosService, handle, type Logger, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { createAdmission, type Admission } from './admission/admission.js';
import type { Clock } from './admission/endpoint-queue.js';
import type { EndpointConfig } from './config.js';
import { acquire } from './handlers/acquire.js';
import { release } from './handlers/release.js';
import { stats } from './handlers/stats.js';

export interface SchedulerServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  /** The model endpoints to admit turns to (config: KERNOS_ENDPOINTS). */
  endpoints: readonly EndpointConfig[];
  /** How long a lease lives without a release (default 60000 ms; config: KERNOS_LEASE_TTL_MS). */
  leaseTtlMs?: number;
  /** Time source (default: the system clock); tests inject one. */
  clock?: Clock;
}

export interface SchedulerService {
  start(): Promise<void>;
  /** Rejects queued acquires with `unavailable` (retryable), then stops taking requests and waits for replies in flight. */
  stop(): Promise<void>;
}

/**
 * The scheduler: per-endpoint admission with leases, in memory. Run one replica: replicas in the queue group
 * would each enforce maxConcurrent on their own and a release could reach a replica that never granted the lease.
 */
export function createSchedulerService({ nc, tracer, logger, endpoints, leaseTtlMs = 60_000, clock }: SchedulerServiceDeps): SchedulerService {
  const admission: Admission = createAdmission({
    endpoints,
    leaseTtlMs,
    clock,
    onExpire: (lease) =>
      logger.warn('lease expired without release; slot reclaimed', {
        endpoint: lease.endpoint,
        leaseId: lease.id,
        ttlMs: leaseTtlMs,
        ...(lease.ref ?? {}),
      }),
  });

  const service = createKernosService({
    nc,
    tracer,
    name: 'scheduler',
    version: '0.1.0',
    description: 'Decides whose LLM turn goes next on each model endpoint',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
    endpoints: [
      handle(contracts.scheduler.acquire, (request, { span }) => acquire(admission, request, span)),
      handle(contracts.scheduler.release, async (request, { span }) => {
        const reply = release(admission, request, span);
        if (!reply.released) logger.info('release of a lease that is not active', { leaseId: request.leaseId });
        return reply;
      }),
      handle(contracts.scheduler.stats, async () => stats(admission)),
    ],
  });

  return {
    start: () => service.start(),
    async stop() {
      // Queued acquires would otherwise keep stop() waiting until the grace period runs out.
      admission.close();
      await service.stop();
    },
  };
}
