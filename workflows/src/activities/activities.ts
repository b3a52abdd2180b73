import { SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/client';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { KernosError, toKernosError } from '@kernos/errors';
import { keepLeaseAlive, kernelMetrics, type KernelClient, type KernelMetrics } from '@kernos/service-kit';
import { access, audit, contracts, scheduler } from '@kernos/wire';
import type { NatsConnection } from '@nats-io/nats-core';
import { createContextActivities } from './context.js';
import type { ApprovalWaitInput } from '../workflows/approval.js';
import type {
  AccessCheckInput,
  AccessCheckResult,
  ApprovalRequestInput,
  ApprovalView,
  ChatMessage,
  GovernanceInput,
  LlmTurnInput,
  LlmTurnResult,
  RememberInput,
  RememberResult,
  RunIdentity,
  ToolCallInput,
  ToolCallResult,
  ToolSpec,
} from '../types.js';

export interface ActivityDeps {
  kernel: KernelClient;
  /** NATS connection for the context object store (context.ts); without it the store/load activities fail as unavailable. */
  nc?: NatsConnection;
  /** API key sent to model endpoints (the emulator accepts any unless configured otherwise). */
  openaiApiKey: string;
  /** How long an LLM turn may wait in the scheduler's queue for a lease (default 300000 ms). */
  leaseWaitMs?: number;
  /** How often a running LLM turn heartbeats, so a dead worker's turn is retried quickly (default 1000 ms). */
  heartbeatEveryMs?: number;
  /** Tracer for the LLM call, queue-wait and policy-decision spans (default: the global tracer "kernos.workflows"). */
  tracer?: Tracer;
  /** Instruments for tokens, queue wait, tool latency and decisions (default: kernelMetrics() on the global meter). */
  metrics?: KernelMetrics;
}

/**
 * The kernel's activities. Each is a thin, typed bridge from a workflow to one kernel service over NATS (or to a
 * model endpoint through the real `openai` client); KernosErrors become ApplicationFailures whose type is the code,
 * so the workflow's retry policy treats retryable and terminal failures differently.
 */
export function createActivities(deps: ActivityDeps) {
  const clients = new Map<string, OpenAI>();
  const openaiFor = (baseURL: string): OpenAI => {
    let client = clients.get(baseURL);
    if (!client) {
      // Retries belong to Temporal, which sees the whole run; the client must not retry on its own as well.
      client = new OpenAI({ baseURL, apiKey: deps.openaiApiKey, maxRetries: 0 });
      clients.set(baseURL, client);
    }
    return client;
  };

  const tracer = deps.tracer ?? trace.getTracer('kernos.workflows');
  const meters = deps.metrics ?? kernelMetrics();
  const leaseWaitMs = deps.leaseWaitMs ?? 300_000;
  const enqueue = async (input: RequestLeaseInput): Promise<LeaseTicket> => {
    const reply = await deps.kernel.call(contracts.scheduler.enqueue, {
      ticketId: input.ticketId,
      workflowId: input.workflowId,
      turn: {
        ref: input.run,
        endpoint: input.endpoint,
        priority: input.priority,
        estimatedInputTokens: input.estimatedInputTokens,
        maxOutputTokens: input.maxOutputTokens,
        deadlineMs: BigInt(input.deadlineMs ?? 0),
        maxWaitMs: BigInt(input.maxWaitMs ?? 0),
      },
    });
    return toLeaseTicket(reply.ticket, input.ticketId);
  };
  const runTurn = async (ctx: Context, input: LlmTurnInput & { lease?: GrantedLease }): Promise<LlmTurnResult> => {
    const granted = input.lease;
    if (granted && ctx.info.attempt > 1) {
      // A retry (the first attempt's worker died, or the model failed): the lease the workflow waited for may still
      // be held by the dead attempt; give it back and queue again like any turn, so no slot is held twice.
      // Not swallowed: if NATS is away this attempt fails (retryably) and the next one gives the lease back, rather
      // than leaving it held until its TTL. An unknown or expired lease is not an error (released=false).
      await deps.kernel.call(contracts.scheduler.release, { leaseId: granted.leaseId, inputTokens: 0, outputTokens: 0 });
    }
    // A kernel span for the time the turn sat in the scheduler's queue: the cooperative-preemption point.
    const lease = granted && ctx.info.attempt === 1 ? recordQueueWait(tracer, meters, input, fromGranted(granted)) : await inSpan(tracer, `queue wait ${input.endpoint}`, SpanKind.INTERNAL, async (span) => {
      span.setAttributes({ 'kernos.scheduler.endpoint': input.endpoint, 'kernos.scheduler.priority': input.priority, 'kernos.run.id': input.run.runId });
      const granted = await deps.kernel.call(
      contracts.scheduler.acquire,
      {
        ref: input.run,
        endpoint: input.endpoint,
        priority: input.priority,
        estimatedInputTokens: estimateTokens(input.messages),
        maxOutputTokens: input.maxOutputTokens,
        // The scheduler gives up a little before we do, so it never grants a slot to a caller that has left.
        maxWaitMs: BigInt(leaseWaitMs - 2_000),
      },
      { timeoutMs: leaseWaitMs },
      );
      span.setAttributes({ 'kernos.scheduler.wait_ms': Number(granted.waitedMs), 'kernos.scheduler.lease_id': granted.leaseId });
      meters.queueWait.record(Number(granted.waitedMs), { 'kernos.scheduler.endpoint': granted.endpoint });
      return granted;
    });
    let usage = { input: 0, output: 0 };
    // A long turn (slow model, long stream) would otherwise outlive its lease and lose the slot while running.
    const stopRenewing = keepLeaseAlive(deps.kernel, lease.leaseId, Number(lease.expiresAtMs) - Number(lease.grantedAtMs));
    // One attempt with a short timeout. A successful turn whose release failed says so (leaseReleased: false) and
    // the workflow retries the release until NATS and the scheduler are back (workflows/src/workflows/lease.ts).
    let releaseAttempted = false;
    const releaseOnce = async (): Promise<boolean> => {
      releaseAttempted = true;
      return deps.kernel
        .call(contracts.scheduler.release, { leaseId: lease.leaseId, inputTokens: usage.input, outputTokens: usage.output }, { timeoutMs: 5_000 })
        .then(() => true, () => false);
    };
    try {
      const completion = await chatSpan(tracer, meters, lease, input, () => openaiFor(lease.baseUrl).chat.completions.create(
        {
          model: lease.model,
          messages: input.messages.map(toOpenAiMessage),
          ...(input.tools.length > 0 ? { tools: input.tools.map(toOpenAiTool) } : {}),
          max_tokens: input.maxOutputTokens,
          user: input.run.agentId,
        },
        { signal: ctx.cancellationSignal },
      ));
      const choice = completion.choices[0];
      if (!choice) throw new KernosError('unavailable', `model ${lease.model} on ${lease.endpoint} returned no choices`);
      usage = { input: completion.usage?.prompt_tokens ?? 0, output: completion.usage?.completion_tokens ?? 0 };
      const result: LlmTurnResult = {
        content: choice.message.content ?? '',
        toolCalls: (choice.message.tool_calls ?? []).flatMap((call) =>
          call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
        ),
        finishReason: choice.finish_reason,
        endpoint: lease.endpoint,
        model: lease.model,
        leaseId: lease.leaseId,
        waitedMs: Number(lease.waitedMs),
        inputTokens: usage.input,
        outputTokens: usage.output,
      };
      stopRenewing();
      return (await releaseOnce()) ? result : { ...result, leaseReleased: false };
    } catch (error) {
      throw fromModelError(error, lease.endpoint);
    } finally {
      stopRenewing();
      // Release even on failure so the slot is not held until the lease expires; usage is what was reported.
      if (!releaseAttempted) await releaseOnce();
    }
  };

  return {
    /**
     * One LLM turn. With `lease` (granted through requestLease while the workflow was suspended) the first attempt
     * uses it at once. With `admission` instead, the first attempt queues the turn itself (kernos.scheduler.enqueue,
     * as requestLease does) and runs it only if the ticket is granted at once; otherwise it returns the ticket
     * (`admitted: false`) without running, and the workflow waits suspended for the grant as before. An uncontended
     * turn so costs one activity, not two. Without either, or on a retry, the activity waits for a lease itself
     * (holding its worker slot).
     */
    async llmTurn(input: LlmTurnInput & { lease?: GrantedLease; admission?: RequestLeaseInput }): Promise<LlmTurnOutcome> {
      return asActivity(async () => {
        const ctx = Context.current();
        const { admission, ...turn } = input;
        if (admission && !turn.lease) {
          if (ctx.info.attempt === 1) {
            const ticket = await enqueue(admission);
            if (ticket.state !== 'granted' || !ticket.lease) return { admitted: false, ticket };
            turn.lease = ticket.lease;
          } else {
            // A retry: the first attempt's ticket may hold a lease (its worker died mid-turn). Give it back, or leave
            // the queue, then wait for a lease like any retried turn, so no slot is held twice.
            await deps.kernel.call(contracts.scheduler.withdraw, { ticketId: admission.ticketId });
          }
        }
        // Heartbeat from the start: waiting for a lease is part of the turn and must not look like a dead worker.
        const beat = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 1_000);
        try {
          const result = await runTurn(ctx, turn);
          await auditTurn(deps.kernel, turn, result);
          return result;
        } finally {
          clearInterval(beat);
        }
      });
    },

    /**
     * Queues an LLM turn with the scheduler and returns at once: granted (a slot was free) or queued, in which case
     * the scheduler signals the workflow when it grants. Same ticket id, same ticket: safe to retry.
     */
    async requestLease(input: RequestLeaseInput): Promise<LeaseTicket> {
      return asActivity(() => enqueue(input));
    },

    /** Where a ticket stands: the workflow's fallback when a grant signal is late or was lost. */
    async leaseStatus(ticketId: string): Promise<LeaseTicket> {
      return asActivity(async () => toLeaseTicket((await deps.kernel.call(contracts.scheduler.ticket, { ticketId })).ticket, ticketId));
    },

    /**
     * Gives a lease back that llmTurn could not release (leaseReleased: false). Fails retryably while NATS or the
     * scheduler is away, so Temporal retries it until they are back; releasing twice is harmless (released=false).
     */
    async releaseLease(input: { leaseId: string; inputTokens: number; outputTokens: number }): Promise<boolean> {
      return asActivity(async () => (await deps.kernel.call(contracts.scheduler.release, input, { timeoutMs: 5_000 })).released);
    },

    /** The workflow no longer wants the turn: leaves the queue, or gives a granted lease back. */
    async withdrawLease(ticketId: string): Promise<boolean> {
      return asActivity(async () => (await deps.kernel.call(contracts.scheduler.withdraw, { ticketId })).withdrawn);
    },

    /**
     * The tools the model is offered. With the job's governance the gateway builds the job's catalog (only tools
     * services/access lets this job call, approval-gated ones included); without it (callers from before the
     * per-job catalog) the whole catalog is fetched and cut to the grant here. Either way a tool outside the grant
     * is never offered.
     */
    async listTools(run: RunIdentity, granted: string[], governance?: GovernanceInput): Promise<ToolSpec[]> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(contracts.toolGateway.list, { ref: run, ...(governance ? { governance, grantedTools: granted } : {}) });
        return reply.tools
          .filter((tool) => granted.includes(tool.name))
          .map((tool) => ({ name: tool.name, description: tool.description, inputSchema: JSON.parse(tool.inputSchemaJson || '{}') as Record<string, unknown> }));
      });
    },

    async checkAccess(input: AccessCheckInput): Promise<AccessCheckResult> {
      return asActivity(() => inSpan(tracer, `policy decision ${input.action}`, SpanKind.INTERNAL, async (span) => {
        const reply = await deps.kernel.call(contracts.access.check, {
          ref: input.run,
          governance: input.governance,
          action: input.action,
          resource: input.resource,
          grantedTools: input.grantedTools,
          payloadBytes: BigInt(input.payloadBytes ?? 0),
        });
        const decision = decisionName(reply.decision);
        span.setAttributes({
          'kernos.access.action': input.action,
          'kernos.access.resource': input.resource,
          'kernos.access.decision': decision,
          'kernos.access.rule': reply.rule,
          'kernos.run.id': input.run.runId,
        });
        meters.accessDecisions.add(1, { 'kernos.access.action': input.action, 'kernos.access.decision': decision });
        return { decision, reason: reply.reason, rule: reply.rule };
      }));
    },

    async requestApproval(input: ApprovalRequestInput): Promise<ApprovalView> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(contracts.access.requestApproval, {
          ref: input.run,
          governance: input.governance,
          action: input.action,
          resource: input.resource,
          grantedTools: input.grantedTools,
          timeoutMs: input.timeoutMs,
          escalateTo: input.escalateTo,
        });
        return approvalView(reply.approval);
      });
    },

    async expireApproval(approvalId: string): Promise<ApprovalView> {
      return asActivity(async () => approvalView((await deps.kernel.call(contracts.access.expire, { approvalId })).approval));
    },

    /**
     * The approval wait as a kernel span in the run's trace, from the request to the decision (workflow times), under
     * this activity's span. Recorded afterwards because workflow code cannot use OpenTelemetry (determinism).
     */
    async recordApprovalWait(input: ApprovalWaitInput): Promise<void> {
      const span = tracer.startSpan(`approval wait ${input.action} ${input.resource}`, {
        kind: SpanKind.INTERNAL,
        startTime: input.requestedAtMs,
        attributes: {
          'kernos.run.id': input.run.runId,
          'kernos.approval.id': input.approvalId,
          'kernos.approval.approver': input.approver,
          'kernos.approval.status': input.status,
          'kernos.approval.decided_by': input.decidedBy,
          'kernos.approval.wait_ms': input.decidedAtMs - input.requestedAtMs,
        },
      });
      span.end(input.decidedAtMs);
    },

    async callTool(input: ToolCallInput): Promise<ToolCallResult> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(
          contracts.toolGateway.call,
          // With the grants the gateway asks services/access itself before calling (a second, independent check).
          { ref: input.run, governance: input.governance, tool: input.tool, argumentsJson: input.arguments, grantedTools: input.grantedTools ?? [] },
          { timeoutMs: 60_000 },
        );
        meters.toolDuration.record(Number(reply.latencyMs), { 'gen_ai.tool.name': input.tool, 'kernos.tool.is_error': reply.isError });
        return { server: reply.server, text: reply.text, isError: reply.isError, latencyMs: Number(reply.latencyMs) };
      });
    },

    async remember(input: RememberInput): Promise<RememberResult> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(contracts.graph.writeFact, {
          ref: input.run,
          subject: input.subject,
          predicate: input.predicate,
          object: input.object,
          text: input.text,
          dataCategory: input.dataCategory,
          // The graph asks services/access whether this job may write the category.
          governance: input.governance,
          // The graph applies writes from its outbox; the run's conclusion must be readable when the run ends.
          sync: true,
        });
        return { factId: reply.factId, created: reply.created };
      });
    },
    // The context manager's activities (packages/sdk): graph reads and context stored by reference.
    ...createContextActivities(deps),
  };
}

