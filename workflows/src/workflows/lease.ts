import { ApplicationFailure, CancellationScope, condition, defineSignal, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { GrantedLease, KernosActivities, LeaseTicket } from '../activities/index.js';
import type { LlmTurnInput, LlmTurnResult } from '../types.js';

/** What the scheduler signals when it grants (or drops) a ticket; the shape of services/scheduler/src/notify.ts LeaseSignal. */
export const leaseGrantedSignal = defineSignal<[LeaseTicket]>('kernos.scheduler.leaseGranted');

const retry: ActivityOptions['retry'] = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  // No attempt limit (see agent.ts): outages of the scheduler or NATS delay a turn; the timeouts below bound it.
  nonRetryableErrorTypes: ['invalid_argument', 'not_found', 'denied', 'needs_approval', 'conflict', 'internal'],
};

// Enqueueing and asking are short NATS calls; none of them waits for the grant.
const tickets = proxyActivities<KernosActivities>({ startToCloseTimeout: '30s', scheduleToCloseTimeout: '15m', retry });
// The turn itself heartbeats, so a dead worker's turn is retried after the heartbeat timeout.
const turns = proxyActivities<KernosActivities>({ startToCloseTimeout: '10m', scheduleToCloseTimeout: '30m', heartbeatTimeout: '5s', retry });

/** Options of {@link scheduledLlmTurn}. */
export interface ScheduledTurnOptions {
  /** Ask the scheduler directly when no grant signal came for this long (default 5000 ms); covers a lost signal or a scheduler without Temporal. */
  pollEveryMs?: number;
  /** Unix ms by which the turn should be done, for the deadline-aware policies (default none). */
  deadlineMs?: number;
  /** Give up the turn after this long in the queue (default 0: wait until granted). */
  maxWaitMs?: number;
}

// Module state is per workflow execution (the SDK isolates workflow globals), and replays rebuild it identically.
const signalled = new Map<string, LeaseTicket>();
let listening = false;
let nextTurn = 0;

/**
 * One LLM turn under the scheduler without holding a worker slot while it waits: `requestLease` queues the turn
 * and returns at once, the workflow is suspended on a durable condition until the scheduler's grant signal
 * arrives (or, every `pollEveryMs`, asks for the ticket in case the signal was lost), then `llmTurn` runs with the
 * granted lease. This is the cooperative preemption point: pausing, budgets and priorities act here.
 */
export async function scheduledLlmTurn(input: LlmTurnInput, options: ScheduledTurnOptions = {}): Promise<LlmTurnResult> {
  if (!listening) {
    setHandler(leaseGrantedSignal, (ticket) => {
      signalled.set(ticket.ticketId, ticket);
    });
    listening = true;
  }
  const info = workflowInfo();
  const ticketId = `${info.workflowId}/${info.runId}/turn-${nextTurn++}`;
  try {
    const lease = await waitForLease(ticketId, input, options);
    signalled.delete(ticketId);
    return await turns.llmTurn({ ...input, lease });
  } catch (error) {
    // Cancelled while waiting, or the turn failed for good: leave the queue, or give the lease back, now rather
    // than at its TTL. Not cancellable itself, so it still runs when the workflow is being cancelled.
    await CancellationScope.nonCancellable(() => tickets.withdrawLease(ticketId)).catch(() => false);
    throw error;
  }
}

async function waitForLease(ticketId: string, input: LlmTurnInput, options: ScheduledTurnOptions): Promise<GrantedLease> {
  const request = () =>
    tickets.requestLease({
      ticketId,
      workflowId: workflowInfo().workflowId,
      run: input.run,
      endpoint: input.endpoint,
      priority: input.priority,
      // About four characters a token, as the activity estimates; the release reports the real usage.
      estimatedInputTokens: Math.ceil(input.messages.reduce((sum, m) => sum + m.content.length, 0) / 4),
      maxOutputTokens: input.maxOutputTokens,
      deadlineMs: options.deadlineMs ?? 0,
      maxWaitMs: options.maxWaitMs ?? 0,
    });
  let ticket = await request();
  for (;;) {
    if (ticket.state === 'granted' && ticket.lease) return ticket.lease;
    if (ticket.state === 'failed') {
      throw ApplicationFailure.create({
        type: ticket.errorCode ?? 'unavailable',
        message: `LLM turn not admitted: ${ticket.errorMessage ?? 'the scheduler dropped the ticket'}`,
        nonRetryable: true,
      });
    }
    // The scheduler forgot the ticket (it restarted without state): queue it again under the same id.
    if (ticket.state === 'unknown') ticket = await request();
    if (ticket.state !== 'queued') continue;
    if (await condition(() => signalled.has(ticketId), options.pollEveryMs ?? 5_000)) ticket = signalled.get(ticketId)!;
    else ticket = await tickets.leaseStatus(ticketId);
  }
}
