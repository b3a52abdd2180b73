import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/client';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { KernosError, toKernosError } from '@kernos/errors';
import type { KernelClient } from '@kernos/service-kit';
import { access, contracts } from '@kernos/wire';
import type {
  AccessCheckInput,
  AccessCheckResult,
  ChatMessage,
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
  /** API key sent to model endpoints (the emulator accepts any unless configured otherwise). */
  openaiApiKey: string;
  /** How long an LLM turn may wait in the scheduler's queue for a lease (default 300000 ms). */
  leaseWaitMs?: number;
  /** How often a running LLM turn heartbeats, so a dead worker's turn is retried quickly (default 1000 ms). */
  heartbeatEveryMs?: number;
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

  const leaseWaitMs = deps.leaseWaitMs ?? 300_000;
  const runTurn = async (ctx: Context, input: LlmTurnInput): Promise<LlmTurnResult> => {
    const lease = await deps.kernel.call(
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
    let usage = { input: 0, output: 0 };
    try {
      const completion = await openaiFor(lease.baseUrl).chat.completions.create(
        {
          model: lease.model,
          messages: input.messages.map(toOpenAiMessage),
          ...(input.tools.length > 0 ? { tools: input.tools.map(toOpenAiTool) } : {}),
          max_tokens: input.maxOutputTokens,
          user: input.run.agentId,
        },
        { signal: ctx.cancellationSignal },
      );
      const choice = completion.choices[0];
      if (!choice) throw new KernosError('unavailable', `model ${lease.model} on ${lease.endpoint} returned no choices`);
      usage = { input: completion.usage?.prompt_tokens ?? 0, output: completion.usage?.completion_tokens ?? 0 };
      return {
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
    } catch (error) {
      throw fromModelError(error, lease.endpoint);
    } finally {
      // Release even on failure so the slot is not held until the lease expires; usage is what was reported.
      await deps.kernel
        .call(contracts.scheduler.release, { leaseId: lease.leaseId, inputTokens: usage.input, outputTokens: usage.output })
        .catch(() => undefined);
    }
  };

  return {
    async llmTurn(input: LlmTurnInput): Promise<LlmTurnResult> {
      return asActivity(async () => {
        const ctx = Context.current();
        // Heartbeat from the start: waiting for a lease is part of the turn and must not look like a dead worker.
        const beat = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 1_000);
        try {
          return await runTurn(ctx, input);
        } finally {
          clearInterval(beat);
        }
      });
    },

    async listTools(run: RunIdentity, granted: string[]): Promise<ToolSpec[]> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(contracts.toolGateway.list, { ref: run });
        return reply.tools
          .filter((tool) => granted.includes(tool.name))
          .map((tool) => ({ name: tool.name, description: tool.description, inputSchema: JSON.parse(tool.inputSchemaJson || '{}') as Record<string, unknown> }));
      });
    },

    async checkAccess(input: AccessCheckInput): Promise<AccessCheckResult> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(contracts.access.check, {
          ref: input.run,
          governance: input.governance,
          action: input.action,
          resource: input.resource,
          grantedTools: input.grantedTools,
        });
        return { decision: decisionName(reply.decision), reason: reply.reason, rule: reply.rule };
      });
    },

    async callTool(input: ToolCallInput): Promise<ToolCallResult> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(
          contracts.toolGateway.call,
          { ref: input.run, governance: input.governance, tool: input.tool, argumentsJson: input.arguments },
          { timeoutMs: 60_000 },
        );
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
        });
        return { factId: reply.factId, created: reply.created };
      });
    },
  };
}

export type KernosActivities = ReturnType<typeof createActivities>;

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

/** The boundary where a KernosError becomes a Temporal failure: type = code, retryable decided by the code. */
async function asActivity<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (thrown) {
    const error = toKernosError(thrown);
    throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: !error.retryable, cause: error });
  }
}
