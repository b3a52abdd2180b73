import { readFileSync } from 'node:fs';
import { connectNats, createKernelClient, createLogger, natsReadiness, installShutdown, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { loadModelGatewayConfig } from './config.js';
import { createModelGatewayService } from './service.js';

const logger = createLogger('model-gateway', (line) => process.stderr.write(`${line}\n`));
// Keys are secrets: a mounted file (a Kubernetes Secret) is preferred to an environment variable.
const keysFile = process.env.KERNOS_MODEL_GATEWAY_KEYS_FILE;
const config = loadModelGatewayConfig(keysFile ? { ...process.env, KERNOS_MODEL_GATEWAY_KEYS: readFileSync(keysFile, 'utf8') } : process.env);
const telemetry = setupTelemetry({ serviceName: 'model-gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-model-gateway', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const health = await startHealthServer({ port: config.KERNOS_HEALTH_PORT, host: config.KERNOS_HEALTH_HOST, checks: { nats: natsReadiness(nc) } });
const service = createModelGatewayService({
  kernel: createKernelClient(nc, telemetry.tracer),
  logger,
  keys: config.keys,
  host: config.KERNOS_MODEL_GATEWAY_HOST,
  port: config.KERNOS_MODEL_GATEWAY_PORT,
  upstreamApiKey: config.KERNOS_OPENAI_API_KEY,
  leaseWaitMs: config.KERNOS_MODEL_GATEWAY_LEASE_WAIT_MS,
});
const { baseUrl } = await service.start();
if (config.keys.length === 0) logger.warn('no API keys configured: every request will be refused (set KERNOS_MODEL_GATEWAY_KEYS or _FILE)');
health.setReady(true);
logger.info('model gateway ready', { baseUrl, jobs: config.keys.map((k) => k.jobId) });

installShutdown({
  process,
  logger,
  health,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  steps: [
    { name: 'http', run: () => service.stop() },
    { name: 'nats', run: () => nc.drain() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});
