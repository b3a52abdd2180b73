import type { Tracer } from '@opentelemetry/api';
import { createKernosService, handle, type KernosService, type Logger, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { handleCall } from './handlers/call.js';
import { handleList } from './handlers/list.js';
import type { ToolRouter } from './router.js';

export interface ToolGatewayServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  /** The policy fabric over the MCP routing core; the caller connects the core before start() and closes it after stop(). */
  router: ToolRouter;
  /** Prepended to the subjects (default ""), so a test's own instance on a shared NATS is the only one answering. */
  subjectPrefix?: string;
}

/** The NATS face of the gateway: kernos.tool-gateway.call and kernos.tool-gateway.list. */
export function createToolGatewayService({ nc, tracer, logger, router, subjectPrefix }: ToolGatewayServiceDeps): KernosService {
  return createKernosService({
    nc,
    tracer,
    ...(subjectPrefix ? { subjectPrefix } : {}),
    name: 'tool-gateway',
    version: '0.2.0',
    description: 'Routes tool calls to MCP servers',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, retryable: error.retryable, error: error.message }),
    endpoints: [
      handle(contracts.toolGateway.call, (request, ctx) => handleCall({ router, nc, logger }, request, ctx)),
      handle(contracts.toolGateway.list, (request) => handleList(router, request)),
    ],
  });
}
