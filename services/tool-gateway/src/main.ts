import { connectNats, createLogger, shutdownInOrder } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { loadToolGatewayConfig } from './config.js';
import { createToolGateway } from './gateway.js';
import { createToolGatewayService } from './service.js';

const logger = createLogger('tool-gateway', (line) => process.stderr.write(`${line}\n`));
// The default stdio server runs on this very Node, not whatever "node" PATH finds.
const config = loadToolGatewayConfig(process.env, { nodeExecutable: process.execPath });
const telemetry = setupTelemetry({ serviceName: 'tool-gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-tool-gateway', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const gateway = createToolGateway({ servers: config.KERNOS_TOOL_SERVERS, timeoutMs: config.KERNOS_TOOL_TIMEOUT_MS, tracer: telemetry.tracer, logger });
// The catalog is filled before the subjects open, so the first request does not race the servers' start-up.
await gateway.connect();
const service = createToolGatewayService({ nc, tracer: telemetry.tracer, logger, gateway });
await service.start();
logger.info('tool-gateway service ready', { nats: config.KERNOS_NATS_URL, servers: config.KERNOS_TOOL_SERVERS.map((s) => s.name) });

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const failed = await shutdownInOrder(
    [
      { name: 'service', run: () => service.stop() },
      { name: 'nats', run: () => nc.drain() },
      // After the in-flight calls have replied, so no call loses its server mid-way.
      { name: 'mcp', run: () => gateway.close() },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ],
    config.KERNOS_SHUTDOWN_GRACE_MS,
  );
  if (failed.length > 0) logger.error('shutdown steps failed', { failed });
  process.exit(failed.length === 0 ? 0 : 1);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
