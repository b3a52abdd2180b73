import type { Tracer } from '@opentelemetry/api';
import { createKernosService, handle, type KernosService, type Logger, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import type { ToolGateway } from './gateway.js';
import { handleCall } from './handlers/call.js';
import { handleList } from './handlers/list.js';

export interface ToolGatewayServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  /** The MCP routing core; the caller connects it before start() and closes it after stop(). */
  gateway: ToolGateway;
}

/** The NATS face of the gateway: kernos.tool-gateway.call and kernos.tool-gateway.list. */
export function createToolGatewayService({ nc, tracer, logger, gateway }: ToolGatewayServiceDeps): KernosService {
  return createKernosService({
    nc,
    tracer,
    name: 'tool-gateway',
    version: '0.1.0',
    description: 'Routes tool calls to MCP servers',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, retryable: error.retryable, error: error.message }),
    endpoints: [
      handle(contracts.toolGateway.call, (request, ctx) => handleCall(gateway, request, ctx)),
      handle(contracts.toolGateway.list, () => handleList(gateway)),
    ],
  });
}