export type KernosActivities = ReturnType<typeof createActivities>;

/** A lease granted by the scheduler, as a workflow carries it (plain JSON; also the shape of the grant signal). */
export interface GrantedLease {
  leaseId: string;
  endpoint: string;
  baseUrl: string;
  model: string;
  grantedAtMs: number;
  expiresAtMs: number;
  waitedMs: number;
}

/** A queued turn's ticket; `lease` is set when granted, `errorCode`/`errorMessage` when failed. */
export interface LeaseTicket {
  ticketId: string;
  state: 'queued' | 'granted' | 'failed' | 'unknown';
  lease?: GrantedLease;
  errorCode?: string;
  errorMessage?: string;
}

/**
 * What llmTurn returns: the turn's result, or, when it was asked to queue the turn itself (`admission`) and the
 * scheduler did not grant at once, the ticket to wait on (`admitted: false`; nothing ran).
 */
export type LlmTurnOutcome = LlmTurnResult | { admitted: false; ticket: LeaseTicket };

export interface RequestLeaseInput {
  /** Unique per turn and stable across retries of this activity. */
  ticketId: string;
  /** The workflow the scheduler signals on grant. */
  workflowId: string;
  run: RunIdentity;
  endpoint: string;
  priority: number;
  estimatedInputTokens: number;
  maxOutputTokens: number;
  /** Unix ms by which the turn should be done; 0 or unset means none. */
  deadlineMs?: number;
  /** Drop the ticket after this long in the queue; 0 or unset waits until granted. */
  maxWaitMs?: number;
}

