import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { z } from 'zod';
import { toKernosError } from '@kernos/errors';
import { keepLeaseAlive, type KernelClient } from '@kernos/service-kit';
import { access, contracts } from '@kernos/wire';
import type { ApiKeyConfig } from '../config.js';
import { HttpError, httpStatusFor, readBody, sendError, sendJson } from '../http.js';
import type { JobBudgets } from '../budget.js';
import type { Auditor } from '../audit.js';

/**
 * The fields the gateway itself acts on; everything else (tools, tool_choice, temperature, response_format...) is
 * forwarded unchanged, and the real endpoint validates it as it always does.
 */
export const chatRequestSchema = z.looseObject({
  model: z.string({ error: 'expected the model (a Kernos endpoint name, see GET /v1/models)' }).min(1, { error: 'expected a model name' }),
  messages: z.array(z.looseObject({ role: z.string({ error: 'expected a role' }) }), { error: 'expected a list of messages' }).min(1, { error: 'expected at least one message' }),
  stream: z.boolean({ error: 'expected true or false' }).optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
});

export type ChatRequest = z.output<typeof chatRequestSchema>;

export interface ChatHandlerDeps {
  kernel: KernelClient;
  budgets: JobBudgets;
  auditor: Auditor;
  upstreamApiKey: string;
  leaseWaitMs: number;
  fetch?: typeof fetch;
}

const maxBodyBytes = 4 * 1024 * 1024;

/**
 * POST /v1/chat/completions for a client authenticated as `job`: access check (model.use), budget, a lease from
 * the scheduler (the same queue native agents wait in), the call forwarded to the lease's endpoint (streamed
 * through as it arrives), the lease released with the real usage, and an audit record. A client that goes away
 * aborts the upstream call and releases its lease at once.
 */
