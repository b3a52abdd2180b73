import type { MessageInitShape, scheduler } from '@kernos/wire';
import type { Admission } from '../admission/admission.js';

/** kernos.scheduler.stats: a snapshot of every endpoint, in configuration order, with per-tenant service. */
export function stats(admission: Admission): MessageInitShape<typeof scheduler.StatsReplySchema> {
  return {
    endpoints: admission.stats().map((s, index) => ({
      endpoint: s.endpoint,
      maxConcurrent: s.maxConcurrent,
      active: s.active,
      queued: s.queued,
      grantedTotal: BigInt(s.grantedTotal),
      tokensTotal: BigInt(s.tokensTotal),
      expiredTotal: BigInt(s.expiredTotal),
      waitTimeoutsTotal: BigInt(s.waitTimeoutsTotal),
      held: s.held,
      draining: s.draining,
      waitP50Ms: BigInt(Math.round(s.waitP50Ms)),
      waitP95Ms: BigInt(Math.round(s.waitP95Ms)),
      utilisation: s.utilisation,
      policy: admission.endpoints[index]?.policy ?? '',
      tenants: s.tenants.map((t) => ({ tenant: t.tenant, grantedTotal: BigInt(t.grantedTotal), tokensTotal: BigInt(t.tokensTotal), queued: t.queued })),
    })),
  };
}