function toLeaseTicket(ticket: scheduler.Ticket | undefined, ticketId: string): LeaseTicket {
  if (!ticket) return { ticketId, state: 'unknown' };
  const state = ({ [scheduler.TicketState.QUEUED]: 'queued', [scheduler.TicketState.GRANTED]: 'granted', [scheduler.TicketState.FAILED]: 'failed' } as const)[
    ticket.state as scheduler.TicketState.QUEUED | scheduler.TicketState.GRANTED | scheduler.TicketState.FAILED
  ] ?? 'unknown';
  const lease = ticket.lease;
  return {
    ticketId,
    state,
    ...(lease && state === 'granted'
      ? {
          lease: {
            leaseId: lease.leaseId,
            endpoint: lease.endpoint,
            baseUrl: lease.baseUrl,
            model: lease.model,
            grantedAtMs: Number(lease.grantedAtMs),
            expiresAtMs: Number(lease.expiresAtMs),
            waitedMs: Number(lease.waitedMs),
          },
        }
      : {}),
    ...(ticket.errorCode ? { errorCode: ticket.errorCode, errorMessage: ticket.errorMessage } : {}),
  };
}

/**
 * The queue wait of a turn the workflow waited for (enqueue, then the scheduler's grant signal), as a span over the
 * time it actually sat in the queue (grantedAt - waited .. grantedAt), so the trace shows it where it happened.
 */
