import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IPolicy,
  type RetryPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import { KernosError } from '@kernos/errors';
import type { CatalogTool } from '../catalog.js';
import type { ToolPolicy } from '../config.js';
import { safeToRetry } from '../mcp/errors.js';
import { createKeyedTokenBuckets, type KeyedTokenBuckets, type RateLimit } from './token-bucket.js';

/**
 * Whether a failed attempt may be sent again. Only two cases qualify: the call provably did not run (the server
 * could not even be connected), or the tool declares itself read-only or idempotent *and* its server is trusted to
 * tell the truth about that. A tool's own error result never gets here (it is a result, not a failure); neither
 * does a protocol error the server answered with, nor a call the caller cancelled.
 */
export function shouldRetry(error: unknown, tool: Pick<CatalogTool, 'annotations'>, trustedServer: boolean): boolean {
  if (!(error instanceof KernosError)) return false;
  if (error.details?.cancelled === true) return false;
  // An open breaker did not send the call, but asking again within milliseconds meets the same open breaker;
  // the cascade's next tool (or the caller, later) is the right answer.
  if (error.details?.breakerOpen === true) return false;
  if (error.details?.notSent === true) return true;
  if (error.code !== 'timeout' && error.code !== 'unavailable') return false;
  return trustedServer && safeToRetry(tool.annotations);
}

/**
 * What a breaker counts against a server or tool: the server was unreachable, too slow, or answered with a
 * protocol error. Bad arguments, denials and rate limits are the caller's, not the server's; a caller's cancel
 * says nothing about the server.
 */
export function countsAgainstBreaker(error: unknown): boolean {
  // The tool's breaker refusing is not a failure of the server.
  if (error instanceof BrokenCircuitError) return false;
  if (!(error instanceof KernosError)) return true;
  if (error.details?.cancelled === true) return false;
  return error.code === 'unavailable' || error.code === 'timeout' || error.code === 'tool_error';
}

export interface Resilience {
  /** The breaker of a server and of one tool, composed: an attempt passes only if both are closed (or half-open). */
  breakers(tool: CatalogTool): IPolicy;
  /** Retries for one tool (policy.retry.maxAttempts in all), retrying only what {@link shouldRetry} allows. */
  retries(tool: CatalogTool, trustedServer: boolean): RetryPolicy;
  /** Bound on one attempt; it aborts the signal it hands the call, which cancels the call on the MCP server. */
  attemptTimeout(ms: number): TimeoutPolicy;
  /** Takes a token for the tool (rate limit per tool); undefined when allowed, else the wait. */
  takeTool(tool: string): number | undefined;
  /** Takes a token for the agent (rate limit per agent); undefined when allowed, else the wait. */
  takeAgent(agent: string): number | undefined;
  /** Breaker states, for stats and tests: `server:<name>` and `tool:<server.tool>`. */
  breakerStates(): Record<string, 'closed' | 'open' | 'half-open' | 'isolated'>;
}

const stateName = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'isolated' } as const;

export function createResilience(policy: ToolPolicy): Resilience {
  const breakerPolicies = new Map<string, CircuitBreakerPolicy>();
  const breakerFor = (key: string): CircuitBreakerPolicy => {
    let breaker = breakerPolicies.get(key);
    if (!breaker) {
      breaker = circuitBreaker(handleWhen(countsAgainstBreaker), {
        halfOpenAfter: policy.breaker.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(policy.breaker.consecutiveFailures),
      });
      breakerPolicies.set(key, breaker);
    }
    return breaker;
  };

  const perTool = new Map<string, KeyedTokenBuckets>();
  const toolLimit = (tool: string): RateLimit | undefined => policy.rateLimits.perTool[tool] ?? policy.rateLimits.perTool.default;
  const perAgent = policy.rateLimits.perAgent ? createKeyedTokenBuckets(policy.rateLimits.perAgent) : undefined;

  // Composed policies are built once per catalog entry and reused (cockatiel's retry and timeout policies keep no
  // per-call state): building them on every call was a measurable part of the gateway's added latency. Keyed by
  // the catalog object, so a refreshed catalog (new annotations) gets fresh ones and the old are collected.
  const composedBreakers = new WeakMap<CatalogTool, IPolicy>();
  const retryPolicies = new WeakMap<CatalogTool, Map<boolean, RetryPolicy>>();
  const timeoutPolicies = new Map<number, TimeoutPolicy>();

  return {
    breakers(tool) {
      let composed = composedBreakers.get(tool);
      if (!composed) {
        composed = wrap(breakerFor(`server:${tool.server}`), breakerFor(`tool:${tool.server}.${tool.toolName}`));
        composedBreakers.set(tool, composed);
      }
      return composed;
    },
    retries(tool, trustedServer) {
      let byTrust = retryPolicies.get(tool);
      if (!byTrust) {
        byTrust = new Map();
        retryPolicies.set(tool, byTrust);
      }
      let policyForTool = byTrust.get(trustedServer);
      if (!policyForTool) {
        const backoff = new ExponentialBackoff({ initialDelay: policy.retry.initialDelayMs, maxDelay: policy.retry.maxDelayMs });
        // cockatiel counts retries, not attempts.
        policyForTool = retry(handleWhen((error) => shouldRetry(error, tool, trustedServer)), { maxAttempts: policy.retry.maxAttempts - 1, backoff });
        byTrust.set(trustedServer, policyForTool);
      }
      return policyForTool;
    },
    attemptTimeout(ms) {
      let bound = timeoutPolicies.get(ms);
      if (!bound) {
        // Cooperative: the call is told through its signal (and tells the server); the MCP SDK rejects at once.
        // abortOnReturn off: cockatiel would otherwise abort the signal after every successful call, and the MCP
        // SDK (which never removes its abort listener) then sent notifications/cancelled for a request that had
        // already answered: a wasted message to the server and an error object on every call.
        bound = timeout(ms, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
        timeoutPolicies.set(ms, bound);
      }
      return bound;
    },
    takeTool(tool) {
      const limit = toolLimit(tool);
      if (!limit) return undefined;
      let buckets = perTool.get(tool);
      if (!buckets) {
        buckets = createKeyedTokenBuckets(limit);
        perTool.set(tool, buckets);
      }
      const taken = buckets.take(tool);
      return taken.ok ? undefined : taken.retryAfterMs;
    },
    takeAgent(agent) {
      if (!perAgent) return undefined;
      const taken = perAgent.take(agent);
      return taken.ok ? undefined : taken.retryAfterMs;
    },
    breakerStates() {
      return Object.fromEntries([...breakerPolicies].map(([key, breaker]) => [key, stateName[breaker.state]]));
    },
  };
}

export function isBreakerOpen(error: unknown): error is BrokenCircuitError {
  return error instanceof BrokenCircuitError;
}
