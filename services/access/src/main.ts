import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createAuditPublisher, ensureAuditStream } from '@kernos/audit';
import { connectNats, createLogger, natsReadiness, installShutdown, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { openApprovalStore } from './approvals/store.js';
import { createTemporalDelivery } from './approvals/temporal.js';
import { loadAccessConfig } from './config.js';
import { createPolicyEngine, readPolicySources } from './policy/engine.js';
import { createAccessService } from './service.js';

const logger = createLogger('access', (line) => process.stderr.write(`${line}\n`));
const config = loadAccessConfig(process.env);
const telemetry = setupTelemetry({ serviceName: 'access', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-access', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const health = await startHealthServer({ port: config.KERNOS_HEALTH_PORT, host: config.KERNOS_HEALTH_HOST, checks: { nats: natsReadiness(nc) } });
// A policy that does not parse or validate stops the service here: it must never start and fail open.
const engine = createPolicyEngine(readPolicySources(config.KERNOS_ACCESS_POLICY_DIR));
// services/access owns the AUDIT stream: it creates it and sets its retention.
await ensureAuditStream(await jetstreamManager(nc), {
  name: config.KERNOS_AUDIT_STREAM,
  replicas: config.KERNOS_AUDIT_REPLICAS,
  retention: { maxAgeMs: config.KERNOS_AUDIT_MAX_AGE, maxBytes: config.KERNOS_AUDIT_MAX_BYTES },
});
const auditLog = createAuditPublisher(jetstream(nc), { stream: config.KERNOS_AUDIT_STREAM });
const approvals = await openApprovalStore(nc, { bucket: config.KERNOS_APPROVALS_BUCKET });
const temporal = createTemporalDelivery({ address: config.KERNOS_TEMPORAL_ADDRESS, namespace: config.KERNOS_TEMPORAL_NAMESPACE });
const service = createAccessService({
  nc,
  tracer: telemetry.tracer,
  logger,
  engine,
  auditLog,
  approvals,
  deliver: temporal.deliver,
  approvalTimeoutMs: config.KERNOS_APPROVAL_TIMEOUT,
});
await service.start();
health.setReady(true);
logger.info('access service ready', { nats: config.KERNOS_NATS_URL });

installShutdown({
  process,
  logger,
  health,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  steps: [
    { name: 'service', run: () => service.stop() },
    { name: 'approvals', run: () => approvals.stop() },
    { name: 'temporal', run: () => temporal.close() },
    { name: 'nats', run: () => nc.drain() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});
