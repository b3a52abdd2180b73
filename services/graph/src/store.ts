import { randomUUID } from 'node:crypto';
import neo4j, { type Driver, type ManagedTransaction } from 'neo4j-driver';
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { entityId, factId, normaliseName, objectNamesEntity } from './identity.js';
import { toGraphError, toMillis } from './neo4j.js';
import { fulltextQuery, fuse, type Candidate, type Retriever } from './search.js';

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
  /** The data category the fact is filed under (access is scoped by it). */
  dataCategory: string;
  /** Empty means the fact did not come from a tool call. */
  sourceToolCallId: string;
}

/** One accepted write, as the outbox consumer applies it. */
export interface FactWrite {
  fact: NewFact;
  provenance: Provenance;
  /** When the fact became true in the world, epoch millis. */
  validAtMs: number;
  /** The predicate has one value per subject: a fact with another object invalidates the current one. */
  functional: boolean;
  /** The fact's embedding (256 floats); absent when it could not be computed (the fact is then found by words only). */
  embedding?: readonly number[];
}

export interface AppliedWrite {
  factId: string;
  /** False when the fact already existed (nothing about it changed but a new ASSERTED edge). */
  created: boolean;
  /** Facts this write invalidated (when it is older news than a rival, it is itself invalidated instead: see invalidated_by). */
  invalidatedFactIds: string[];
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
  /** 0 while true in the world. */
  invalidAtMs: number;
  /** 0 while not superseded in the graph. */
  expiredAtMs: number;
  invalidatedByFactId: string;
  invalidatedByRunId: string;
  /** The run that first asserted the fact (others may have asserted it since). */
  runId: string;
  agentId: string;
}

/**
 * Which facts a read considers. current: valid now, not invalidated, not retracted. as_of: true in the world at
 * atMs as the graph knows it now. history: everything ever recorded.
 */
export type TimeScope = { mode: 'current' } | { mode: 'as_of'; atMs: number } | { mode: 'history' };

/** What a read may see: facts in these categories only (already checked with services/access), at this time. */
export interface ReadScope {
  categories: readonly string[];
  time: TimeScope;
}

export interface SearchHitRecord {
  fact: StoredFact;
  score: number;
  matchedBy: Retriever[];
}

export interface Assertion {
  runId: string;
  jobId: string;
  agentId: string;
  tenant: string;
  toolCallId: string;
  assertedAtMs: number;
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
  /** Applies one accepted write in one transaction: the fact, its entities, the run's episode, invalidations. */
  applyWrite(write: FactWrite): Promise<AppliedWrite>;
  /** Applies writes in order in one transaction (all or none), returning what each did. */
  applyWrites(writes: readonly FactWrite[]): Promise<AppliedWrite[]>;
  /** The facts about a subject (by normalised name) within the scope, newest first. */
  factsAbout(subject: string, limit: number, scope: ReadScope): Promise<StoredFact[]>;
  /** Hybrid search: fulltext and vector candidates fused by rank, plus facts around the entities they touch. */
  search(query: { text: string; vector?: readonly number[]; limit: number; expand: boolean }, scope: ReadScope): Promise<SearchHitRecord[]>;
  /** The facts linking an entity to others (or to literal values), newest first. */
  neighbours(entity: string, limit: number, scope: ReadScope): Promise<{ name: string; entityId: string; direction: 'in' | 'out'; fact: StoredFact }[]>;
  /** A fact with every assertion of it and what it invalidated; undefined when there is no such fact. */
  provenance(factId: string): Promise<{ fact: StoredFact; assertions: Assertion[]; invalidatedFactIds: string[] } | undefined>;
}

