import { Client, Connection, WorkflowUpdateFailedError } from '@temporalio/client';
import { KernosError } from '@kernos/errors';
import type { access } from '@kernos/wire';
import type { DeliverDecision } from './approvals.js';

/** Name of the workflow Update that carries an approver's decision (workflows/src/workflows/approval.ts). */
export const APPROVAL_UPDATE = 'approvalDecision';

/** What the Update carries; the workflow's validator checks it again. */
export interface ApprovalDecisionArgs {
  approvalId: string;
  approver: string;
  approve: boolean;
  comment: string;
}

export interface TemporalDeliveryOptions {
  /** Temporal frontend, host:port. */
  address: string;
  namespace: string;
}

/**
 * Delivers decisions as a Temporal Update, so the decision reaches the workflow only if its validator accepts it
 * (and the caller learns at once if not). Connects lazily: the access service starts and checks without Temporal.
 */
export function createTemporalDelivery(options: TemporalDeliveryOptions): { deliver: DeliverDecision; close(): Promise<void> } {
  let client: Promise<Client> | undefined;
  let connection: Connection | undefined;
  const connect = async () => {
    connection = await Connection.connect({ address: options.address });
    return new Client({ connection, namespace: options.namespace });
  };
  return {
    async deliver(approval: access.Approval) {
      client ??= connect().catch((error: unknown) => {
        client = undefined;
        throw new KernosError('unavailable', `cannot reach Temporal at ${options.address}: ${(error as Error).message}`, { cause: error });
      });
      const args: ApprovalDecisionArgs = { approvalId: approval.id, approver: approval.decidedBy, approve: approval.status === 2, comment: approval.comment };
      try {
        await (await client).workflow.getHandle(approval.workflowId).executeUpdate(APPROVAL_UPDATE, { args: [args] });
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) {
          throw new KernosError('denied', `the run refused the decision: ${error.cause?.message ?? error.message}`, { cause: error });
        }
        throw error;
      }
    },
    async close() {
      await connection?.close();
    },
  };
}
