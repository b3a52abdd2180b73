/**
 * The benchmark's agent workflow (bundled by the benchmark's own worker). Each turn goes the kernel's way
 * (workflows/src/workflows/lease.ts): `benchTurn` queues the turn (kernos.scheduler.enqueue) and, when granted at
 * once, calls the emulator with the lease and releases it; otherwise it returns the ticket, the workflow is
 * suspended until the scheduler's `kernos.scheduler.leaseGranted` signal (polling the ticket as a fallback), and
 * `benchTurn` runs again with the granted lease. Between
 * turns the agent's tool time passes as a durable timer. Unlike agentWorkflow it carries the trace's token counts
 * instead of real prompts, so the scheduler sees the same estimates and usage as in the simulation.
 */
import { condition, defineSignal, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { BenchActivities, BenchLease, BenchLeaseRequest, BenchTicket } from './activities.js';

export interface BenchTurn {
  inputTokens: number;
  outputTokens: number;
  maxOutputTokens: number;
  toolMs: number;
}

export interface BenchAgent {
  id: string;
  tenant: string;
  priority: number;
  /** Unix ms by which the agent should be done; 0 means none. */
  deadlineMs: number;
  turns: BenchTurn[];
}

export interface BenchAgentResult {
  /** Per turn: ms the ticket waited in the scheduler's queue (from the grant). */
  waitedMs: number[];
  /** Per turn: ms the slot was held (grant to release answered). */
  holdMs: number[];
  /** Per turn: ms of that hold outside the emulator call (grant signal, workflow task, activity dispatch, release). */
  slotOverheadMs: number[];
  /** Per turn after the first: ms from the previous release to this enqueue, beyond the tool time (workflow tasks, timer, activity dispatch). */
  gapMs: number[];
  /** Per turn: round trips of the scheduler requests as the activity saw them (enqueue only when it granted at once). */
  enqueueRoundTripMs: number[];
  releaseRoundTripMs: number[];
}

const leaseGranted = defineSignal<[BenchTicket]>('kernos.scheduler.leaseGranted');

const { requestLease, leaseStatus, benchTurn, plainTurn } = proxyActivities<BenchActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '200ms', maximumInterval: '2s' },
});

export async function benchAgentWorkflow(agent: BenchAgent): Promise<BenchAgentResult> {
  const signalled = new Map<string, BenchTicket>();
  setHandler(leaseGranted, (ticket) => void signalled.set(ticket.ticketId, ticket));
  const info = workflowInfo();
  const waitedMs: number[] = [];
  const holdMs: number[] = [];
  const slotOverheadMs: number[] = [];
  const gapMs: number[] = [];
  const enqueueRoundTripMs: number[] = [];
  const releaseRoundTripMs: number[] = [];
  let releasedMs = 0;
  for (let k = 0; k < agent.turns.length; k++) {
    const turn = agent.turns[k]!;
    const ticketId = `${info.workflowId}/${info.runId}/turn-${k}`;
    const admission: BenchLeaseRequest = {
      ticketId,
      workflowId: info.workflowId,
      tenant: agent.tenant,
      runId: agent.id,
      priority: agent.priority,
      deadlineMs: agent.deadlineMs,
      estimatedInputTokens: turn.inputTokens,
      maxOutputTokens: turn.maxOutputTokens,
    };
    const tokens = { inputTokens: turn.inputTokens, outputTokens: turn.outputTokens };
    let outcome = await benchTurn({ admission, ...tokens });
    if (k > 0) gapMs.push(outcome.askedAtMs - releasedMs - agent.turns[k - 1]!.toolMs);
    if (!('lease' in outcome)) {
      let ticket = outcome.ticket;
      let lease: BenchLease | undefined;
      for (;;) {
        if (ticket.state === 'granted' && ticket.lease) {
          lease = ticket.lease;
          break;
        }
        if (ticket.state === 'failed') throw new Error(`turn ${k} of ${agent.id} not admitted: ${ticket.errorMessage ?? ''}`);
        if (ticket.state === 'unknown') ticket = await requestLease(admission);
        else if (await condition(() => signalled.has(ticketId), 5_000)) ticket = signalled.get(ticketId)!;
        else ticket = await leaseStatus(ticketId);
      }
      outcome = await benchTurn({ lease, ...tokens });
      if (!('lease' in outcome)) throw new Error(`turn ${k} of ${agent.id}: benchTurn with a granted lease did not run`);
    }
    const { lease, timing } = outcome;
    waitedMs.push(lease.waitedMs);
    holdMs.push(timing.releasedMs - lease.grantedAtMs);
    releasedMs = timing.releasedMs;
    slotOverheadMs.push(timing.fetchStartMs - lease.grantedAtMs + (timing.releasedMs - timing.fetchEndMs));
    if (timing.enqueueRoundTripMs > 0) enqueueRoundTripMs.push(timing.enqueueRoundTripMs);
    releaseRoundTripMs.push(timing.releaseRoundTripMs);
    if (turn.toolMs > 0 && k < agent.turns.length - 1) await sleep(turn.toolMs);
  }
  return { waitedMs, holdMs, slotOverheadMs, gapMs, enqueueRoundTripMs, releaseRoundTripMs };
}

/** Benchmark C's baseline: an agent on Temporal without Kernos, one plain activity calling the emulator per turn. */
export async function plainTurnsWorkflow(turns: number, baseUrl: string, model: string, outputTokens: number): Promise<void> {
  for (let k = 0; k < turns; k++) await plainTurn({ baseUrl, model, outputTokens });
}
