import type { access } from '@kernos/wire';
import { createPolicyEngine, type PolicyEngine, type Verdict } from '../policy/engine.js';

let defaultEngine: PolicyEngine | undefined;

/**
 * Decides with the default Cedar policies (services/access/policies), default deny. The service builds its own
 * engine from KERNOS_ACCESS_POLICY_DIR; this is the same decision for callers and tests that need no config.
 */
export function decide(request: access.CheckRequest, isApproved?: () => boolean): Verdict {
  defaultEngine ??= createPolicyEngine();
  return defaultEngine.decide(request, isApproved);
}
