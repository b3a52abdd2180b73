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
}

export interface BenchTicket {
  ticketId: string;
  state: 'queued' | 'granted' | 'failed' | 'unknown';
  lease?: BenchLease;
  errorMessage?: string;
  /** When the activity asked (Unix ms). */
  atMs?: number;
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

export interface BenchActivities {
  requestLease(input: BenchLeaseRequest): Promise<BenchTicket>;
  leaseStatus(ticketId: string): Promise<BenchTicket>;
  benchTurn(input: { lease: BenchLease; inputTokens: number; outputTokens: number }): Promise<BenchTurnTiming>;
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
  return {
    async requestLease(input) {
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
      return { ...toTicket(reply.ticket, input.ticketId), atMs: Date.now() };
    },
    async leaseStatus(ticketId) {
      return toTicket((await kernel.call(contracts.scheduler.ticket, { ticketId })).ticket, ticketId);
    },
    async benchTurn({ lease, inputTokens, outputTokens }) {
      let output = 0;
      const fetchStartMs = Date.now();
      let fetchEndMs = fetchStartMs;
      try {
        const response = await fetch(`${lease.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
          body: JSON.stringify({ model: lease.model, messages: [{ role: 'user', content: 'go' }], max_tokens: outputTokens }),
        });
        if (!response.ok) throw new Error(`emulator answered ${response.status}: ${await response.text()}`);
        const body = (await response.json()) as { usage?: { completion_tokens?: number } };
        output = body.usage?.completion_tokens ?? 0;
        fetchEndMs = Date.now();
      } finally {
        await kernel.call(contracts.scheduler.release, { leaseId: lease.leaseId, inputTokens, outputTokens: output }, { timeoutMs: 5_000 });
      }
      return { outputTokens: output, fetchStartMs, fetchEndMs, releasedMs: Date.now() };
    },
  };
}
