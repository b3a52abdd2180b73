import type { MessageInitShape, scheduler } from '@kernos/wire';
import type { Admission } from '../admission/admission.js';

/** kernos.scheduler.stats: a snapshot of every endpoint, in configuration order. */
export function stats(admission: Admission): MessageInitShape<typeof scheduler.StatsReplySchema> {
  return {
    endpoints: admission.stats().map((s) => ({
      endpoint: s.endpoint,
      maxConcurrent: s.maxConcurrent,
      active: s.active,
      queued: s.queued,
      grantedTotal: BigInt(s.grantedTotal),
      tokensTotal: BigInt(s.tokensTotal),
      expiredTotal: BigInt(s.expiredTotal),
      waitTimeoutsTotal: BigInt(s.waitTimeoutsTotal),
    })),
  };
}
