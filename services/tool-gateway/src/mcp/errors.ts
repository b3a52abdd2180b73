import { ErrorCode, McpError, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { KernosError } from '@kernos/errors';

export interface CallFailureContext {
  server: string;
  /** The tool's catalog name. */
  tool: string;
  timeoutMs: number;
  /** Whether running the call twice is harmless (see safeToRetry). */
  safeToRetry: boolean;
}

/**
 * Whether a call that may already have run on the server can be retried. Only tools that declare themselves
 * read-only or idempotent qualify: for any other tool a lost reply does not mean the side effect did not happen.
 * Annotations are hints from the server, good enough to choose a retry policy, never to grant access.
 */
export function safeToRetry(annotations: ToolAnnotations | undefined): boolean {
  return annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
}

/**
 * Turns a failed tools/call into a KernosError, deciding retryability once, here (STYLE.md §5). A tool's own
 * error result (isError) is not a failure and never reaches this function.
 */
export function callFailure(error: unknown, ctx: CallFailureContext): KernosError {
  if (error instanceof KernosError) return error;
  const where = `tool "${ctx.tool}" on MCP server "${ctx.server}"`;
  const details = { server: ctx.server, tool: ctx.tool };
  if (error instanceof McpError) {
    switch (error.code) {
      case ErrorCode.RequestTimeout:
        return new KernosError('timeout', `${where} did not answer within ${ctx.timeoutMs} ms`, { retryable: ctx.safeToRetry, details, cause: error });
      case ErrorCode.ConnectionClosed:
        return new KernosError('unavailable', `${where}: the connection closed during the call${ctx.safeToRetry ? '' : '; it may have run, so it is not retried'}`, {
          retryable: ctx.safeToRetry,
          details,
          cause: error,
        });
      case ErrorCode.InvalidParams:
        // The SDK checks structured output against the tool's outputSchema after the call and reports a mismatch
        // with this code too; that is the tool's fault, not the caller's.
        if (/output schema|structured content/i.test(error.message)) {
          return new KernosError('tool_error', `${where} returned output that breaks its own schema: ${error.message}`, { details, cause: error });
        }
        return new KernosError('invalid_argument', `${where} rejected the arguments: ${error.message}`, { details, cause: error });
      default:
        return new KernosError('tool_error', `${where} failed: ${error.message}`, { details, cause: error });
    }
  }
  // Anything else came from the transport (a dead pipe, a refused or reset HTTP connection): the server could not
  // be talked to, but the request may have reached it, unless the connection was refused outright.
  const message = error instanceof Error ? error.message : String(error);
  if (connectionRefused(error)) {
    return new KernosError('unavailable', `${where} cannot be reached (connection refused; the call was not sent)`, {
      retryable: true,
      details: { ...details, notSent: true },
      cause: error,
    });
  }
  return new KernosError('unavailable', `${where} cannot be reached: ${message}`, { retryable: ctx.safeToRetry, details, cause: error });
}

/** A refused TCP connection means no byte of the request reached the server, so the call provably did not run. */
export function connectionRefused(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    if ((current as { code?: unknown }).code === 'ECONNREFUSED') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Whether the failure means the connection is broken and must be rebuilt before the next call. */
export function breaksConnection(error: unknown): boolean {
  if (error instanceof KernosError) return false;
  if (error instanceof McpError) return error.code === ErrorCode.ConnectionClosed;
  return true;
}

/** A server that could not even be connected: nothing ran, so this is always safe to retry. */
export function connectFailure(server: string, error: unknown): KernosError {
  if (error instanceof KernosError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // notSent marks the one failure that provably did not run the tool, so the router may always retry it.
  return new KernosError('unavailable', `MCP server "${server}" cannot be reached: ${message}`, { retryable: true, details: { server, notSent: true }, cause: error });
}
