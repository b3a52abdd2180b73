import type { Tracer } from '@opentelemetry/api';
import type { KernelClient, Logger } from '@kernos/service-kit';
import type { AccessPolicy } from './access.js';
import type { AuditSink } from './audit.js';
import type { Capabilities, ToolPolicy, ToolServerSpec } from './config.js';
import { toolPolicySchema } from './config.js';
import { createToolGateway, type ToolGateway } from './gateway.js';
import { withKernelTools } from './kernel-tools.js';
import { createResilience, type Resilience } from './resilience/policies.js';
import { createToolRouter, type ToolRouter } from './router.js';

export interface ToolFabricOptions {
  servers: readonly ToolServerSpec[];
  tracer: Tracer;
  logger: Logger;
  access: AccessPolicy;
  audit: AuditSink;
  /** Bound on one attempt, one connect and one tools/list (default 30000 ms). */
  timeoutMs?: number;
  /** Breakers, retries, rate limits (default: toolPolicySchema's defaults). */
  policy?: ToolPolicy;
  /** Capability → tools, cheapest first (default none). */
  capabilities?: Capabilities;
  /** Bound on connecting a server and listing its tools (default: timeoutMs). */
  connectTimeoutMs?: number;
  /** See ToolGatewayOptions.reconnectIntervalMs (default 5000 ms). */
  reconnectIntervalMs?: number;
  /** Offer the kernel's own tools (src/kernel-tools.ts: `recall`) through this client (default: none offered). */
  kernelTools?: KernelClient;
}

export interface ToolFabric {
  gateway: ToolGateway;
  resilience: Resilience;
  router: ToolRouter;
}

/** Wires the routing core, the resilience policies and the router; main.ts, tests and the benchmark share it. */
export function createToolFabric(options: ToolFabricOptions): ToolFabric {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const mcp = createToolGateway({
    servers: options.servers,
    tracer: options.tracer,
    logger: options.logger,
    timeoutMs,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    ...(options.reconnectIntervalMs === undefined ? {} : { reconnectIntervalMs: options.reconnectIntervalMs }),
  });
  const gateway = options.kernelTools ? withKernelTools(mcp, { kernel: options.kernelTools }) : mcp;
  const resilience = createResilience(options.policy ?? toolPolicySchema.parse({}));
  const router = createToolRouter({
    gateway,
    resilience,
    access: options.access,
    audit: options.audit,
    logger: options.logger,
    capabilities: options.capabilities ?? {},
    attemptTimeoutMs: timeoutMs,
  });
  return { gateway, resilience, router };
}