// One statement per write, so a batch of writes costs one round trip each and one commit in all.
// Taking the subject's write lock first (setting a property, even to itself, takes the node's lock) serialises
// writes about one subject, so two contradicting facts applied at the same time cannot both stay current.
// `created` is read from a marker set only ON CREATE (and removed again), which under concurrent writes of one
// fact is true for exactly one of them, because the unique constraint serialises the MERGEs.
// Provenance is linked even when the fact existed: another run asserting it again is worth knowing.
// The embedding is stored as a float32 array, the vector index's native type (half the size of a list of floats).
const mergeWrite = `
MERGE (s:Entity {id: $subjectId}) ON CREATE SET s.name = $subject
SET s.name = s.name
MERGE (f:Fact {id: $factId})
ON CREATE SET f.subject = $subject, f.subject_id = $subjectId, f.predicate = $predicate, f.predicate_key = $predicateKey,
              f.object = $object, f.text = $text, f.data_category = $dataCategory, f.source_tool_call_id = $sourceToolCallId,
              f.valid_at = $validAt, f.created_at = $now, f.asserted_by = $runId, f.asserted_by_agent = $agentId,
              f.pending_create = $token
WITH s, f, coalesce(f.pending_create = $token, false) AS created
REMOVE f.pending_create
MERGE (f)-[:ABOUT]->(s)
MERGE (ep:Episode {id: $runId})
  ON CREATE SET ep.run_id = $runId, ep.job_id = $jobId, ep.agent_id = $agentId, ep.tenant = $tenant, ep.created_at = $now
MERGE (ep)-[a:ASSERTED]->(f) ON CREATE SET a.at = $now, a.tool_call_id = $sourceToolCallId
FOREACH (_ IN CASE WHEN $objectIsEntity THEN [1] ELSE [] END |
  MERGE (o:Entity {id: $objectId}) ON CREATE SET o.name = $object
  MERGE (f)-[:OBJECT]->(o))
WITH f, created
CALL (f, created) {
  WITH * WHERE created AND $embedding IS NOT NULL
  CALL db.create.setNodeVectorProperty(f, 'embedding', $embedding)
}
RETURN created`;

// The same for a batch of writes in one statement: one round trip for the batch instead of one per write. The
// subquery runs once per row, in order, so each write sees the ones before it, as separate statements would.
const mergeWrites = `
UNWIND $writes AS w
CALL (w) {${mergeWrite
  .replace(/\$(\w+)/gu, (_, name: string) => (name === 'now' ? '$now' : `w.${name}`))
  .replace('WITH s, f,', 'WITH w, s, f,')
  .replace('WITH f, created', 'WITH w, f, created')
  .replace('CALL (f, created)', 'CALL (w, f, created)')}
}
RETURN w.index AS index, created`;

// Rivals: other facts about the same subject with the same predicate, in the same category (a job may only
// invalidate what it could have written), not retracted.
const rivals = `
MATCH (n:Fact {id: $factId}), (:Entity {id: $subjectId})<-[:ABOUT]-(o:Fact)
WHERE o.id <> n.id AND o.predicate_key = $predicateKey AND o.data_category = $dataCategory
  AND NOT (o.expired_at IS NOT NULL AND o.invalid_at IS NULL)`;

// The new fact is older news than a rival that became true after it: it was true only until the earliest such one.
const invalidateNew = `${rivals} AND o.valid_at > n.valid_at
WITH n, o ORDER BY o.valid_at ASC, o.id ASC LIMIT 1
SET n.invalid_at = o.valid_at, n.expired_at = $now, n.invalidated_by = o.id, n.invalidated_by_run = o.asserted_by
MERGE (o)-[r:INVALIDATES]->(n) ON CREATE SET r.at = $now
RETURN n.id AS id`;

// Rivals that were (still) true when the new fact became true end there. Never deleted: history keeps them.
const invalidateOld = `${rivals} AND o.valid_at <= n.valid_at AND (o.invalid_at IS NULL OR o.invalid_at > n.valid_at)
SET o.invalid_at = n.valid_at, o.expired_at = $now, o.invalidated_by = n.id, o.invalidated_by_run = $runId
MERGE (n)-[r:INVALIDATES]->(o) ON CREATE SET r.at = $now
RETURN o.id AS id`;

/**
 * The time filter over a fact bound to `f`. A retraction (expired_at without invalid_at) hides a fact from every
 * mode but history; an invalidation bounds its validity to [valid_at, invalid_at).
 */
const inScope = `
f.data_category IN $categories AND ($history OR (
  f.valid_at <= $at AND (f.invalid_at IS NULL OR f.invalid_at > $at) AND NOT (f.expired_at IS NOT NULL AND f.invalid_at IS NULL)))`;

