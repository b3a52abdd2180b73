import { NativeConnection } from '@temporalio/worker';
import { z } from 'zod';
import { connectNats, createKernelClient, createLogger, natsConfigShape, natsReadiness, parseConfig, installShutdown, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { createKernosWorker } from './worker.js';

const config = parseConfig(
  z.object({
    ...natsConfigShape,
    KERNOS_TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    KERNOS_TEMPORAL_NAMESPACE: z.string().default('default'),
    KERNOS_TASK_QUEUE: z.string().default('kernos-agents'),
    KERNOS_OPENAI_API_KEY: z.string().default('kernos-dev'),
    // Worker sizing (defaults: the SDK's 40 workflow tasks and cache by heap size; 100 activities).
    KERNOS_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
    KERNOS_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
    KERNOS_WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
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
  maxConcurrentWorkflowTasks: config.KERNOS_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
  maxCachedWorkflows: config.KERNOS_WORKER_MAX_CACHED_WORKFLOWS,
  maxConcurrentActivities: config.KERNOS_WORKER_MAX_CONCURRENT_ACTIVITIES,
  telemetry,
});

const health = await startHealthServer({
  port: config.KERNOS_HEALTH_PORT,
  host: config.KERNOS_HEALTH_HOST,
  checks: { nats: natsReadiness(nc), temporal: () => worker.getState() === 'RUNNING' || `Temporal worker is ${worker.getState()}` },
});

logger.info('worker ready', { temporal: config.KERNOS_TEMPORAL_ADDRESS, taskQueue: config.KERNOS_TASK_QUEUE });
// Ready once run() has started polling; the temporal check follows the worker's state from then on.
health.setReady(true);
const running = worker.run();
// Installed in the same tick as run(): no signal can arrive in between.
const shutdown = installShutdown({
  process,
  logger,
  health,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  // worker.shutdown() stops polling and lets running activities finish (bounded by the worker's own
  // shutdownGraceTime); run() resolves when it is done, and only then NATS and the connection close.
  drain: async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  },
  steps: [
    { name: 'nats', run: () => nc.drain() },
    { name: 'temporal', run: () => connection.close() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});
// A fatal worker error rejects here and ends the process, as before; a worker that stopped on its own is shut
// down like on a signal (after a signal, this joins the shutdown already under way).
await running;
await shutdown.stop('worker stopped');
