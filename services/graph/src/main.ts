import { connectNats, createLogger, natsReadiness, installShutdown, shutdownInOrder, startHealthServer } from '@kernos/service-kit';
import { setupTelemetry } from '@kernos/telemetry';
import { loadGraphConfig } from './config.js';
import { createEmbedder } from './embeddings.js';
import { embeddingDimensions } from './migrations.js';
import { createNeo4jDriver } from './neo4j.js';
import { createGraphService } from './service.js';

const logger = createLogger('graph', (line) => process.stderr.write(`${line}\n`));
const config = loadGraphConfig(process.env);
const telemetry = setupTelemetry({ serviceName: 'graph', otlpEndpoint: config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT });
const nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'kernos-graph', user: config.KERNOS_NATS_USER, pass: config.KERNOS_NATS_PASSWORD });
const driver = createNeo4jDriver({
  uri: config.KERNOS_NEO4J_URI,
  user: config.KERNOS_NEO4J_USER,
  password: config.KERNOS_NEO4J_PASSWORD,
  timeoutMs: config.KERNOS_NEO4J_TIMEOUT_MS,
});
const health = await startHealthServer({
  port: config.KERNOS_HEALTH_PORT,
  host: config.KERNOS_HEALTH_HOST,
  checks: { nats: natsReadiness(nc), neo4j: () => driver.verifyConnectivity({ database: config.KERNOS_NEO4J_DATABASE }).then(() => true) },
});
const embedder = createEmbedder({
  baseURL: config.KERNOS_OPENAI_BASE_URL,
  apiKey: config.KERNOS_OPENAI_API_KEY,
  model: config.KERNOS_GRAPH_EMBEDDING_MODEL,
  dimensions: embeddingDimensions,
});
const service = createGraphService({
  nc,
  tracer: telemetry.tracer,
  logger,
  driver,
  embedder,
  database: config.KERNOS_NEO4J_DATABASE,
  uri: config.KERNOS_NEO4J_URI,
  functionalPredicates: config.KERNOS_GRAPH_FUNCTIONAL_PREDICATES.split(',').filter((p) => p.trim() !== ''),
  syncWaitMs: config.KERNOS_GRAPH_SYNC_WAIT_MS,
  outboxStream: config.KERNOS_GRAPH_OUTBOX_STREAM,
});

installShutdown({
  process,
  logger,
  health,
  graceMs: config.KERNOS_SHUTDOWN_GRACE_MS,
  steps: [
    { name: 'service', run: () => service.stop() },
    { name: 'nats', run: () => nc.drain() },
    // After NATS: no handler can still be using a session when the pool closes.
    { name: 'neo4j', run: () => driver.close() },
    { name: 'health', run: () => health.close() },
    { name: 'telemetry', run: () => telemetry.shutdown() },
  ],
});

try {
  await service.start();
} catch (error) {
  // Exit non-zero so the supervisor restarts us; the message says which dependency is missing.
  logger.error('graph service failed to start', { error: (error as Error).message });
  await shutdownInOrder(
    [
      { name: 'nats', run: () => nc.drain() },
      { name: 'neo4j', run: () => driver.close() },
      { name: 'telemetry', run: () => telemetry.shutdown() },
    ],
    config.KERNOS_SHUTDOWN_GRACE_MS,
  );
  process.exit(1);
}
health.setReady(true);
logger.info('graph service ready', { nats: config.KERNOS_NATS_URL, neo4j: config.KERNOS_NEO4J_URI, database: config.KERNOS_NEO4J_DATABASE });
