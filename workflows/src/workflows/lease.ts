import { ApplicationFailure, CancellationScope, condition, defineSignal, patched, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { GrantedLease, KernosActivities, LeaseTicket, RequestLeaseInput } from '../activities/index.js';
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
const turnOptions: ActivityOptions = { startToCloseTimeout: '10m', scheduleToCloseTimeout: '30m', heartbeatTimeout: '5s', retry };
const turns = proxyActivities<KernosActivities>(turnOptions);

/**
 * Memo keys a run's starter sets from its Job document (services/scheduler/src/jobs/job-document.ts
 * `runOptionsOf`): the job's deadline, relative to the start of the run, and its per-turn timeout.
 */
export const deadlineMemoKey = 'kernos.deadlineAfterMs';
export const turnTimeoutMemoKey = 'kernos.turnTimeoutMs';

/** Options of {@link scheduledLlmTurn}. */
export interface ScheduledTurnOptions {
  /** Ask the scheduler directly when no grant signal came for this long (default 5000 ms); covers a lost signal or a scheduler without Temporal. */
  pollEveryMs?: number;
  /**
   * Unix ms by which the turn should be done, for the deadline-aware policies (edf, composite). Default: the run's
   * start plus the memo's `kernos.deadlineAfterMs` (set from the Job's `spec.deadline`), else none.
   */
  deadlineMs?: number;
  /** Start-to-close timeout of the turn itself (default: the memo's `kernos.turnTimeoutMs` from the Job's `spec.timeouts.turn`, else 10 minutes). */
  turnTimeoutMs?: number;
  /** Give up the turn after this long in the queue (default 0: wait until granted). */
  maxWaitMs?: number;
}

// Module state is per workflow execution (the SDK isolates workflow globals), and replays rebuild it identically.
const signalled = new Map<string, LeaseTicket>();
let listening = false;
let nextTurn = 0;

/** Workflows started before the turn activity queued itself replay the separate requestLease they recorded. */
export const admitInTurnPatch = 'kernos-admit-in-turn';

/**
 * One LLM turn under the scheduler without holding a worker slot while it waits. The `llmTurn` activity queues the
 * turn (kernos.scheduler.enqueue) and, when a slot is free, runs it at once: an uncontended turn is one activity.
 * When the turn has to wait, the activity returns its ticket without running and the workflow is suspended on a
 * durable condition until the scheduler's grant signal arrives (or, every `pollEveryMs`, asks for the ticket in
 * case the signal was lost); then `llmTurn` runs with the granted lease. This is the cooperative preemption point:
 * pausing, budgets and priorities act here.
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
  const memo = info.memo ?? {};
  const deadlineAfterMs = positive(memo[deadlineMemoKey]);
  const turnTimeoutMs = options.turnTimeoutMs ?? positive(memo[turnTimeoutMemoKey]);
  const deadlineMs = options.deadlineMs ?? (deadlineAfterMs === undefined ? undefined : info.startTime.getTime() + deadlineAfterMs);
  const admission: RequestLeaseInput = {
    ticketId,
    workflowId: info.workflowId,
    run: input.run,
    endpoint: input.endpoint,
    priority: input.priority,
    // About four characters a token, as the activity estimates; the release reports the real usage.
    estimatedInputTokens: Math.ceil(input.messages.reduce((sum, m) => sum + m.content.length, 0) / 4),
    maxOutputTokens: input.maxOutputTokens,
    deadlineMs: deadlineMs ?? 0,
    maxWaitMs: options.maxWaitMs ?? 0,
  };
  const runner = turnTimeoutMs === undefined ? turns : proxyActivities<KernosActivities>({ ...turnOptions, startToCloseTimeout: turnTimeoutMs, scheduleToCloseTimeout: Math.max(30 * 60_000, 3 * turnTimeoutMs) });
  try {
    let ticket: LeaseTicket;
    if (patched(admitInTurnPatch)) {
      const outcome = await runner.llmTurn({ ...input, admission });
      if (!('admitted' in outcome)) return await settled(outcome);
      ticket = outcome.ticket;
    } else {
      ticket = await tickets.requestLease(admission);
    }
    const lease = await waitForLease(ticket, () => tickets.requestLease(admission), options);
    signalled.delete(ticketId);
    const outcome = await runner.llmTurn({ ...input, lease });
    if ('admitted' in outcome) throw ApplicationFailure.create({ type: 'internal', message: 'llmTurn with a granted lease did not run', nonRetryable: true });
    return await settled(outcome);
  } catch (error) {
    // Cancelled while waiting, or the turn failed for good: leave the queue, or give the lease back, now rather
    // than at its TTL. Not cancellable itself, so it still runs when the workflow is being cancelled.
    await CancellationScope.nonCancellable(() => tickets.withdrawLease(ticketId)).catch(() => false);
    throw error;
  }
}

/**
 * The activity could not give the lease back (NATS or the scheduler was away): retry until they are back, rather
 * than leaving the slot held until the lease TTL. After 15 minutes of retries the TTL has long taken the slot back,
 * and the turn itself succeeded: it must not fail for this.
 */
async function settled(result: LlmTurnResult): Promise<LlmTurnResult> {
  if (result.leaseReleased === false) {
    await tickets.releaseLease({ leaseId: result.leaseId, inputTokens: result.inputTokens, outputTokens: result.outputTokens }).catch(() => false);
  }
  return result;
}

async function waitForLease(first: LeaseTicket, request: () => Promise<LeaseTicket>, options: ScheduledTurnOptions): Promise<GrantedLease> {
  let ticket = first;
  const ticketId = first.ticketId;
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

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}
