import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createAuditPublisher, ensureAuditStream } from '@kernos/audit';
import { connectNats, createKernelClient, createLogger, natsReadiness, installShutdown, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { allowEverything, createNatsAccessPolicy } from './access.js';
import { createJetStreamAuditSink, noAudit } from './audit.js';
import { loadToolGatewayConfig } from './config.js';
import { createToolFabric } from './fabric.js';
import { startMcpEndpoint } from './mcp-endpoint.js';
import { createToolGatewayService } from './service.js';

const logger = createLogger('tool-gateway', (line) => process.stderr.write(`${line}\n`));
// The default stdio server runs on this very Node, not whatever "node" PATH finds.
const config = loadToolGatewayConfig(process.env, { nodeExecutable: process.execPath });
const telemetry = setupTelemetry({ serviceName: 'tool-gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-tool-gateway', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const health = await startHealthServer({ port: config.KERNOS_HEALTH_PORT, host: config.KERNOS_HEALTH_HOST, checks: { nats: natsReadiness(nc) } });
let audit = noAudit;
if (config.KERNOS_TOOL_AUDIT === 'jetstream') {
  // Idempotent: every service that writes audit ensures the stream at start.
  await ensureAuditStream(await jetstreamManager(nc));
  audit = createJetStreamAuditSink({ publisher: createAuditPublisher(jetstream(nc)), logger });
}
const access = config.KERNOS_TOOL_ACCESS === 'on' ? createNatsAccessPolicy(createKernelClient(nc, telemetry.tracer)) : allowEverything;
const { gateway, router } = createToolFabric({
  servers: config.KERNOS_TOOL_SERVERS,
  timeoutMs: config.KERNOS_TOOL_TIMEOUT_MS,
  ...(config.KERNOS_TOOL_CONNECT_TIMEOUT_MS === undefined ? {} : { connectTimeoutMs: config.KERNOS_TOOL_CONNECT_TIMEOUT_MS }),
  policy: config.KERNOS_TOOL_POLICY,
  capabilities: config.KERNOS_TOOL_CAPABILITIES,
  tracer: telemetry.tracer,
  logger,
  access,
  audit,
  ...(config.KERNOS_TOOL_KERNEL_TOOLS === 'on' ? { kernelTools: createKernelClient(nc, telemetry.tracer) } : {}),
});
// The catalog is filled before the subjects open, so the first request does not race the servers' start-up.
await gateway.connect();
const service = createToolGatewayService({ nc, tracer: telemetry.tracer, logger, router });
await service.start();
const mcpEndpoint = config.KERNOS_TOOL_MCP_ENDPOINT ? await startMcpEndpoint({ ...config.KERNOS_TOOL_MCP_ENDPOINT, router, logger }) : undefined;
if (mcpEndpoint) logger.info('kernel MCP endpoint listening', { url: mcpEndpoint.url });
health.setReady(true);
logger.info('tool-gateway service ready', { nats: config.KERNOS_NATS_URL, servers: config.KERNOS_TOOL_SERVERS.map((s) => s.name) });

installShutdown({
  process,
  logger,
  health,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  steps: [
    { name: 'mcp-endpoint', run: () => mcpEndpoint?.close() ?? Promise.resolve() },
    { name: 'service', run: () => service.stop() },
    { name: 'audit', run: () => audit.flush() },
    { name: 'nats', run: () => nc.drain() },
    // After the in-flight calls have replied, so no call loses its server mid-way.
    { name: 'mcp', run: () => gateway.close() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});
