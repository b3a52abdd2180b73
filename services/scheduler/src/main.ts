import { connectNats, createLogger, shutdownInOrder } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { loadSchedulerConfig } from './config.js';
import { createSchedulerService } from './service.js';

const logger = createLogger('scheduler', (line) => process.stderr.write(`${line}\n`));
const config = loadSchedulerConfig(process.env);
const telemetry = setupTelemetry({ serviceName: 'scheduler', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-scheduler', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const service = createSchedulerService({
  nc,
  tracer: telemetry.tracer,
  logger,
  endpoints: config.KERNOS_ENDPOINTS,
  leaseTtlMs: config.KERNOS_LEASE_TTL_MS,
});
await service.start();
logger.info('scheduler service ready', {
  nats: config.KERNOS_NATS_URL,
  leaseTtlMs: config.KERNOS_LEASE_TTL_MS,
  endpoints: config.KERNOS_ENDPOINTS.map(({ name, model, baseUrl, maxConcurrent, policy }) => ({ name, model, baseUrl, maxConcurrent, policy })),
});

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const failed = await shutdownInOrder(
    [
      { name: 'service', run: () => service.stop() },
      { name: 'nats', run: () => nc.drain() },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ],
    config.KERNOS_SHUTDOWN_GRACE_MS,
  );
  process.exit(failed.length === 0 ? 0 : 1);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