// The run that first asserted a fact bound to `f`, as `ep`.
const firstAssertion = `
CALL (f) {
  OPTIONAL MATCH (ep:Episode)-[a:ASSERTED]->(f)
  RETURN ep ORDER BY a.at ASC, ep.id ASC LIMIT 1
}`;

// Everything a reply says about a fact, never its embedding (1 KiB of floats nobody reads).
const factProjection = `
f {.id, .subject, .predicate, .object, .text, .data_category, .source_tool_call_id, .valid_at, .created_at, .invalid_at,
   .expired_at, .invalidated_by, .invalidated_by_run} AS fact, ep.run_id AS runId, ep.agent_id AS agentId`;

const factsAboutQuery = `
MATCH (:Entity {id: $subjectId})<-[:ABOUT]-(f:Fact)
WHERE ${inScope}
WITH f ORDER BY f.created_at DESC, f.id ASC LIMIT $limit
${firstAssertion}
RETURN ${factProjection}
ORDER BY fact.created_at DESC, fact.id ASC`;

const hydrateQuery = `
UNWIND $ids AS id
MATCH (f:Fact {id: id})
${firstAssertion}
RETURN ${factProjection}`;

const neighboursQuery = `
MATCH (e:Entity {id: $entityId})
CALL (e) {
  MATCH (e)<-[:ABOUT]-(f:Fact)
  WHERE ${inScope}
  OPTIONAL MATCH (f)-[:OBJECT]->(other:Entity)
  RETURN f, 'out' AS direction, coalesce(other.name, f.object) AS name, other.id AS otherId
  UNION ALL
  MATCH (e)<-[:OBJECT]-(f:Fact)-[:ABOUT]->(other:Entity)
  WHERE ${inScope}
  RETURN f, 'in' AS direction, other.name AS name, other.id AS otherId
}
WITH f, direction, name, otherId ORDER BY f.created_at DESC, f.id ASC LIMIT $limit
${firstAssertion}
RETURN ${factProjection}, direction, name, otherId`;

const provenanceQuery = `
MATCH (f:Fact {id: $factId})
${firstAssertion}
RETURN ${factProjection},
  COLLECT {
    MATCH (x:Episode)-[a:ASSERTED]->(f)
    WITH x, a ORDER BY a.at ASC, x.id ASC
    RETURN {runId: x.run_id, jobId: x.job_id, agentId: x.agent_id, tenant: x.tenant, toolCallId: a.tool_call_id, at: a.at}
  } AS assertions,
  COLLECT { MATCH (f)-[:INVALIDATES]->(o:Fact) RETURN o.id ORDER BY o.id } AS invalidated`;

/** The two index queries of a hybrid search, each over-fetching because the scope is applied after them. */
function candidatesQuery(withFulltext: boolean, withVector: boolean): string {
  const parts: string[] = [];
  if (withFulltext) {
    parts.push(`
  CALL db.index.fulltext.queryNodes('fact_fulltext', $fulltext, {limit: $k}) YIELD node AS f, score
  WHERE ${inScope}
  RETURN f, 'fulltext' AS retriever, score`);
  }
  if (withVector) {
    parts.push(`
  CALL db.index.vector.queryNodes('fact_embedding', $k, $vector) YIELD node AS f, score
  WHERE ${inScope}
  RETURN f, 'vector' AS retriever, score`);
  }
  return `
CALL () {${parts.join('\n  UNION ALL')}
}
RETURN f.id AS id, retriever, score, [(f)-[:ABOUT]->(s:Entity) | s.id] + [(f)-[:OBJECT]->(o:Entity) | o.id] AS entityIds
ORDER BY retriever, score DESC, id ASC`;
}

