import { createHash, randomUUID } from 'node:crypto';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { KernosError, toKernosError } from '@kernos/errors';
import type { Logger } from '@kernos/service-kit';
import type { AccessPolicy, Principal, Verdict } from './access.js';
import type { AuditSink, ToolAttemptRecord } from './audit.js';
import type { CatalogTool } from './catalog.js';
import type { Capabilities } from './config.js';
import type { ToolCallResult, ToolGateway } from './gateway.js';
import { normalise, type ToolErrorCode } from './normalise.js';
import { isBreakerOpen, type Resilience } from './resilience/policies.js';

export interface RouterOptions {
  gateway: ToolGateway;
  resilience: Resilience;
  access: AccessPolicy;
  audit: AuditSink;
  logger: Logger;
  /** Capability → tools, cheapest first (default none). */
  capabilities?: Capabilities;
  /** Bound on one attempt (default 30000 ms); a server's calls are never given longer. */
  attemptTimeoutMs?: number;
}

export interface RoutedCall {
  /** A tool (catalog name or server.tool); or set `capability` instead. */
  tool?: string;
  capability?: string;
  arguments: Record<string, unknown>;
  principal: Principal;
  /** The caller's own deadline for the whole call, retries and cascade included. */
  deadlineMs?: number;
  /** The caller cancels by aborting it; the server in the middle of the call is sent notifications/cancelled. */
  signal?: AbortSignal;
  onProgress?: (progress: Progress & { tool: string }) => void;
  /** Where the call came from, for audit: nats | mcp. */
  via: string;
}

export interface AttemptSummary {
  tool: string;
  server: string;
  outcome: ToolAttemptRecord['outcome'];
  errorCode?: ToolErrorCode;
  errorMessage: string;
  latencyMs: number;
  decision: ToolAttemptRecord['decision'];
}

export interface RoutedResult {
  result: ToolCallResult;
  cascadeId: string;
  attempts: AttemptSummary[];
}

/** A failed routed call: the last error, normalised, with the attempts that led to it. */
export class RoutedCallError extends KernosError {
  readonly cascadeId: string;
  readonly attempts: AttemptSummary[];
  constructor(error: KernosError, cascadeId: string, attempts: AttemptSummary[]) {
    super(error.code, error.message, { retryable: error.retryable, details: { ...error.details, cascadeId }, cause: error });
    this.cascadeId = cascadeId;
    this.attempts = attempts;
  }
}

/** The catalog one principal sees. */
export interface RoutedCatalog {
  tools: CatalogTool[];
  capabilities: { name: string; tools: string[] }[];
}

/**
 * The policy fabric around the routing core: access, rate limits, circuit breakers, retries, timeouts,
 * capability cascades and one audit record per attempt. The NATS subjects and the kernel's MCP endpoint both
 * call this, so an MCP client gets exactly the policy, limits and audit a workflow gets.
 */
export interface ToolRouter {
  list(principal: Principal): Promise<RoutedCatalog>;
  /** Throws RoutedCallError whose code is one of the six gateway codes (in KernosError spelling). */
  call(call: RoutedCall): Promise<RoutedResult>;
  /** Whether a name is a configured capability rather than a tool (a tool of the same name wins). */
  isCapability(name: string): Promise<boolean>;
}

