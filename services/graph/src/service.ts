import type { Tracer } from '@opentelemetry/api';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Driver } from 'neo4j-driver';
import { createAuditPublisher, ensureAuditStream, type AuditPublisher } from '@kernos/audit';
import { KernosError } from '@kernos/errors';
import { createKernelClient, createKernosService, handle, type Logger, type NatsConnection } from '@kernos/service-kit';
import { audit as auditWire, contracts, create, graph } from '@kernos/wire';
import { createAccessGate } from './access.js';
import type { Embedder } from './embeddings.js';
import { validateFacts } from './handlers/facts.js';
import { validateNeighbours, validateProvenance, validateSearch } from './handlers/reads.js';
import { validateWriteFact } from './handlers/write-fact.js';
import { entityId, factId, normaliseName } from './identity.js';
import { runMigrations } from './migrations.js';
import { toGraphError } from './neo4j.js';
import { createOutbox } from './outbox.js';
import { createFactStore, type StoredFact } from './store.js';

export interface GraphServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  /** The Neo4j driver; the caller owns it and closes it after stop(). */
  driver: Driver;
  /** Embeddings for facts and queries (see createEmbedder). */
  embedder: Embedder;
  /** Database holding the graph (default "neo4j"). */
  database?: string;
  /** The Bolt URI, only for error messages and logs (default: not shown). */
  uri?: string;
  /** Predicates with one value per subject, by normalised name (default: none besides the request's flag). */
  functionalPredicates?: readonly string[];
  /** How long a sync write waits to be applied (default 8000 ms). */
  syncWaitMs?: number;
  /** The outbox's JetStream stream (default "KERNOS_GRAPH_OUTBOX"). */
  outboxStream?: string;
  /** Batches of writes applied to Neo4j at the same time by this replica (default 4). */
  applyConcurrency?: number;
  /** Clock in epoch millis (default Date.now). */
  now?: () => number;
  /**
   * Where each accepted write's KIND_GRAPH_WRITE record goes (the run's hash chain in the AUDIT stream). Default: a
   * @kernos/audit publisher on `nc`, the stream ensured at start; `false` writes none (only for tests of other things).
   */
  audit?: AuditPublisher | false;
}