function recordQueueWait<L extends { endpoint: string; leaseId: string; waitedMs: bigint; grantedAtMs: bigint }>(
  tracer: Tracer,
  meters: KernelMetrics,
  input: LlmTurnInput,
  lease: L,
): L {
  const grantedAt = Number(lease.grantedAtMs) || Date.now();
  const span = tracer.startSpan(`queue wait ${input.endpoint}`, {
    kind: SpanKind.INTERNAL,
    startTime: grantedAt - Number(lease.waitedMs),
    attributes: {
      'kernos.scheduler.endpoint': lease.endpoint,
      'kernos.scheduler.priority': input.priority,
      'kernos.run.id': input.run.runId,
      'kernos.scheduler.wait_ms': Number(lease.waitedMs),
      'kernos.scheduler.lease_id': lease.leaseId,
    },
  });
  span.end(grantedAt);
  meters.queueWait.record(Number(lease.waitedMs), { 'kernos.scheduler.endpoint': lease.endpoint });
  return lease;
}

/** A granted lease in the shape the turn code uses for one it acquired itself. */
function fromGranted(lease: GrantedLease) {
  return {
    leaseId: lease.leaseId,
    endpoint: lease.endpoint,
    baseUrl: lease.baseUrl,
    model: lease.model,
    grantedAtMs: BigInt(lease.grantedAtMs),
    expiresAtMs: BigInt(lease.expiresAtMs),
    waitedMs: BigInt(lease.waitedMs),
  };
}

