import type { HandlerContext, Logger, NatsConnection } from '@kernos/service-kit';
import { create, toBinary, toolGateway, type MessageInitShape } from '@kernos/wire';
import type { Principal } from '../access.js';
import { parseArgumentsJson } from '../arguments.js';
import { toWireError, wireToolErrorCode } from '../normalise.js';
import type { AttemptSummary, ToolRouter } from '../router.js';

type CallReplyInit = MessageInitShape<typeof toolGateway.CallReplySchema>;

export interface CallHandlerDeps {
  router: ToolRouter;
  nc: NatsConnection;
  logger: Logger;
}

/** The principal a NATS request names. Access is enforced when the request carries the job's grants. */
export function principalOf(request: Pick<toolGateway.CallRequest, 'ref' | 'governance' | 'grantedTools'>): Principal {
  const ref = { tenant: request.ref?.tenant ?? '', jobId: request.ref?.jobId ?? '', runId: request.ref?.runId ?? '', agentId: request.ref?.agentId ?? '' };
  return { ref, governance: request.governance, grantedTools: request.grantedTools, enforceAccess: request.governance !== undefined && request.grantedTools.length > 0 };
}

/**
 * kernos.tool-gateway.call: one tool call (or capability). A tool that ran and failed replies normally with
 * is_error=true, so the model sees the tool's own words; every other failure is an error reply whose code is one
 * of the six gateway codes.
 */
export async function handleCall({ router, nc, logger }: CallHandlerDeps, request: toolGateway.CallRequest, { span }: Pick<HandlerContext, 'span'>): Promise<CallReplyInit> {
  span.setAttribute('gen_ai.tool.name', request.tool || request.capability);
  if (request.ref?.jobId) span.setAttribute('kernos.job.id', request.ref.jobId);
  if (request.ref?.runId) span.setAttribute('kernos.run.id', request.ref.runId);
  // Any message on the cancel subject stops the call; the MCP server is told with notifications/cancelled. Without
  // one there is nothing to abort, so the router is given no signal (no controller, no listener per call).
  const cancel = request.cancelSubject ? new AbortController() : undefined;
  const cancelSubscription = cancel ? nc.subscribe(request.cancelSubject, { max: 1, callback: () => cancel.abort() }) : undefined;
  try {
    const args = parseArgumentsJson(request.argumentsJson);
    const routed = await router.call({
      ...(request.capability ? { capability: request.capability } : { tool: request.tool }),
      arguments: args,
      principal: principalOf(request),
      ...(request.timeoutMs > 0 ? { deadlineMs: request.timeoutMs } : {}),
      ...(cancel ? { signal: cancel.signal } : {}),
      via: 'nats',
      ...(request.progressSubject
        ? {
            onProgress: (progress) => {
              try {
                nc.publish(request.progressSubject, toBinary(toolGateway.CallProgressSchema, create(toolGateway.CallProgressSchema, { tool: progress.tool, progress: progress.progress, total: progress.total ?? 0, message: progress.message ?? '' })));
              } catch (error) {
                logger.warn('progress could not be published', { subject: request.progressSubject, error: (error as Error).message });
              }
            },
          }
        : {}),
    });
    const { result, cascadeId, attempts } = routed;
    span.setAttributes({ 'kernos.tool.server': result.tool.server, 'kernos.tool.is_error': result.isError, 'kernos.tool.cascade_id': cascadeId });
    return {
      server: result.tool.server,
      tool: result.tool.name,
      contentJson: JSON.stringify(result.content),
      isError: result.isError,
      latencyMs: BigInt(result.latencyMs),
      text: result.text,
      errorCode: wireToolErrorCode(result.isError ? 'tool_error' : undefined),
      structuredContentJson: result.structuredContent ? JSON.stringify(result.structuredContent) : '',
      cascadeId,
      attempts: attempts.map(attemptInit),
    };
  } catch (error) {
    throw toWireError(error);
  } finally {
    cancelSubscription?.unsubscribe();
  }
}

function attemptInit(attempt: AttemptSummary): MessageInitShape<typeof toolGateway.AttemptSchema> {
  return {
    tool: attempt.tool,
    server: attempt.server,
    outcome: attempt.outcome,
    errorCode: wireToolErrorCode(attempt.errorCode),
    latencyMs: BigInt(attempt.latencyMs),
    decision: attempt.decision,
    errorMessage: attempt.errorMessage,
  };
}
