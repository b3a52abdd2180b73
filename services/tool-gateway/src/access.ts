import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
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
  /**
   * The caller can obtain human approvals (a workflow can; an MCP client cannot), so its catalog also lists the
   * tools services/access answers needs_approval for (default false: only tools it allows outright).
   */
  seeksApprovals?: boolean;
}

export interface Verdict {
  decision: 'allow' | 'deny' | 'needs_approval';
  reason: string;
  rule: string;
}

/** services/access as the gateway sees it: one question, "may this job call this tool?" */
export interface AccessPolicy {
  /** `annotations` are the tool's MCP hints, given to the policies as context.tool (e.g. destructive tools at high risk). */
  check(principal: Principal, tool: string, annotations?: ToolAnnotations): Promise<Verdict>;
}

export interface NatsAccessPolicyOptions {
  /** Bound on one check (default 5000 ms). */
  timeoutMs?: number;
  /** The contract to ask (default contracts.access.check; tests point it at a private subject). */
  contract?: typeof contracts.access.check;
  /**
   * How long an `allow` for the same run, governance, grants and tool is reused without asking again (default
   * 1000 ms; 0 asks every time). Only allows are kept: a deny or needs_approval is asked again on the next call, so
   * an approval granted meanwhile counts at once, and a revoked grant shows within the TTL. A reused verdict is
   * not audited again by services/access (its first decision is in the run's chain; the gateway's attempt record
   * names the verdict it acted on).
   */
  allowTtlMs?: number;
  /** Clock for the cache (tests); default performance.now. */
  now?: () => number;
}

const CACHE_LIMIT = 10_000;

/** Asks kernos.access.check with action tool.call: the existing contract, so the access service owns every rule. */
export function createNatsAccessPolicy(kernel: KernelClient, options: NatsAccessPolicyOptions = {}): AccessPolicy {
  const contract = options.contract ?? contracts.access.check;
  const ttl = options.allowTtlMs ?? 1_000;
  const now = options.now ?? (() => performance.now());
  const allowed = new Map<string, number>();
  const keyOf = (principal: Principal, tool: string, annotations: ToolAnnotations | undefined): string =>
    JSON.stringify([principal.ref, principal.governance ?? null, principal.grantedTools, tool, annotations ?? null]);

  return {
    async check(principal, tool, annotations) {
      const key = ttl > 0 ? keyOf(principal, tool, annotations) : '';
      if (ttl > 0) {
        const until = allowed.get(key);
        if (until !== undefined && until > now()) return { decision: 'allow', reason: '', rule: 'cached-allow' };
        if (until !== undefined) allowed.delete(key);
      }
      const reply = await kernel.call(
        contract,
        {
          ref: principal.ref,
          governance: principal.governance,
          action: 'tool.call',
          resource: tool,
          grantedTools: [...principal.grantedTools],
          ...(annotations ? { toolAnnotations: toolAnnotationsOf(annotations) } : {}),
        },
        { timeoutMs: options.timeoutMs ?? 5_000 },
      );
      const decision = reply.decision === access.Decision.ALLOW ? 'allow' : reply.decision === access.Decision.NEEDS_APPROVAL ? 'needs_approval' : 'deny';
      if (decision === 'allow' && ttl > 0) {
        if (allowed.size >= CACHE_LIMIT) allowed.delete(allowed.keys().next().value as string);
        allowed.set(key, now() + ttl);
      }
      return { decision, reason: reply.reason, rule: reply.rule };
    },
  };
}

/**
 * The MCP hints as the access contract takes them. Only what the server declares: MCP's defaults (an unannotated
 * tool counts as destructive) would make every plain tool "destructive" to the policies.
 */
export function toolAnnotationsOf(annotations: ToolAnnotations): MessageInitShape<typeof access.ToolAnnotationsSchema> {
  const readOnly = annotations.readOnlyHint === true;
  return {
    readOnly,
    destructive: !readOnly && annotations.destructiveHint === true,
    idempotent: annotations.idempotentHint === true,
    openWorld: annotations.openWorldHint === true,
  };
}

/** For KERNOS_TOOL_ACCESS=off: everything is allowed (a dev setup without services/access). */
export const allowEverything: AccessPolicy = {
  check: () => Promise.resolve({ decision: 'allow', reason: '', rule: 'access-off' }),
};
