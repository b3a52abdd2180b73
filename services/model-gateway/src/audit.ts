import { randomUUID } from 'node:crypto';
import type { KernelClient, Logger } from '@kernos/service-kit';
import { audit, contracts } from '@kernos/wire';

export interface AuditEntry {
  ref: { tenant: string; jobId: string; runId: string; agentId: string };
  governance: { riskLevel: string; dataCategories: string[]; humanOversight: string; approver: string };
  action: string;
  resource: string;
  outcome: string;
  detail: Record<string, unknown>;
}

export interface Auditor {
  record(entry: AuditEntry): Promise<void>;
}

/**
 * Audit records go through kernos.audit.append (services/access writes the AUDIT stream and its per-run hash
 * chain), as the worker's do. A failed append is logged and does not fail the client's request that already ran.
 */
export function createAuditor(kernel: KernelClient, logger: Logger): Auditor {
  return {
    async record(entry) {
      try {
        await kernel.call(contracts.audit.append, {
          record: {
            kind: audit.Kind.LLM_TURN,
            ref: entry.ref,
            governance: entry.governance,
            service: 'model-gateway',
            action: entry.action,
            resource: entry.resource,
            outcome: entry.outcome,
            detailJson: JSON.stringify(entry.detail),
            timeUnixMs: BigInt(Date.now()),
            id: randomUUID(),
          },
        });
      } catch (error) {
        logger.warn('audit append failed', { runId: entry.ref.runId, outcome: entry.outcome, error: (error as Error).message });
      }
    },
  };
}
