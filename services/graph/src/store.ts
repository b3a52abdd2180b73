import neo4j, { type Driver } from 'neo4j-driver';
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { entityId, factId, objectNamesEntity } from './identity.js';
import { toGraphError, toMillis } from './neo4j.js';

/** Who asserted a fact: the run, recorded as its (:Episode). */
export interface Provenance {
  runId: string;
  jobId: string;
  agentId: string;
  tenant: string;
}

/** A fact as the caller states it, already validated and trimmed. */
export interface NewFact {
  subject: string;
  predicate: string;
  object: string;
  text: string;
  /** Empty means uncategorised (stored as absent). */
  dataCategory: string;
  /** Empty means the fact did not come from a tool call. */
  sourceToolCallId: string;
}

export interface StoredFact {
  factId: string;
  subject: string;
  predicate: string;
  object: string;
  text: string;
  dataCategory: string;
  sourceToolCallId: string;
  validAtMs: number;
  createdAtMs: number;
  /** The run that first asserted the fact (others may have asserted it since). */
  runId: string;
  agentId: string;
}

export interface FactStoreOptions {
  driver: Driver;
  tracer: Tracer;
  /** Database holding the graph (default "neo4j"). */
  database?: string;
  /** Shown in error messages and spans, so an operator knows which Neo4j failed (default: not shown). */
  uri?: string;
  /** Clock in epoch millis (default Date.now); tests pin it. */
  now?: () => number;
}

export interface FactStore {
  /** Records the fact and who asserted it in one write transaction; created is false when it already existed. */
  writeFact(fact: NewFact, provenance: Provenance): Promise<{ factId: string; created: boolean }>;
  /** The currently true facts about a subject (by normalised name), newest first. */
  factsAbout(subject: string, limit: number): Promise<StoredFact[]>;
}

// The Fact node alone, so this statement's counters say whether the fact is new. Under concurrent writes of the
// same fact the unique constraint serialises the MERGEs, and only one of them counts a created node.
const mergeFact = `
MERGE (f:Fact {id: $factId})
ON CREATE SET f.subject = $subject, f.predicate = $predicate, f.object = $object, f.text = $text,
              f.data_category = $dataCategory, f.source_tool_call_id = $sourceToolCallId,
              f.valid_at = $now, f.created_at = $now`;

// Provenance is linked even when the fact existed: another run asserting it again is worth knowing.
const linkSubjectAndEpisode = `
MATCH (f:Fact {id: $factId})
MERGE (s:Entity {id: $subjectId}) ON CREATE SET s.name = $subject
MERGE (f)-[:ABOUT]->(s)
MERGE (ep:Episode {id: $runId})
  ON CREATE SET ep.run_id = $runId, ep.job_id = $jobId, ep.agent_id = $agentId, ep.tenant = $tenant, ep.created_at = $now
MERGE (ep)-[a:ASSERTED]->(f) ON CREATE SET a.at = $now`;

const linkObject = `
MATCH (f:Fact {id: $factId})
MERGE (o:Entity {id: $objectId}) ON CREATE SET o.name = $object
MERGE (f)-[:OBJECT]->(o)`;

// Currently true = neither invalidated in the world (invalid_at) nor superseded in the graph (expired_at).
const currentFactsAbout = `
MATCH (:Entity {id: $subjectId})<-[:ABOUT]-(f:Fact)
WHERE f.invalid_at IS NULL AND f.expired_at IS NULL
WITH f ORDER BY f.created_at DESC, f.id ASC LIMIT $limit
CALL (f) {
  OPTIONAL MATCH (ep:Episode)-[a:ASSERTED]->(f)
  RETURN ep ORDER BY a.at ASC, ep.id ASC LIMIT 1
}
RETURN f.id AS id, f.subject AS subject, f.predicate AS predicate, f.object AS object, f.text AS text,
       f.data_category AS dataCategory, f.source_tool_call_id AS sourceToolCallId,
       f.valid_at AS validAt, f.created_at AS createdAt, ep.run_id AS runId, ep.agent_id AS agentId
ORDER BY createdAt DESC, id ASC`;

export function createFactStore({ driver, tracer, database = 'neo4j', uri = '', now = Date.now }: FactStoreOptions): FactStore {
  const where = uri || 'the configured URI';

  // One CLIENT span per database operation, following the OpenTelemetry database conventions.
  const traced = <T>(operation: string, work: () => Promise<T>): Promise<T> =>
    tracer.startActiveSpan(
      `${operation} ${database}`,
      { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'neo4j', 'db.namespace': database, 'db.operation.name': operation } },
      async (span) => {
        try {
          return await work();
        } catch (thrown) {
          const error = toGraphError(thrown, where);
          span.recordException(error);
          span.setAttribute('error.type', error.code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          throw error;
        } finally {
          span.end();
        }
      },
    );

  return {
    writeFact(fact, provenance) {
      return traced('write-fact', async () => {
        const id = factId(fact.subject, fact.predicate, fact.object);
        const params = {
          factId: id,
          subjectId: entityId(fact.subject),
          objectId: entityId(fact.object),
          subject: fact.subject,
          predicate: fact.predicate,
          object: fact.object,
          text: fact.text,
          // Neo4j does not store nulls, so an absent category is simply no property.
          dataCategory: fact.dataCategory || null,
          sourceToolCallId: fact.sourceToolCallId || null,
          // A plain JS number would be stored as a float; times are 64-bit integers.
          now: neo4j.int(now()),
          ...provenance,
        };
        const session = driver.session({ database, defaultAccessMode: neo4j.session.WRITE });
        try {
          const created = await session.executeWrite(async (tx) => {
            const merged = await tx.run(mergeFact, params);
            await tx.run(linkSubjectAndEpisode, params);
            if (objectNamesEntity(fact.object)) await tx.run(linkObject, params);
            return merged.summary.counters.updates().nodesCreated > 0;
          });
          return { factId: id, created };
        } finally {
          await session.close();
        }
      });
    },

    factsAbout(subject, limit) {
      return traced('facts', async () => {
        const session = driver.session({ database, defaultAccessMode: neo4j.session.READ });
        try {
          const result = await session.executeRead((tx) => tx.run(currentFactsAbout, { subjectId: entityId(subject), limit: neo4j.int(limit) }));
          return result.records.map((r) => ({
            factId: r.get('id') as string,
            subject: r.get('subject') as string,
            predicate: r.get('predicate') as string,
            object: r.get('object') as string,
            text: (r.get('text') as string | null) ?? '',
            dataCategory: (r.get('dataCategory') as string | null) ?? '',
            sourceToolCallId: (r.get('sourceToolCallId') as string | null) ?? '',
            validAtMs: toMillis(r.get('validAt')),
            createdAtMs: toMillis(r.get('createdAt')),
            runId: (r.get('runId') as string | null) ?? '',
            agentId: (r.get('agentId') as string | null) ?? '',
          }));
        } finally {
          await session.close();
        }
      });
    },
  };
}
