import type { Tracer } from '@opentelemetry/api';
import type { Driver } from 'neo4j-driver';
import { createKernosService, handle, type Logger, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { validateFacts } from './handlers/facts.js';
import { validateWriteFact } from './handlers/write-fact.js';
import { runMigrations } from './migrations.js';
import { toGraphError } from './neo4j.js';
import { createFactStore } from './store.js';

export interface GraphServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  /** The Neo4j driver; the caller owns it and closes it after stop(). */
  driver: Driver;
  /** Database holding the graph (default "neo4j"). */
  database?: string;
  /** The Bolt URI, only for error messages and logs (default: not shown). */
  uri?: string;
}

export function createGraphService({ nc, tracer, logger, driver, database = 'neo4j', uri = '' }: GraphServiceDeps) {
  const store = createFactStore({ driver, tracer, database, uri });

  const service = createKernosService({
    nc,
    tracer,
    name: 'graph',
    version: '0.1.0',
    description: 'Shared, provenance-tracked memory on Neo4j',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
    endpoints: [
      handle(contracts.graph.writeFact, async (request, { span }) => {
        const { fact, provenance } = validateWriteFact(request);
        const written = await store.writeFact(fact, provenance);
        span.setAttributes({
          'kernos.graph.fact_id': written.factId,
          'kernos.graph.created': written.created,
          'kernos.run_id': provenance.runId,
        });
        return written;
      }),
      handle(contracts.graph.facts, async (request, { span }) => {
        const { subject, limit } = validateFacts(request);
        const facts = await store.factsAbout(subject, limit);
        span.setAttribute('kernos.graph.facts', facts.length);
        return {
          // int64 fields are bigint in protobuf-es.
          facts: facts.map((f) => ({ ...f, createdAtMs: BigInt(f.createdAtMs), validAtMs: BigInt(f.validAtMs) })),
        };
      }),
    ],
  });

  return {
    /** Brings the schema up to date, then starts answering; fails with "unavailable" when Neo4j is unreachable. */
    async start() {
      let applied: string[];
      try {
        applied = await runMigrations({ driver, database });
      } catch (error) {
        throw toGraphError(error, uri || 'the configured URI');
      }
      // Not "ready": the launcher waits for that word, and endpoints are not registered yet.
      logger.info('graph schema up to date', { database, applied });
      await service.start();
    },
    /** Stops taking requests and waits for the ones in flight; the driver stays open for the caller to close. */
    stop: () => service.stop(),
  };
}
