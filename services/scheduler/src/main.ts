import { connectNats, createLogger, natsReadiness, installShutdown, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { hostname } from 'node:os';
import { Kvm } from '@nats-io/kv';
import { Client, Connection } from '@temporalio/client';
import { loadSchedulerConfig } from './config.js';
import { JobRegistry, kvJobStore, temporalScheduleSync } from './jobs/registry.js';
import { temporalNotifier } from './notify.js';
import { createSchedulerService } from './service.js';

const logger = createLogger('scheduler', (line) => process.stderr.write(`${line}\n`));
const config = loadSchedulerConfig(process.env);
const telemetry = setupTelemetry({ serviceName: 'scheduler', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-scheduler', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const health = await startHealthServer({ port: config.KERNOS_HEALTH_PORT, host: config.KERNOS_HEALTH_HOST, checks: { nats: natsReadiness(nc) } });
// Lazy: Temporal may come up after the scheduler, and a failed connect must not stop admission (workflows also poll).
const temporal = config.KERNOS_TEMPORAL_ADDRESS ? Connection.lazy({ address: config.KERNOS_TEMPORAL_ADDRESS }) : undefined;
const stateKv = config.KERNOS_SCHEDULER_STATE_BUCKET ? await new Kvm(nc).create(config.KERNOS_SCHEDULER_STATE_BUCKET, { history: 1 }) : undefined;
const temporalClient = temporal && new Client({ connection: temporal, namespace: config.KERNOS_TEMPORAL_NAMESPACE });
const jobs = new JobRegistry(
  kvJobStore(await new Kvm(nc).create(config.KERNOS_JOBS_BUCKET, { history: 1 })),
  temporalClient && temporalScheduleSync(temporalClient, config.KERNOS_JOBS_TASK_QUEUE),
);
const service = createSchedulerService({
  nc,
  tracer: telemetry.tracer,
  logger,
  endpoints: config.KERNOS_ENDPOINTS,
  leaseTtlMs: config.KERNOS_LEASE_TTL_MS,
  replication: stateKv && {
    state: stateKv,
    election: stateKv,
    replicaId: config.KERNOS_SCHEDULER_REPLICA_ID ?? `${hostname()}-${process.pid}`,
    termMs: config.KERNOS_SCHEDULER_TERM_MS,
  },
  notify: temporalClient && temporalNotifier(temporalClient),
  jobs,
});
await service.start();
health.setReady(true);
logger.info('scheduler service ready', {
  nats: config.KERNOS_NATS_URL,
  leaseTtlMs: config.KERNOS_LEASE_TTL_MS,
  temporal: config.KERNOS_TEMPORAL_ADDRESS ?? 'unset (workflows poll for grants)',
  replication: config.KERNOS_SCHEDULER_STATE_BUCKET ? { bucket: config.KERNOS_SCHEDULER_STATE_BUCKET, serving: service.serving() } : 'off (one in-memory replica)',
  endpoints: config.KERNOS_ENDPOINTS.map(({ name, model, baseUrl, maxConcurrent, policy }) => ({ name, model, baseUrl, maxConcurrent, policy })),
});

installShutdown({
  process,
  logger,
  health,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  steps: [
    { name: 'service', run: () => service.stop() },
    { name: 'nats', run: () => nc.drain() },
    { name: 'temporal', run: async () => temporal?.close() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});