/**
 * One KIND_LLM_TURN audit record per model call, through services/access's relay (a worker may not publish to the
 * AUDIT stream itself). Best effort: the tokens are spent, so a failing audit write must not fail (and repeat) the turn.
 */
async function auditTurn(kernel: KernelClient, input: LlmTurnInput, result: LlmTurnResult): Promise<void> {
  await kernel
    .call(
      contracts.audit.append,
      {
        record: {
          kind: audit.Kind.LLM_TURN,
          ref: input.run,
          traceId: trace.getActiveSpan()?.spanContext().traceId ?? '',
          service: 'worker',
          action: 'chat.completions',
          resource: `${result.endpoint}/${result.model}`,
          outcome: result.finishReason,
          detailJson: JSON.stringify({
            leaseId: result.leaseId,
            waitedMs: result.waitedMs,
            inputTokens: result.inputTokens,
            outputTokens: result.outputTokens,
            toolCalls: result.toolCalls.map((c) => c.name),
          }),
        },
      },
      { timeoutMs: 2_000 },
    )
    .catch((error: unknown) => trace.getActiveSpan()?.addEvent('kernos.audit.failed', { 'error.message': (error as Error).message }));
}

function approvalView(approval: access.Approval | undefined): ApprovalView {
  if (!approval) throw new KernosError('internal', 'services/access replied without an approval');
  const status = ({ [access.ApprovalStatus.APPROVED]: 'approved', [access.ApprovalStatus.DENIED]: 'denied', [access.ApprovalStatus.EXPIRED]: 'expired' } as const)[approval.status as 2 | 3 | 4] ?? 'pending';
  return {
    id: approval.id,
    status,
    approver: approval.approver,
    escalated: approval.escalated,
    deadlineUnixMs: Number(approval.deadlineUnixMs),
    decidedBy: approval.decidedBy,
    comment: approval.comment,
  };
}

