import { jetstream } from '@nats-io/jetstream';
import { metrics } from '@opentelemetry/api';
import { Client, Connection } from '@temporalio/client';
import { createOperator } from '@kernos/cli';
import { connectNats, createKernelClient, createLogger, shutdownInOrder } from '@kernos/service-kit';
import { setupTelemetry, startOtlpReceiver } from '@kernos/telemetry';
import { loadCockpitConfig } from './config.js';
import { registerSchedulerGauges } from './metrics.js';
import { createCockpitService } from './service.js';

const logger = createLogger('cockpit', (line) => process.stderr.write(`${line}\n`));
const config = loadCockpitConfig(process.env);
const telemetry = setupTelemetry({
  serviceName: 'cockpit',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
  otlpMetricsEndpoint: config.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
});
const receiver = config.KERNOS_COCKPIT_OTLP_PORT === undefined ? undefined : await startOtlpReceiver({ port: config.KERNOS_COCKPIT_OTLP_PORT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-cockpit', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const connection = await Connection.connect({ address: config.KERNOS_TEMPORAL_ADDRESS });
const client = new Client({ connection, namespace: config.KERNOS_TEMPORAL_NAMESPACE });
const kernel = createKernelClient(nc, telemetry.tracer);
registerSchedulerGauges(metrics.getMeter('kernos.cockpit'), kernel);
const service = createCockpitService({
  operator: createOperator(client, {
    taskQueue: config.KERNOS_TASK_QUEUE,
    kernel,
    ...(config.KERNOS_COCKPIT_ONLY_TASK_QUEUE ? { onlyTaskQueue: config.KERNOS_COCKPIT_ONLY_TASK_QUEUE } : {}),
  }),
  kernel,
  js: jetstream(nc),
  auditStream: config.KERNOS_AUDIT_STREAM,
  ...(receiver ? { receiver } : {}),
  ...(config.KERNOS_TRACE_URL ? { traceUrl: config.KERNOS_TRACE_URL } : {}),
  ...(config.KERNOS_COCKPIT_PRICES ? { prices: config.KERNOS_COCKPIT_PRICES } : {}),
  users: config.KERNOS_COCKPIT_USERS,
  logger,
  port: config.KERNOS_COCKPIT_PORT,
  host: config.KERNOS_COCKPIT_HOST,
  refreshMs: config.KERNOS_COCKPIT_REFRESH_MS,
});
const { url } = await service.start();
logger.info('cockpit ready', { url, users: config.KERNOS_COCKPIT_USERS.length, traces: receiver?.tracesUrl ?? 'off' });

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  const failed = await shutdownInOrder(
    [
      { name: 'http', run: () => service.stop() },
      { name: 'nats', run: () => nc.drain() },
      { name: 'temporal', run: () => connection.close() },
      { name: 'receiver', run: async () => receiver?.close() },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ],
    config.KERNOS_SHUTDOWN_GRACE_MS,
  );
  process.exit(failed.length === 0 ? 0 : 1);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