export function createToolRouter(options: RouterOptions): ToolRouter {
  const { gateway, resilience, access, audit, logger } = options;
  const capabilities = options.capabilities ?? {};
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;

  const agentKey = (principal: Principal): string => principal.ref.agentId || principal.ref.jobId || 'anonymous';

  const verdictError = (tool: string, verdict: Verdict): KernosError =>
    verdict.decision === 'needs_approval'
      ? new KernosError('needs_approval', `calling "${tool}" needs an approval the gateway cannot give: ${verdict.reason}`, { details: { rule: verdict.rule } })
      : new KernosError('denied', verdict.reason || `tool "${tool}" is not allowed for this job`, { details: { rule: verdict.rule } });

  const allowedTools = async (principal: Principal, tools: readonly CatalogTool[]): Promise<CatalogTool[]> => {
    if (!principal.governance) return [...tools];
    // A job's document names its tools: what it does not grant is not offered, whatever the policy says, and
    // services/access is not asked (nor audits) a verdict per catalog tool the job could never call.
    const granted = new Set(principal.grantedTools);
    const candidates = granted.size > 0 ? tools.filter((tool) => granted.has(tool.name) || granted.has(`${tool.server}.${tool.toolName}`)) : [...tools];
    // One check per tool, all at once: the access contract has no batch form, and N parallel requests on one
    // NATS connection cost about one round trip.
    const verdicts = await Promise.all(candidates.map((tool) => access.check(principal, tool.name, tool.annotations).catch(() => undefined)));
    const shown = (decision: Verdict['decision'] | undefined): boolean => decision === 'allow' || (decision === 'needs_approval' && principal.seeksApprovals === true);
    return candidates.filter((_, index) => shown(verdicts[index]?.decision));
  };

  return {
    async isCapability(name) {
      if (!Object.hasOwn(capabilities, name)) return false;
      const tools = await gateway.list();
      return !tools.some((t) => t.name === name);
    },

    async list(principal) {
      const all = await gateway.list();
      const tools = await allowedTools(principal, all);
      const names = new Set(tools.map((t) => t.name));
      const visible = Object.entries(capabilities)
        .filter(([, steps]) => steps.some((step) => names.has(step) || tools.some((t) => `${t.server}.${t.toolName}` === step)))
        .map(([name, steps]) => ({ name, tools: [...steps] }));
      return { tools, capabilities: visible };
    },

    async call(call) {
      const cascadeId = randomUUID();
      const { principal } = call;
      const attempts: AttemptSummary[] = [];
      const digest = createHash('sha256').update(JSON.stringify(call.arguments)).digest('hex');
      const capability = call.capability ?? '';
      let attemptNumber = 0;

      const record = (entry: Omit<ToolAttemptRecord, 'ref' | 'governance' | 'capability' | 'cascadeId' | 'argumentsDigest' | 'via' | 'attempt'>): void => {
        attemptNumber += 1;
        const error = entry.errorCode ? (entry.errorCode as ToolErrorCode) : undefined;
        attempts.push({ tool: entry.tool, server: entry.server, outcome: entry.outcome, ...(error ? { errorCode: error } : {}), errorMessage: entry.errorMessage, latencyMs: entry.latencyMs, decision: entry.decision });
        audit.record({ ...entry, ref: principal.ref, governance: principal.governance, capability, cascadeId, argumentsDigest: digest, via: call.via, attempt: attemptNumber });
      };
      const fail = (error: unknown): RoutedCallError => new RoutedCallError(toKernosError(error), cascadeId, attempts);

      let steps: string[];
      if (call.capability) {
        const configured = capabilities[call.capability];
        if (!configured) {
          throw fail(new KernosError('invalid_argument', `unknown capability "${call.capability}"; known: ${Object.keys(capabilities).join(', ') || 'none'}`));
        }
        steps = configured;
      } else if (call.tool && call.tool.trim() !== '') {
        steps = [call.tool];
      } else {
        throw fail(new KernosError('invalid_argument', 'tool is required: name the tool (or capability) to call (see kernos.tool-gateway.list)'));
      }

      // The caller's deadline and cancel become one signal for every attempt.
      const controller = new AbortController();
      const onCallerAbort = () => controller.abort(new KernosError('timeout', 'the caller cancelled the call', { retryable: false, details: { cancelled: true } }));
      if (call.signal?.aborted) onCallerAbort();
      call.signal?.addEventListener('abort', onCallerAbort, { once: true });
      const deadline =
        call.deadlineMs === undefined
          ? undefined
          : setTimeout(
              () => controller.abort(new KernosError('timeout', `the caller's deadline of ${call.deadlineMs} ms passed`, { retryable: false, details: { cancelled: true } })),
              call.deadlineMs,
            );

      try {
        const agentWait = resilience.takeAgent(agentKey(principal));
        if (agentWait !== undefined) {
          const error = new KernosError('rate_limited', `agent "${agentKey(principal)}" is over its tool-call rate; try again in ${agentWait} ms`, { details: { retryAfterMs: agentWait } });
          record({ tool: steps[0] ?? '', server: '', outcome: 'skipped', errorCode: 'rate_limited', errorMessage: error.message, latencyMs: 0, decision: 'call', access: '' });
          throw error;
        }

        let lastError: unknown;
        for (const [index, step] of steps.entries()) {
          const decision = index === 0 ? 'call' : 'cascade';
          const skip = (tool: string, server: string, error: KernosError, verdict = ''): void => {
            lastError = error;
            record({ tool, server, outcome: 'skipped', errorCode: normalise(error).code, errorMessage: error.message, latencyMs: 0, decision, access: verdict });
          };
          if (controller.signal.aborted) break;

          let tool: CatalogTool;
          try {
            tool = await gateway.resolve(step);
            gateway.validate(tool, call.arguments);
          } catch (error) {
            skip(step, '', toKernosError(error));
            continue;
          }

          let verdict = '';
          if (principal.enforceAccess) {
            const answer = await access.check(principal, tool.name, tool.annotations).catch((error: unknown) => {
              // Default deny: no answer from services/access is not a yes.
              lastError = new KernosError('unavailable', `services/access did not answer: ${(error as Error).message}`, { cause: error });
              return undefined;
            });
            verdict = answer?.decision ?? 'no-answer';
            if (answer?.decision !== 'allow') {
              skip(tool.name, tool.server, answer ? verdictError(tool.name, answer) : toKernosError(lastError), verdict);
              continue;
            }
          }

          const toolWait = resilience.takeTool(tool.name);
          if (toolWait !== undefined) {
            skip(tool.name, tool.server, new KernosError('rate_limited', `tool "${tool.name}" is over its rate limit; try again in ${toolWait} ms`, { details: { retryAfterMs: toolWait } }), verdict);
            continue;
          }

          const trusted = gateway.server(tool.server)?.trusted ?? false;
          const breakers = resilience.breakers(tool);
          const attemptTimeout = resilience.attemptTimeout(attemptTimeoutMs);
          try {
            const result = await resilience.retries(tool, trusted).execute(async ({ attempt }) => {
              const started = performance.now();
              const attemptDecision = attempt > 0 ? 'retry' : decision;
              try {
                const result = await breakers.execute(() =>
                  attemptTimeout.execute(async ({ signal }) => {
                    try {
                      return await gateway.callResolved(tool, call.arguments, {
                        timeoutMs: attemptTimeoutMs + 1_000,
                        signal,
                        principal,
                        ...(call.onProgress ? { onProgress: (progress: Progress) => call.onProgress?.({ ...progress, tool: tool.name }) } : {}),
                      });
                    } catch (error) {
                      throw relabelAbort(error, controller.signal, tool, attemptTimeoutMs);
                    }
                  }, controller.signal),
                );
                const latencyMs = Math.round(performance.now() - started);
                record({
                  tool: tool.name,
                  server: tool.server,
                  outcome: result.isError ? 'tool_error' : 'ok',
                  errorCode: result.isError ? 'tool_error' : '',
                  errorMessage: result.isError ? result.text.slice(0, 500) : '',
                  latencyMs,
                  decision: attemptDecision,
                  access: verdict,
                });
                return result;
              } catch (thrown) {
                const error = isBreakerOpen(thrown)
                  ? new KernosError('unavailable', `tool "${tool.name}" on MCP server "${tool.server}" is failing; its circuit breaker is open, so it was not called`, {
                      details: { breakerOpen: true, server: tool.server, tool: tool.name },
                    })
                  : toKernosError(thrown);
                record({
                  tool: tool.name,
                  server: tool.server,
                  outcome: isBreakerOpen(thrown) ? 'skipped' : 'failed',
                  errorCode: normalise(error).code,
                  errorMessage: error.message,
                  latencyMs: Math.round(performance.now() - started),
                  decision: attemptDecision,
                  access: verdict,
                });
                throw error;
              }
            }, controller.signal);
            // A tool's own error result is an answer, never retried; a cascade still tries the next tool, because a
            // cheaper tool failing is exactly what the costlier one is configured for.
            if (result.isError && index < steps.length - 1) {
              lastError = new KernosError('tool_error', result.text || `tool "${tool.name}" reported an error`);
              continue;
            }
            return { result, cascadeId, attempts };
          } catch (error) {
            lastError = error;
            if (error instanceof KernosError && error.details?.cancelled === true) break;
          }
        }
        if (controller.signal.aborted) {
          // The attempt's own error names the tool and server; the bare reason only says who cancelled.
          throw lastError instanceof KernosError && lastError.details?.cancelled === true ? lastError : controller.signal.reason;
        }
        throw lastError ?? new KernosError('unavailable', 'no tool could be called');
      } catch (error) {
        const routed = fail(error);
        if (routed.code !== 'tool_error' && routed.code !== 'invalid_argument' && routed.code !== 'not_found') {
          logger.info('tool call failed', { cascadeId, code: routed.code, attempts: attempts.length, error: routed.message });
        }
        throw routed;
      } finally {
        if (deadline) clearTimeout(deadline);
        call.signal?.removeEventListener('abort', onCallerAbort);
      }
    },
  };
}

/** The core reports any abort as "cancelled"; say which: the caller left, or this attempt ran out of time. */
function relabelAbort(error: unknown, callerSignal: AbortSignal, tool: CatalogTool, attemptTimeoutMs: number): unknown {
  if (!(error instanceof KernosError) || error.details?.aborted !== true) return error;
  if (callerSignal.aborted) {
    const reason: unknown = callerSignal.reason;
    const message = reason instanceof Error ? reason.message : 'the caller cancelled the call';
    return new KernosError('timeout', `tool "${tool.name}" on MCP server "${tool.server}" was cancelled: ${message}`, {
      retryable: false,
      details: { ...error.details, cancelled: true },
      cause: error,
    });
  }
  return new KernosError('timeout', `tool "${tool.name}" on MCP server "${tool.server}" did not answer within ${attemptTimeoutMs} ms`, {
    retryable: error.retryable,
    details: error.details,
    cause: error,
  });
}