function decisionName(decision: access.Decision): AccessCheckResult['decision'] {
  switch (decision) {
    case access.Decision.ALLOW:
      return 'allow';
    case access.Decision.NEEDS_APPROVAL:
      return 'needs_approval';
    default:
      return 'deny';
  }
}

/** A rough count for admission only (about four characters a token); the model reports real usage on release. */
function estimateTokens(messages: ChatMessage[]): number {
  return Math.ceil(messages.reduce((sum, m) => sum + m.content.length, 0) / 4);
}

function toOpenAiMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId ?? '', content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        ...(message.toolCalls && message.toolCalls.length > 0
          ? { tool_calls: message.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
    default:
      return { role: message.role, content: message.content };
  }
}

function toOpenAiTool(tool: ToolSpec): ChatCompletionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.inputSchema } };
}

function fromModelError(error: unknown, endpoint: string): KernosError {
  if (error instanceof KernosError) return error;
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    if (status === 429) return new KernosError('rate_limited', `endpoint ${endpoint} is rate limiting: ${error.message}`);
    if (status >= 500 || status === 0) return new KernosError('unavailable', `endpoint ${endpoint} failed: ${error.message}`);
    return new KernosError('invalid_argument', `endpoint ${endpoint} rejected the request: ${error.message}`);
  }
  return new KernosError('unavailable', `endpoint ${endpoint}: ${(error as Error).message}`, { cause: error });
}

/** Runs `run` inside an active span that records failures, so NATS calls made inside become its children. */
async function inSpan<T>(tracer: Tracer, name: string, kind: SpanKind, run: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind }, async (span) => {
    try {
      return await run(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

interface ChatCompletionLike {
  model: string;
  choices: { finish_reason: string }[];
  usage?: { prompt_tokens: number; completion_tokens: number } | undefined;
}

/** The LLM call's span and metrics, named and attributed by the OpenTelemetry GenAI semantic conventions. */
async function chatSpan<T extends ChatCompletionLike>(
  tracer: Tracer,
  meters: KernelMetrics,
  lease: { model: string; baseUrl: string; endpoint: string },
  input: LlmTurnInput,
  call: () => Promise<T>,
): Promise<T> {
  const url = safeUrl(lease.baseUrl);
  const common = { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': lease.model };
  const started = performance.now();
  return inSpan(tracer, `chat ${lease.model}`, SpanKind.CLIENT, async (span) => {
    span.setAttributes({
      ...common,
      'gen_ai.request.max_tokens': input.maxOutputTokens,
      'kernos.scheduler.endpoint': lease.endpoint,
      'kernos.run.id': input.run.runId,
      ...(url ? { 'server.address': url.hostname, 'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)) } : {}),
    });
    try {
      const completion = await call();
      const inputTokens = completion.usage?.prompt_tokens ?? 0;
      const outputTokens = completion.usage?.completion_tokens ?? 0;
      span.setAttributes({
        'gen_ai.response.model': completion.model,
        'gen_ai.response.finish_reasons': completion.choices.map((c) => c.finish_reason),
        'gen_ai.usage.input_tokens': inputTokens,
        'gen_ai.usage.output_tokens': outputTokens,
      });
      const attrs = { ...common, 'gen_ai.response.model': completion.model };
      meters.tokenUsage.record(inputTokens, { ...attrs, 'gen_ai.token.type': 'input' });
      meters.tokenUsage.record(outputTokens, { ...attrs, 'gen_ai.token.type': 'output' });
      return completion;
    } catch (error) {
      span.setAttribute('error.type', (error as { status?: number }).status ? String((error as { status?: number }).status) : 'error');
      throw error;
    } finally {
      meters.operationDuration.record((performance.now() - started) / 1000, common);
    }
  });
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The boundary where a KernosError becomes a Temporal failure: type = code, retryable decided by the code. */
async function asActivity<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (thrown) {
    const error = toKernosError(thrown);
    throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: !error.retryable, cause: error });
  }
}
