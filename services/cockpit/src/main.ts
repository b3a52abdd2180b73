import { jetstream } from '@nats-io/jetstream';
import { metrics } from '@opentelemetry/api';
import { Client, Connection } from '@temporalio/client';
import { createOperator } from '@kernos/cli';
import { connectNats, createKernelClient, createLogger, installShutdown, natsReadiness, startHealthServer } from '@kernos/service-kit';
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
// /healthz and /readyz on KERNOS_HEALTH_PORT, like every kernel process (the Helm chart probes them).
const health = await startHealthServer({ port: config.KERNOS_HEALTH_PORT, host: config.KERNOS_HEALTH_HOST, checks: { nats: natsReadiness(nc) } });
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
health.setReady(true);
logger.info('cockpit ready', { url, users: config.KERNOS_COCKPIT_USERS.length, traces: receiver?.tracesUrl ?? 'off' });

installShutdown({
  process,
  logger,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  health,
  steps: [
    { name: 'http', run: () => service.stop() },
    { name: 'nats', run: () => nc.drain() },
    { name: 'temporal', run: () => connection.close() },
    { name: 'receiver', run: async () => receiver?.close() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});
