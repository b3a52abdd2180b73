import type { Meter } from '@opentelemetry/api';
import type { KernelClient } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';

/**
 * Queue depth and utilisation per model endpoint as observable gauges, read from kernos.scheduler.stats at each
 * metrics collection. The cockpit already polls the scheduler for its view; exporting the same numbers lets any
 * OTLP backend chart them without the scheduler keeping a second copy of its state.
 */
export function registerSchedulerGauges(meter: Meter, kernel: KernelClient): void {
  const queued = meter.createObservableGauge('kernos.scheduler.queue.depth', { description: 'Turns waiting for a lease, per endpoint', unit: '{turn}' });
  const active = meter.createObservableGauge('kernos.scheduler.leases.active', { description: 'Leases held, per endpoint', unit: '{lease}' });
  const limit = meter.createObservableGauge('kernos.scheduler.leases.limit', { description: 'Concurrent leases allowed, per endpoint', unit: '{lease}' });
  meter.addBatchObservableCallback(
    async (result) => {
      // A scheduler that is down leaves a gap in the series rather than a made-up zero.
      const stats = await kernel.call(contracts.scheduler.stats, {}, { timeoutMs: 2_000 }).catch(() => undefined);
      for (const e of stats?.endpoints ?? []) {
        const attributes = { 'kernos.scheduler.endpoint': e.endpoint };
        result.observe(queued, e.queued, attributes);
        result.observe(active, e.active, attributes);
        result.observe(limit, e.maxConcurrent, attributes);
      }
    },
    [queued, active, limit],
  );
}