// Facts around the entities the direct hits touch and the query names, newest first (direct hits included).
function expansionQuery(withFulltext: boolean): string {
  const named = withFulltext
    ? `CALL db.index.fulltext.queryNodes('entity_name', $fulltext, {limit: 5}) YIELD node RETURN node.id AS entityId
  UNION
  `
    : '';
  return `
CALL () {
  ${named}UNWIND $seedEntityIds AS entityId RETURN entityId
}
MATCH (e:Entity {id: entityId})<-[:ABOUT|OBJECT]-(f:Fact)
WHERE ${inScope}
WITH DISTINCT f
ORDER BY f.created_at DESC, f.id ASC LIMIT $limit
RETURN f.id AS id`;
}

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

  const read = async <T>(work: (tx: ManagedTransaction) => Promise<T>): Promise<T> => {
    const session = driver.session({ database, defaultAccessMode: neo4j.session.READ });
    try {
      return await session.executeRead(work);
    } finally {
      await session.close();
    }
  };

  const scopeParams = (scope: ReadScope) => ({
    categories: [...scope.categories],
    history: scope.time.mode === 'history',
    // A plain JS number would be compared as a float; times are 64-bit integers.
    at: neo4j.int(scope.time.mode === 'as_of' ? scope.time.atMs : now()),
  });

  const hydrate = async (tx: ManagedTransaction, ids: readonly string[]): Promise<Map<string, StoredFact>> => {
    const result = await tx.run(hydrateQuery, { ids: [...ids] });
    return new Map(result.records.map((r) => [r.get('fact').id as string, toStoredFact(r.toObject())]));
  };

  const store: FactStore = {
    applyWrite(write) {
      return store.applyWrites([write]).then(([applied]) => applied!);
    },

    applyWrites(writes) {
      return traced('apply-writes', async () => {
        const params = writes.map(({ fact, provenance, validAtMs, embedding }) => ({
          factId: factId(fact.subject, fact.predicate, fact.object),
          subjectId: entityId(fact.subject),
          objectId: entityId(fact.object),
          objectIsEntity: objectNamesEntity(fact.object),
          predicateKey: normaliseName(fact.predicate),
          subject: fact.subject,
          predicate: fact.predicate,
          object: fact.object,
          text: fact.text,
          dataCategory: fact.dataCategory,
          // Neo4j does not store nulls, so an absent tool call is simply no property.
          sourceToolCallId: fact.sourceToolCallId || null,
          // A plain JS number would be stored as a float; times are 64-bit integers.
          validAt: neo4j.int(validAtMs),
          embedding: embedding ? [...embedding] : null,
          token: randomUUID(),
          ...provenance,
        }));
        const session = driver.session({ database, defaultAccessMode: neo4j.session.WRITE });
        try {
          // One transaction for the batch: one commit (one log flush) instead of one per fact.
          return await session.executeWrite(async (tx) => {
            const at = { now: neo4j.int(now()) };
            const merged = await tx.run(mergeWrites, { writes: params.map((p, index) => ({ ...p, index })), ...at });
            const created = new Map(merged.records.map((r) => [toMillis(r.get('index')), r.get('created') === true]));
            const applied: AppliedWrite[] = [];
            for (const [i, write] of writes.entries()) {
              const p = { ...params[i]!, ...at };
              const invalidatedFactIds: string[] = [];
              // Only a new fact can contradict: re-asserting a known one changes nothing but its provenance.
              // Invalidation depends on valid times only, so running it after the whole batch is merged ends the same.
              if (created.get(i) === true && write.functional) {
                await tx.run(invalidateNew, p);
                const result = await tx.run(invalidateOld, p);
                invalidatedFactIds.push(...result.records.map((r) => r.get('id') as string));
              }
              applied.push({ factId: p.factId, created: created.get(i) === true, invalidatedFactIds: invalidatedFactIds.sort() });
            }
            return applied;
          });
        } finally {
          await session.close();
        }
      });
    },

    factsAbout(subject, limit, scope) {
      return traced('facts', async () => {
        const result = await read((tx) => tx.run(factsAboutQuery, { subjectId: entityId(subject), limit: neo4j.int(limit), ...scopeParams(scope) }));
        return result.records.map((r) => toStoredFact(r.toObject()));
      });
    },

    search(query, scope) {
      return traced('search', async () => {
        const fulltext = fulltextQuery(query.text);
        const withVector = query.vector !== undefined;
        if (fulltext === '' && !withVector) return [];
        // Over-fetch: the scope (categories, time) filters after the index has picked its top k.
        const k = neo4j.int(Math.max(50, query.limit * 5));
        const params = { ...scopeParams(scope), fulltext, vector: query.vector ? [...query.vector] : null, k };
        return read(async (tx) => {
          const found = await tx.run(candidatesQuery(fulltext !== '', withVector), params);
          const ranks = new Map<string, number>();
          const entitiesOf = new Map<string, string[]>();
          const candidates: Candidate[] = found.records.map((r) => {
            const retriever = r.get('retriever') as Retriever;
            const rank = (ranks.get(retriever) ?? 0) + 1;
            ranks.set(retriever, rank);
            entitiesOf.set(r.get('id') as string, r.get('entityIds') as string[]);
            return { factId: r.get('id') as string, retriever, rank };
          });
          if (query.expand) {
            // The entities of the few best direct hits are the neighbourhood worth showing.
            const seeds = new Set(fuse(candidates).slice(0, 5).flatMap((f) => entitiesOf.get(f.factId) ?? []));
            const around = await tx.run(expansionQuery(fulltext !== ''), {
              ...params,
              seedEntityIds: [...seeds],
              // Direct hits may come back too: being near the best hits as well raises a fact's score.
              limit: neo4j.int(query.limit * 2),
            });
            around.records.forEach((r, i) => candidates.push({ factId: r.get('id') as string, retriever: 'neighbourhood', rank: i + 1 }));
          }
          const best = fuse(candidates).slice(0, query.limit);
          const facts = await hydrate(tx, best.map((b) => b.factId));
          return best.flatMap((b) => {
            const fact = facts.get(b.factId);
            return fact ? [{ fact, score: b.score, matchedBy: b.matchedBy }] : [];
          });
        });
      });
    },

    neighbours(entity, limit, scope) {
      return traced('neighbours', async () => {
        const result = await read((tx) => tx.run(neighboursQuery, { entityId: entityId(entity), limit: neo4j.int(limit), ...scopeParams(scope) }));
        return result.records.map((r) => ({
          name: (r.get('name') as string | null) ?? '',
          entityId: (r.get('otherId') as string | null) ?? '',
          direction: r.get('direction') as 'in' | 'out',
          fact: toStoredFact(r.toObject()),
        }));
      });
    },

    provenance(id) {
      return traced('provenance', async () => {
        const result = await read((tx) => tx.run(provenanceQuery, { factId: id }));
        const record = result.records[0];
        if (!record) return undefined;
        const assertions = (record.get('assertions') as Record<string, unknown>[]).map((a) => ({
          runId: (a.runId as string | null) ?? '',
          jobId: (a.jobId as string | null) ?? '',
          agentId: (a.agentId as string | null) ?? '',
          tenant: (a.tenant as string | null) ?? '',
          toolCallId: (a.toolCallId as string | null) ?? '',
          assertedAtMs: toMillis(a.at),
        }));
        return { fact: toStoredFact(record.toObject()), assertions, invalidatedFactIds: record.get('invalidated') as string[] };
      });
    },
  };
  return store;
}

/** A record with `fact` (the projection), `runId` and `agentId` as a StoredFact; absent properties become "" or 0. */
function toStoredFact(row: Record<string, unknown>): StoredFact {
  const f = row.fact as Record<string, unknown>;
  const text = (key: string) => (f[key] as string | null | undefined) ?? '';
  return {
    factId: text('id'),
    subject: text('subject'),
    predicate: text('predicate'),
    object: text('object'),
    text: text('text'),
    dataCategory: text('data_category'),
    sourceToolCallId: text('source_tool_call_id'),
    validAtMs: toMillis(f.valid_at),
    createdAtMs: toMillis(f.created_at),
    invalidAtMs: toMillis(f.invalid_at),
    expiredAtMs: toMillis(f.expired_at),
    invalidatedByFactId: text('invalidated_by'),
    invalidatedByRunId: text('invalidated_by_run'),
    runId: (row.runId as string | null) ?? '',
    agentId: (row.agentId as string | null) ?? '',
  };
}