export async function handleChatCompletions(deps: ChatHandlerDeps, job: ApiKeyConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const text = await readBody(req, maxBodyBytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not JSON', 'invalid_request_error', 'invalid_json');
  }
  const parsed = chatRequestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
    throw new HttpError(400, `${param || 'body'}: ${issue.message}`, 'invalid_request_error', 'invalid_value', param || null);
  }
  const body = parsed.data;
  if (!job.endpoints.includes(body.model)) {
    throw new HttpError(404, `model "${body.model}" is not available to job ${job.jobId}; available: ${job.endpoints.join(', ')}`, 'invalid_request_error', 'model_not_found', 'model');
  }

  // A client may name its conversation so its records form one audit chain; otherwise each request is its own run.
  const runHeader = req.headers['x-kernos-run-id'];
  const runId = typeof runHeader === 'string' && /^[\w.:-]{1,128}$/.test(runHeader) ? runHeader : `chatcmpl-${randomUUID()}`;
  const ref = { tenant: job.tenant, jobId: job.jobId, runId, agentId: job.agentId ?? `openai-client:${job.jobId}` };
  const governance = { ...job.governance };
  const endpoint = body.model;
  const audit = (outcome: string, detail: Record<string, unknown>) => deps.auditor.record({ ref, governance, action: 'chat.completions', resource: endpoint, outcome, detail });

  const remaining = deps.budgets.remaining(job);
  if (remaining !== undefined && remaining <= 0) {
    await audit('budget_exhausted', { budget: job.tokenBudget });
    throw new HttpError(429, `job ${job.jobId} has spent its token budget of ${job.tokenBudget}`, 'insufficient_quota', 'budget_exhausted');
  }

  const verdict = await deps.kernel.call(contracts.access.check, { ref, governance, action: 'model.use', resource: endpoint, grantedTools: [] });
  if (verdict.decision !== access.Decision.ALLOW) {
    const code = verdict.decision === access.Decision.NEEDS_APPROVAL ? 'needs_approval' : 'denied';
    await audit(code, { rule: verdict.rule, reason: verdict.reason });
    throw new HttpError(403, `job ${job.jobId} may not use endpoint ${endpoint}: ${verdict.reason || verdict.rule}`, 'permission_error', code);
  }

  const wanted = body.max_completion_tokens ?? body.max_tokens ?? job.maxOutputTokens;
  const maxOutputTokens = Math.max(1, Math.min(wanted, job.maxOutputTokens, remaining ?? Number.MAX_SAFE_INTEGER));
  const lease = await deps.kernel.call(
    contracts.scheduler.acquire,
    {
      ref,
      endpoint,
      priority: job.priority,
      // The real tokenizer, as the model counts: admission by tokens is only as fair as this estimate.
      estimatedInputTokens: countTokens(JSON.stringify(body.messages)),
      maxOutputTokens,
      maxWaitMs: BigInt(deps.leaseWaitMs),
    },
    // The scheduler gives up first, so it never grants to a caller that has left.
    { timeoutMs: deps.leaseWaitMs + 2_000 },
  );

  // A long completion (slow model, long stream) would otherwise outlive its lease, and the scheduler would give
  // the slot to someone else while this one still runs on the endpoint.
  const stopRenewing = keepLeaseAlive(deps.kernel, lease.leaseId, Number(lease.expiresAtMs) - Number(lease.grantedAtMs));
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.on('close', onClose);
  const usage = { input: 0, output: 0 };
  const wantsUsage = body.stream_options?.include_usage === true;
  const forwarded = {
    ...body,
    model: lease.model,
    ...(body.max_completion_tokens != null ? { max_completion_tokens: maxOutputTokens } : { max_tokens: maxOutputTokens }),
    // Usage is needed to release the lease and charge the budget; the usage chunk is dropped if the client did not ask.
    ...(body.stream ? { stream_options: { ...(body.stream_options ?? {}), include_usage: true } } : {}),
  };
  let outcome = 'ok';
  let status = 0;
  let released = false;
  // Released before the client sees the end of the answer, so whatever the client does next finds the slot free
  // and the tokens counted.
  const release = async () => {
    if (released) return;
    released = true;
    stopRenewing();
    deps.budgets.charge(job, usage.input + usage.output);
    await deps.kernel.call(contracts.scheduler.release, { leaseId: lease.leaseId, inputTokens: usage.input, outputTokens: usage.output }).catch(() => undefined);
  };
  try {
    const upstream = await (deps.fetch ?? fetch)(`${lease.baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${deps.upstreamApiKey}` },
      body: JSON.stringify(forwarded),
      signal: abort.signal,
    });
    status = upstream.status;
    const contentType = upstream.headers.get('content-type') ?? '';
    if (!upstream.ok || !body.stream || !contentType.includes('text/event-stream') || !upstream.body) {
      const reply = await upstream.text();
      if (upstream.ok) {
        const completion = JSON.parse(reply) as { usage?: { prompt_tokens?: number; completion_tokens?: number } };
        usage.input = completion.usage?.prompt_tokens ?? 0;
        usage.output = completion.usage?.completion_tokens ?? 0;
      } else {
        outcome = 'error';
      }
      await release();
      const retryAfter = upstream.headers.get('retry-after');
      res.writeHead(upstream.status, { 'content-type': contentType || 'application/json', ...(retryAfter ? { 'retry-after': retryAfter } : {}) });
      res.end(reply);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let done = '';
    await relayEvents(upstream.body, (event) => {
      const data = event.startsWith('data:') ? event.slice(5).trim() : '';
      // Clients stop reading at [DONE]: it goes out only after the lease is released.
      if (data === '[DONE]') {
        done = event;
        return;
      }
      if (data !== '') {
        try {
          const chunk = JSON.parse(data) as { choices?: unknown[]; usage?: { prompt_tokens?: number; completion_tokens?: number } | null };
          if (chunk.usage) {
            usage.input = chunk.usage.prompt_tokens ?? 0;
            usage.output = chunk.usage.completion_tokens ?? 0;
            if (!wantsUsage && (chunk.choices?.length ?? 0) === 0) return;
          }
        } catch {
          // Not JSON: pass it on untouched; the client decides what it means.
        }
      }
      res.write(`${event}\n\n`);
    });
    await release();
    res.end(done === '' ? undefined : `${done}\n\n`);
  } catch (error) {
    outcome = abort.signal.aborted ? 'client_closed' : 'error';
    if (abort.signal.aborted) return;
    throw new HttpError(502, `endpoint ${lease.endpoint} failed: ${(error as Error).message}`, 'server_error', 'upstream_error');
  } finally {
    res.off('close', onClose);
    await release();
    await audit(outcome, {
      model: lease.model,
      leaseId: lease.leaseId,
      waitedMs: Number(lease.waitedMs),
      stream: body.stream === true,
      status,
      inputTokens: usage.input,
      outputTokens: usage.output,
      tools: Array.isArray(body.tools) ? body.tools.length : 0,
    });
  }
}

/** Splits an SSE byte stream into events (separated by a blank line) and hands each one over as it completes. */
async function relayEvents(stream: ReadableStream<Uint8Array>, onEvent: (event: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (event.trim() !== '') onEvent(event);
      end = buffer.indexOf('\n\n');
    }
  }
  if (buffer.trim() !== '') onEvent(buffer.trim());
}

/** A kernel failure as the HTTP error an OpenAI client understands. */
export function toHttpError(thrown: unknown): HttpError {
  if (thrown instanceof HttpError) return thrown;
  const error = toKernosError(thrown);
  const { status, type } = httpStatusFor(error.code);
  return new HttpError(status, error.message, type, error.code);
}

/** For the response of a request that failed before anything was sent. */
export function respondWithError(res: ServerResponse, thrown: unknown): void {
  sendError(res, toHttpError(thrown));
}

export { sendJson };
