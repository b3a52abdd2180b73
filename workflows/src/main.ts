import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import { connectNats, createKernelClient, createLogger, natsConfigShape, natsReadiness, parseConfig, shutdownInOrder, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { createKernosWorker } from './worker.js';

const config = parseConfig(
  z.object({
    ...natsConfigShape,
    KERNOS_TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    KERNOS_TEMPORAL_NAMESPACE: z.string().default('default'),
    KERNOS_TASK_QUEUE: z.string().default('kernos-agents'),
    KERNOS_OPENAI_API_KEY: z.string().default('kernos-dev'),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: z.string().url().optional(),
  }),
  process.env,
  'worker',
);

const logger = createLogger('worker', (line) => process.stderr.write(`${line}\n`));
const telemetry = setupTelemetry({
  serviceName: 'worker',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
  otlpMetricsEndpoint: config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
});
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-worker', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const connection = await NativeConnection.connect({ address: config.KERNOS_TEMPORAL_ADDRESS });
const worker = await createKernosWorker({
  connection,
  kernel: createKernelClient(nc, telemetry.tracer),
  nc,
  namespace: config.KERNOS_TEMPORAL_NAMESPACE,
  taskQueue: config.KERNOS_TASK_QUEUE,
  openaiApiKey: config.KERNOS_OPENAI_API_KEY,
  telemetry,
});

const health = await startHealthServer({
  port: config.KERNOS_HEALTH_PORT,
  host: config.KERNOS_HEALTH_HOST,
  checks: { nats: natsReadiness(nc), temporal: () => worker.getState() === 'RUNNING' || `Temporal worker is ${worker.getState()}` },
});

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  health.setReady(false);
  logger.info('shutting down', { signal });
  // worker.shutdown() stops polling and lets running activities finish; run() resolves when it is done.
  worker.shutdown();
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

logger.info('worker ready', { temporal: config.KERNOS_TEMPORAL_ADDRESS, taskQueue: config.KERNOS_TASK_QUEUE });
// Ready once run() has started polling; the temporal check follows the worker's state from then on.
health.setReady(true);
await worker.run();
const failed = await shutdownInOrder(
  [
    { name: 'nats', run: () => nc.drain() },
    { name: 'temporal', run: () => connection.close() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
  config.KERNOS_SHUTDOWN_GRACE_MS,
);
process.exit(failed.length === 0 ? 0 : 1);
