import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { TicketNotifier, TicketRecord } from './tickets.js';

/** The signal a granted (or failed) ticket sends to its workflow; workflows/src/workflows/lease.ts listens for it. */
export const leaseSignalName = 'kernos.scheduler.leaseGranted';

/** The signal's one argument: plain JSON, so the workflow needs no protobuf code in its sandbox. */
export interface LeaseSignal {
  ticketId: string;
  state: 'granted' | 'failed';
  lease?: { leaseId: string; endpoint: string; baseUrl: string; model: string; grantedAtMs: number; expiresAtMs: number; waitedMs: number };
  errorCode?: string;
  errorMessage?: string;
}

export function toLeaseSignal(record: TicketRecord): LeaseSignal {
  const grant = record.grant;
  return {
    ticketId: record.ticketId,
    state: record.state === 'granted' ? 'granted' : 'failed',
    ...(grant && record.state === 'granted'
      ? {
          lease: {
            leaseId: grant.id,
            endpoint: grant.endpoint,
            baseUrl: grant.baseUrl,
            model: grant.model,
            grantedAtMs: grant.grantedAt,
            expiresAtMs: grant.expiresAt,
            waitedMs: grant.waitedMs,
          },
        }
      : {}),
    ...(record.error ? { errorCode: record.error.code, errorMessage: record.error.message } : {}),
  };
}

/**
 * Delivers grants as Temporal signals, so a workflow that waits for a lease is suspended (no worker slot, no
 * polling) until the scheduler decides. If the signal cannot be delivered the workflow's fallback poll of
 * kernos.scheduler.ticket still finds the grant.
 */
export function temporalNotifier(client: Client): TicketNotifier {
  return async (record) => {
    try {
      await client.workflow.getHandle(record.workflowId).signal(leaseSignalName, toLeaseSignal(record));
    } catch (error) {
      // Finished, cancelled or never existed: nobody will run this turn.
      if (error instanceof WorkflowNotFoundError) return 'gone';
      throw error;
    }
  };
}