export function createGraphService(deps: GraphServiceDeps) {
  const { nc, tracer, logger, driver, embedder, database = 'neo4j', uri = '', now = Date.now } = deps;
  const store = createFactStore({ driver, tracer, database, uri, now });
  const outbox = createOutbox({ nc, logger, store, embedder, stream: deps.outboxStream, concurrency: deps.applyConcurrency });
  const gate = createAccessGate(createKernelClient(nc, tracer));
  const functional = new Set((deps.functionalPredicates ?? []).map(normaliseName));
  const syncWaitMs = deps.syncWaitMs ?? 8_000;
  const auditLog = deps.audit === false ? undefined : (deps.audit ?? createAuditPublisher(jetstream(nc)));

  // A query that cannot be embedded is still answered by its words; an embeddings outage must not blind search.
  const embedQuery = async (text: string): Promise<number[] | undefined> => {
    try {
      return (await embedder.embed([text]))[0];
    } catch (error) {
      logger.warn('search without vectors: the query could not be embedded', { error: (error as Error).message });
      return undefined;
    }
  };

  /** One KIND_GRAPH_WRITE record per accepted write, carrying the trace id of the handler's span (the caller's trace). */
  const auditWrite = async (request: graph.WriteFactRequest, id: string, applied: { created: boolean; invalidatedFactIds: string[] } | undefined, traceId: string): Promise<void> => {
    if (!auditLog || !request.ref) return;
    try {
      await auditLog.publish({
        kind: auditWire.Kind.GRAPH_WRITE,
        ref: request.ref,
        ...(request.governance ? { governance: request.governance } : {}),
        traceId,
        service: 'graph',
        action: 'data.write',
        resource: request.dataCategory,
        // applied: in Neo4j now (sync); accepted: durably in the outbox, applied shortly.
        outcome: applied ? 'applied' : 'accepted',
        detail: {
          factId: id,
          subject: request.subject,
          predicate: request.predicate,
          functional: request.functional,
          validAtMs: Number(request.validAtMs),
          sourceToolCallId: request.sourceToolCallId,
          ...(applied ? { created: applied.created, invalidatedFactIds: applied.invalidatedFactIds } : {}),
        },
      });
    } catch (error) {
      logger.error('graph write accepted but its audit record could not be written', { factId: id, runId: request.ref.runId, error: (error as Error).message });
      throw new KernosError('unavailable', `the write of fact ${id} is in the outbox but its audit record could not be written (retrying is safe): ${(error as Error).message}`, { cause: error });
    }
  };

  const service = createKernosService({
    nc,
    tracer,
    name: 'graph',
    version: '0.2.0',
    description: 'Shared, provenance-tracked memory on Neo4j',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
    endpoints: [
      handle(contracts.graph.writeFact, async (request, { span }) => {
        const { fact, provenance } = validateWriteFact(request);
        await gate.assertWrite(request, fact.dataCategory);
        const id = factId(fact.subject, fact.predicate, fact.object);
        // Valid time is fixed when the write is accepted, so a write delayed in the outbox means the same thing.
        const accepted = create(graph.WriteFactRequestSchema, {
          ...request,
          validAtMs: request.validAtMs > 0n ? request.validAtMs : BigInt(now()),
          functional: request.functional || functional.has(normaliseName(fact.predicate)),
        });
        span.setAttributes({ 'kernos.graph.fact_id': id, 'kernos.run_id': provenance.runId, 'kernos.graph.sync': request.sync });
        const applied = await outbox.accept(accepted, request.sync ? { awaitAppliedMs: syncWaitMs } : {});
        // No write is acknowledged before its record is in the run's chain: a failed audit append fails the reply
        // (retryable), and the retried write is idempotent, so nothing is written that the trail does not show.
        await auditWrite(accepted, id, applied, span.spanContext().traceId);
        if (!applied) return { factId: id, accepted: true };
        span.setAttribute('kernos.graph.created', applied.created);
        return { factId: id, accepted: true, applied: true, created: applied.created, invalidatedFactIds: applied.invalidatedFactIds };
      }),
      handle(contracts.graph.facts, async (request, { span }) => {
        const { subject, limit } = validateFacts(request);
        const categories = await gate.readable(request, []);
        const facts = await store.factsAbout(subject, limit, { categories, time: { mode: 'current' } });
        span.setAttribute('kernos.graph.facts', facts.length);
        return { facts: facts.map(toWire) };
      }),
      handle(contracts.graph.search, async (request, { span }) => {
        const query = validateSearch(request);
        const categories = await gate.readable(request, query.categories);
        const vector = await embedQuery(query.text);
        const hits = await store.search({ text: query.text, vector, limit: query.limit, expand: query.expand }, { categories, time: query.time });
        span.setAttributes({ 'kernos.graph.hits': hits.length, 'kernos.graph.vector': vector !== undefined });
        return { hits: hits.map((h) => ({ fact: toWire(h.fact), score: h.score, matchedBy: h.matchedBy })) };
      }),
      handle(contracts.graph.neighbours, async (request) => {
        const query = validateNeighbours(request);
        const categories = await gate.readable(request, query.categories);
        const neighbours = await store.neighbours(query.entity, query.limit, { categories, time: query.time });
        return {
          entityId: entityId(query.entity),
          neighbours: neighbours.map((n) => ({ name: n.name, entityId: n.entityId, direction: n.direction, fact: toWire(n.fact) })),
        };
      }),
      handle(contracts.graph.provenance, async (request) => {
        const { factId: id } = validateProvenance(request);
        const [found, categories] = await Promise.all([store.provenance(id), gate.readable(request, [])]);
        // A fact in a category the job may not read is reported as missing, so its existence does not leak.
        if (!found || !categories.includes(found.fact.dataCategory)) throw new KernosError('not_found', `fact ${id} not found`);
        return {
          fact: toWire(found.fact),
          assertions: found.assertions.map((a) => ({ ...a, assertedAtMs: BigInt(a.assertedAtMs) })),
          invalidatedFactIds: found.invalidatedFactIds,
        };
      }),
    ],
  });

  return {
    /** Brings the schema and the outbox up to date, starts applying writes, then starts answering. */
    async start() {
      let applied: string[];
      try {
        applied = await runMigrations({ driver, database });
      } catch (error) {
        throw toGraphError(error, uri || 'the configured URI');
      }
      // Not "ready": the launcher waits for that word, and endpoints are not registered yet.
      logger.info('graph schema up to date', { database, applied });
      try {
        await outbox.ensure();
      } catch (error) {
        throw new KernosError('unavailable', `cannot set up the graph outbox on JetStream: ${(error as Error).message}`, { cause: error });
      }
      await outbox.startConsumer();
      // Idempotent: every service that writes audit ensures the stream at start.
      if (auditLog && !deps.audit) await ensureAuditStream(await jetstreamManager(nc));
      await service.start();
    },
    /** Stops taking requests, waits for the ones in flight, then stops applying writes; the driver stays open. */
    async stop() {
      await service.stop();
      await outbox.stop();
    },
  };
}

/** int64 fields are bigint in protobuf-es. */
function toWire(f: StoredFact) {
  return {
    ...f,
    createdAtMs: BigInt(f.createdAtMs),
    validAtMs: BigInt(f.validAtMs),
    invalidAtMs: BigInt(f.invalidAtMs),
    expiredAtMs: BigInt(f.expiredAtMs),
  };
}
