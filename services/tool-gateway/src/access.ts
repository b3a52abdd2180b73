import type { KernelClient } from '@kernos/service-kit';
import { access, contracts, type MessageInitShape, type common } from '@kernos/wire';

/** Who a call acts for, and what the gateway may check about it. */
export interface Principal {
  ref: { tenant: string; jobId: string; runId: string; agentId: string };
  /** The job's governance; without it the caller is trusted to have asked services/access itself (legacy NATS callers). */
  governance?: MessageInitShape<typeof common.GovernanceSchema> | undefined;
  /** Tools (or capabilities) the job's document grants. */
  grantedTools: readonly string[];
  /** Ask services/access before each attempt (always at the MCP endpoint; on NATS when the request carries grants). */
  enforceAccess: boolean;
}

export interface Verdict {
  decision: 'allow' | 'deny' | 'needs_approval';
  reason: string;
  rule: string;
}

/** services/access as the gateway sees it: one question, "may this job call this tool?" */
export interface AccessPolicy {
  check(principal: Principal, tool: string): Promise<Verdict>;
}

export interface NatsAccessPolicyOptions {
  /** Bound on one check (default 5000 ms). */
  timeoutMs?: number;
  /** The contract to ask (default contracts.access.check; tests point it at a private subject). */
  contract?: typeof contracts.access.check;
}

/** Asks kernos.access.check with action tool.call: the existing contract, so the access service owns every rule. */
export function createNatsAccessPolicy(kernel: KernelClient, options: NatsAccessPolicyOptions = {}): AccessPolicy {
  const contract = options.contract ?? contracts.access.check;
  return {
    async check(principal, tool) {
      const reply = await kernel.call(
        contract,
        { ref: principal.ref, governance: principal.governance, action: 'tool.call', resource: tool, grantedTools: [...principal.grantedTools] },
        { timeoutMs: options.timeoutMs ?? 5_000 },
      );
      const decision = reply.decision === access.Decision.ALLOW ? 'allow' : reply.decision === access.Decision.NEEDS_APPROVAL ? 'needs_approval' : 'deny';
      return { decision, reason: reply.reason, rule: reply.rule };
    },
  };
}

/** For KERNOS_TOOL_ACCESS=off: everything is allowed (a dev setup without services/access). */
export const allowEverything: AccessPolicy = {
  check: () => Promise.resolve({ decision: 'allow', reason: '', rule: 'access-off' }),
};
