/**
 * The benchmark's agent workflow (bundled by the benchmark's own worker). Each turn goes the kernel's way for a
 * queued turn: `requestLease` (kernos.scheduler.enqueue) and, if queued, the workflow is suspended until the
 * scheduler's `kernos.scheduler.leaseGranted` signal (polling the ticket as a fallback, like
 * workflows/src/workflows/lease.ts), then `benchTurn` calls the emulator with the lease and releases it. Between
 * turns the agent's tool time passes as a durable timer. Unlike agentWorkflow it carries the trace's token counts
 * instead of real prompts, so the scheduler sees the same estimates and usage as in the simulation.
 */
import { condition, defineSignal, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { BenchActivities, BenchLease, BenchTicket } from './activities.js';

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
}

const leaseGranted = defineSignal<[BenchTicket]>('kernos.scheduler.leaseGranted');

const { requestLease, leaseStatus, benchTurn } = proxyActivities<BenchActivities>({
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
  let releasedMs = 0;
  for (let k = 0; k < agent.turns.length; k++) {
    const turn = agent.turns[k]!;
    const ticketId = `${info.workflowId}/${info.runId}/turn-${k}`;
    const request = () =>
      requestLease({
        ticketId,
        workflowId: info.workflowId,
        tenant: agent.tenant,
        runId: agent.id,
        priority: agent.priority,
        deadlineMs: agent.deadlineMs,
        estimatedInputTokens: turn.inputTokens,
        maxOutputTokens: turn.maxOutputTokens,
      });
    let ticket = await request();
    if (k > 0 && ticket.atMs !== undefined) gapMs.push(ticket.atMs - releasedMs - agent.turns[k - 1]!.toolMs);
    let lease: BenchLease | undefined;
    for (;;) {
      if (ticket.state === 'granted' && ticket.lease) {
        lease = ticket.lease;
        break;
      }
      if (ticket.state === 'failed') throw new Error(`turn ${k} of ${agent.id} not admitted: ${ticket.errorMessage ?? ''}`);
      if (ticket.state === 'unknown') ticket = await request();
      else if (await condition(() => signalled.has(ticketId), 5_000)) ticket = signalled.get(ticketId)!;
      else ticket = await leaseStatus(ticketId);
    }
    waitedMs.push(lease.waitedMs);
    const timing = await benchTurn({ lease, inputTokens: turn.inputTokens, outputTokens: turn.outputTokens });
    holdMs.push(timing.releasedMs - lease.grantedAtMs);
    releasedMs = timing.releasedMs;
    slotOverheadMs.push(timing.fetchStartMs - lease.grantedAtMs + (timing.releasedMs - timing.fetchEndMs));
    if (turn.toolMs > 0 && k < agent.turns.length - 1) await sleep(turn.toolMs);
  }
  return { waitedMs, holdMs, slotOverheadMs, gapMs };
}
