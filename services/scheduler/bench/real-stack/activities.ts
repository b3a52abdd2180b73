import { contracts, scheduler } from '@kernos/wire';
import type { KernelClient } from '@kernos/service-kit';

export interface BenchLease {
  leaseId: string;
  baseUrl: string;
  model: string;
  waitedMs: number;
  grantedAtMs: number;
}

/** Wall-clock marks of one turn, to split the kernel's time inside the slot from the model's. */
export interface BenchTurnTiming {
  outputTokens: number;
  /** When the emulator call started and ended, and when the release was answered (Unix ms). */
  fetchStartMs: number;
  fetchEndMs: number;
  releasedMs: number;
  /** Round trips of this turn's two scheduler requests, measured in the activity (ms; enqueue 0 when the lease came from a grant signal). */
  enqueueRoundTripMs: number;
  releaseRoundTripMs: number;
}

export interface BenchTicket {
  ticketId: string;
  state: 'queued' | 'granted' | 'failed' | 'unknown';
  lease?: BenchLease;
  errorMessage?: string;
}

export interface BenchLeaseRequest {
  ticketId: string;
  workflowId: string;
  tenant: string;
  runId: string;
  priority: number;
  deadlineMs: number;
  estimatedInputTokens: number;
  maxOutputTokens: number;
}

/** What benchTurn returns: the turn ran (with this lease), or it was queued and did not run. */
export type BenchTurnOutcome = { lease: BenchLease; timing: BenchTurnTiming; askedAtMs: number } | { ticket: BenchTicket; askedAtMs: number };

export interface BenchActivities {
  requestLease(input: BenchLeaseRequest): Promise<BenchTicket>;
  leaseStatus(ticketId: string): Promise<BenchTicket>;
  /** Like the kernel's llmTurn: with `admission` it queues the turn and runs it only if granted at once. */
  benchTurn(input: { lease?: BenchLease; admission?: BenchLeaseRequest; inputTokens: number; outputTokens: number }): Promise<BenchTurnOutcome>;
  /** Benchmark C's baseline: the same emulator call from a plain activity, no kernel. */
  plainTurn(input: { baseUrl: string; model: string; outputTokens: number }): Promise<number>;
}

function toTicket(ticket: scheduler.Ticket | undefined, ticketId: string): BenchTicket {
  if (!ticket) return { ticketId, state: 'unknown' };
  const state = ticket.state === scheduler.TicketState.GRANTED ? 'granted' : ticket.state === scheduler.TicketState.QUEUED ? 'queued' : ticket.state === scheduler.TicketState.FAILED ? 'failed' : 'unknown';
  const lease = ticket.lease;
  return {
    ticketId,
    state,
    ...(lease && state === 'granted' ? { lease: { leaseId: lease.leaseId, baseUrl: lease.baseUrl, model: lease.model, waitedMs: Number(lease.waitedMs), grantedAtMs: Number(lease.grantedAtMs) } } : {}),
    ...(ticket.errorMessage ? { errorMessage: ticket.errorMessage } : {}),
  };
}

/**
 * The benchmark's activities over the real scheduler (NATS) and the real emulator (HTTP). `benchTurn` asks the
 * emulator for exactly the trace's output tokens (the emulator is started with replies longer than any max_tokens,
 * so max_tokens is the length) and releases the lease with the trace's input tokens and the emulator's reported
 * output tokens, so the scheduler's counters see what the simulation's do.
 */
export function createBenchActivities(kernel: KernelClient, endpoint: string): BenchActivities {
  const enqueue = async (input: BenchLeaseRequest): Promise<BenchTicket> => {
    const reply = await kernel.call(contracts.scheduler.enqueue, {
      ticketId: input.ticketId,
      workflowId: input.workflowId,
      turn: {
        ref: { tenant: input.tenant, jobId: input.tenant, runId: input.runId, agentId: input.runId },
        endpoint,
        priority: input.priority,
        estimatedInputTokens: input.estimatedInputTokens,
        maxOutputTokens: input.maxOutputTokens,
        deadlineMs: BigInt(input.deadlineMs),
        maxWaitMs: 0n,
      },
    });
    return toTicket(reply.ticket, input.ticketId);
  };
  return {
    requestLease: enqueue,
    async leaseStatus(ticketId) {
      return toTicket((await kernel.call(contracts.scheduler.ticket, { ticketId })).ticket, ticketId);
    },
    async benchTurn({ lease: granted, admission, inputTokens, outputTokens }) {
      const askedAtMs = Date.now();
      let lease = granted;
      let enqueueRoundTripMs = 0;
      if (!lease && admission) {
        const asked = performance.now();
        const ticket = await enqueue(admission);
        enqueueRoundTripMs = performance.now() - asked;
        if (ticket.state !== 'granted' || !ticket.lease) return { ticket, askedAtMs };
        lease = ticket.lease;
      }
      if (!lease) throw new Error('benchTurn needs a lease or an admission');
      let output = 0;
      const fetchStartMs = Date.now();
      let fetchEndMs = fetchStartMs;
      let releaseAsked = 0;
      try {
        output = await callEmulator(lease.baseUrl, lease.model, outputTokens);
        fetchEndMs = Date.now();
      } finally {
        releaseAsked = performance.now();
        await kernel.call(contracts.scheduler.release, { leaseId: lease.leaseId, inputTokens, outputTokens: output }, { timeoutMs: 5_000 });
      }
      const releaseRoundTripMs = performance.now() - releaseAsked;
      return { lease, timing: { outputTokens: output, fetchStartMs, fetchEndMs, releasedMs: Date.now(), enqueueRoundTripMs, releaseRoundTripMs }, askedAtMs };
    },
    async plainTurn({ baseUrl, model, outputTokens }) {
      return callEmulator(baseUrl, model, outputTokens);
    },
  };
}

/** One chat completion of exactly `outputTokens` (see createBenchActivities); returns the reported output tokens. */
export async function callEmulator(baseUrl: string, model: string, outputTokens: number): Promise<number> {
  const response = await fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'go' }], max_tokens: outputTokens }),
  });
  if (!response.ok) throw new Error(`emulator answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { usage?: { completion_tokens?: number } };
  return body.usage?.completion_tokens ?? 0;
}
