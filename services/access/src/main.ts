import { connectNats, createLogger, shutdownInOrder } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { loadAccessConfig } from './config.js';
import { createAccessService } from './service.js';

const logger = createLogger('access', (line) => process.stderr.write(`${line}\n`));
const config = loadAccessConfig(process.env);
const telemetry = setupTelemetry({ serviceName: 'access', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-access', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const service = createAccessService({ nc, tracer: telemetry.tracer, logger });
await service.start();
logger.info('access service ready', { nats: config.KERNOS_NATS_URL });

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
