import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { jetstream } from '@nats-io/jetstream';
import neo4j, { type Driver } from 'neo4j-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit, verifyAudit } from '@kernos/audit';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { audit, contracts, graph, type MessageInitShape } from '@kernos/wire';
import { loadGraphConfig } from '../src/config.js';
import { entityId, factId } from '../src/identity.js';
import { migrations, runMigrations } from '../src/migrations.js';
import { createNeo4jDriver } from '../src/neo4j.js';
import { createFactStore } from '../src/store.js';
import { eventually, governanceFor, graphService, logger, rejectionOf, startPeers, tracer } from './helpers.js';
import { createGraphService } from '../src/service.js';
import { createEmbedder } from '../src/embeddings.js';

// The global setup puts the real stack's endpoints in process.env; the defaults match `npm run stack -- up`.
const config = loadGraphConfig(process.env);
const database = config.KERNOS_NEO4J_DATABASE;
// Every name is unique per run, so reruns against a reused database never see each other's facts.
const suffix = randomUUID().slice(0, 8);
const unique = (name: string) => `${name} ${suffix}`;

const driverFor = (uri: string, timeoutMs = config.KERNOS_NEO4J_TIMEOUT_MS) =>
  createNeo4jDriver({ uri, user: config.KERNOS_NEO4J_USER, password: config.KERNOS_NEO4J_PASSWORD, timeoutMs });

let nc: NatsConnection;
let client: KernelClient;
let peers: Kernel;
let driver: Driver;
let service: ReturnType<typeof createGraphService>;
// The service's spans, from a provider of the test's own: never the global one (test files share a process).
const spans = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });

// A job granted "public" and "internal", never "secret".
const governance = governanceFor('public', 'internal');
const ref = { tenant: 'acme', jobId: unique('job'), runId: unique('run'), agentId: unique('agent') };

beforeAll(async () => {
  nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'graph-int-test' });
  client = createKernelClient(nc, tracer);
  peers = await startPeers({ ...process.env });
  driver = driverFor(config.KERNOS_NEO4J_URI);
  service = graphService({ nc, driver, uri: config.KERNOS_NEO4J_URI, openaiBaseUrl: peers.openaiBaseUrl, tracer: provider.getTracer('graph') });
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  await driver?.close();
  await peers?.stop();
  await nc?.drain();
  await provider.shutdown();
});

/** Runs one query with the test's own driver and returns plain records. */
async function query(cypher: string, params: Record<string, unknown> = {}) {
  const { records } = await driver.executeQuery(cypher, params, { database });
  return records.map((r) => r.toObject());
}

type WriteInit = Omit<MessageInitShape<typeof graph.WriteFactRequestSchema>, 'ref' | '$typeName'> & { ref?: typeof ref };
const write = (init: WriteInit) => client.call(contracts.graph.writeFact, { ref, governance, dataCategory: 'public', sync: true, ...init });

describe('writes through the outbox, with provenance', () => {
  it('writes a fact (sync) and reads it back through facts and straight from Neo4j, with embedding and provenance', async () => {
    const before = Date.now();
    const written = await write({
      subject: unique('Alice'),
      predicate: 'likes',
      object: unique('Acme Corp'),
      text: 'Alice told us she likes Acme Corp.',
      sourceToolCallId: unique('call'),
    });
    expect(written).toMatchObject({ factId: factId(unique('Alice'), 'likes', unique('Acme Corp')), accepted: true, applied: true, created: true });

    // The subject is matched by its normalised name, as an agent would spell it another time.
    const { facts } = await client.call(contracts.graph.facts, { ref, governance, subject: `  ${unique('ALICE')} ` });
    expect(facts).toHaveLength(1);
    expect(facts[0]).toMatchObject({
      factId: written.factId,
      subject: unique('Alice'),
      text: 'Alice told us she likes Acme Corp.',
      dataCategory: 'public',
      sourceToolCallId: unique('call'),
      runId: ref.runId,
      agentId: ref.agentId,
      invalidAtMs: 0n,
      expiredAtMs: 0n,
    });
    expect(Number(facts[0]!.createdAtMs)).toBeGreaterThanOrEqual(before);
    expect(Number(facts[0]!.validAtMs)).toBeGreaterThanOrEqual(before);

    const [row] = await query(
      `MATCH (ep:Episode {id: $runId})-[a:ASSERTED]->(f:Fact {id: $factId})-[:ABOUT]->(s:Entity), (f)-[:OBJECT]->(o:Entity)
       RETURN ep, a, f, s, o`,
      { runId: ref.runId, factId: written.factId },
    );
    expect(row, 'the episode of the run asserted the fact').toBeDefined();
    expect(row!.ep.properties).toMatchObject({ run_id: ref.runId, job_id: ref.jobId, agent_id: ref.agentId, tenant: 'acme' });
    expect(row!.a.properties.tool_call_id).toBe(unique('call'));
    expect(row!.s.properties).toEqual({ id: entityId(unique('Alice')), name: unique('Alice') });
    const stored = row!.f.properties;
    expect(stored).toMatchObject({ asserted_by: ref.runId, data_category: 'public' });
    // Times are 64-bit integers, and the embedding a 256-float vector from the real endpoint.
    expect(neo4j.isInt(stored.created_at) && neo4j.isInt(stored.valid_at)).toBe(true);
    expect(stored.embedding).toHaveLength(256);
    expect(stored.invalid_at).toBeUndefined();
  });

  it('is idempotent: the same write twice is one node and changes nothing; another run adds its assertion', async () => {
    const fact = { subject: unique('Bob'), predicate: 'lives in', object: unique('Berlin') };
    const first = await write(fact);
    const nodeBefore = (await query('MATCH (f:Fact {id: $id}) RETURN properties(f) AS p', { id: first.factId }))[0]!.p;
    const again = await write({ ...fact, text: 'different words change nothing' });
    const otherRun = { ...ref, runId: unique('run-2'), agentId: unique('agent-2') };
    const third = await write({ ref: otherRun, subject: ` ${unique('BOB')}`, predicate: 'Lives  In', object: fact.object });

    expect(first).toMatchObject({ created: true, applied: true });
    expect(again).toMatchObject({ factId: first.factId, created: false, applied: true });
    expect(third).toMatchObject({ factId: first.factId, created: false });
    const [counts] = await query(
      `MATCH (f:Fact {id: $factId})
       RETURN COUNT { MATCH (x:Fact {id: $factId}) } AS facts, COUNT { MATCH (e:Entity {id: $subjectId}) } AS subjects,
              COUNT { MATCH (ep:Episode)-[:ASSERTED]->(f) } AS asserted, properties(f) AS p`,
      { factId: first.factId, subjectId: entityId(fact.subject) },
    );
    expect([Number(counts!.facts), Number(counts!.subjects), Number(counts!.asserted)]).toEqual([1, 1, 2]);
    expect(counts!.p).toEqual(nodeBefore);
  });

  it('accepts an async write at once and applies it from the outbox', async () => {
    const reply = await client.call(contracts.graph.writeFact, { ref, governance, dataCategory: 'public', subject: unique('Ivy'), predicate: 'owns', object: unique('Boat') });
    expect(reply).toMatchObject({ factId: factId(unique('Ivy'), 'owns', unique('Boat')), accepted: true, applied: false, created: false });
    expect(await eventually(async () => (await query('MATCH (f:Fact {id: $id}) RETURN f', { id: reply.factId })).length === 1, 10_000)).toBe(true);
  });
});

describe('audit', () => {
  it('lands one graph-write record per write in the run\'s hash chain, with ids, governance, trace id and invalidations', async () => {
    const run = { ...ref, runId: unique('audited-run') };
    const subject = unique('Dora');
    const first = await write({ ref: run, subject, predicate: 'works at', object: unique('Acme'), validAtMs: BigInt(Date.now() - 10_000) });
    const second = await write({ ref: run, subject, predicate: 'works at', object: unique('Beta') });
    expect(second.invalidatedFactIds).toEqual([first.factId]);
    // Each record carries the trace of the write's own span in the graph service.
    const traceOf = (factId: string) => spans.getFinishedSpans().find((s) => s.name === 'process kernos.graph.write-fact' && s.attributes['kernos.graph.fact_id'] === factId)?.spanContext().traceId;

    const recordsOf = async (of: typeof run) => (await queryAudit(jetstream(nc), { tenant: of.tenant, jobId: of.jobId, runId: of.runId })).map((r) => r.record);
    // services/access answers before its decision's record is stored (decisions do not wait for the audit write), so
    // the decisions may land a moment after the reply: wait for them, then check the chain exactly.
    const decisionsOf = (records: Awaited<ReturnType<typeof recordsOf>>) => records.filter((r) => r.kind === audit.Kind.ACCESS_DECISION);
    expect(await eventually(async () => decisionsOf(await recordsOf(run)).length >= 2, 5_000, 50)).toBe(true);
    const records = await recordsOf(run);
    const writes = records.filter((r) => r.kind === audit.Kind.GRAPH_WRITE);
    expect(writes).toHaveLength(2);
    for (const [i, record] of writes.entries()) {
      expect(record.traceId).toMatch(/^(?!0+$)[0-9a-f]{32}$/);
      expect(record.traceId).toBe(traceOf([first.factId, second.factId][i]!));
      expect(record).toMatchObject({ service: 'graph', action: 'data.write', resource: 'public', outcome: 'applied' });
      expect(record.ref).toMatchObject(run);
      expect(record.governance).toMatchObject(governance);
    }
    expect(JSON.parse(writes[0]!.detailJson)).toMatchObject({ factId: first.factId, created: true, invalidatedFactIds: [] });
    expect(JSON.parse(writes[1]!.detailJson)).toMatchObject({ factId: second.factId, created: true, invalidatedFactIds: [first.factId] });
    // The access decisions of the same writes are in the same chain, and the chain verifies.
    expect(records.filter((r) => r.kind === audit.Kind.ACCESS_DECISION && r.action === 'data.write')).toHaveLength(2);
    expect(await verifyAudit(jetstream(nc), run)).toMatchObject({ ok: true });

    // A denied write is not a graph write: only its access decision is recorded.
    const denied = { ...ref, runId: unique('denied-run') };
    await rejectionOf(write({ ref: denied, subject, predicate: 'knows', object: 'secrets', dataCategory: 'secret' }));
    expect(await eventually(async () => decisionsOf(await recordsOf(denied)).length >= 1, 5_000, 50)).toBe(true);
    const deniedRecords = await recordsOf(denied);
    expect(deniedRecords.map((r) => [r.kind, r.outcome])).toEqual([[audit.Kind.ACCESS_DECISION, 'deny']]);
  });
});

describe('bi-temporal invalidation', () => {
  it('a contradicting fact on a functional predicate invalidates the current one, never deleting it', async () => {
    const subject = unique('Carol');
    const t1 = Date.now() - 60_000;
    const t2 = t1 + 20_000;
    const acme = await write({ subject, predicate: 'works at', object: unique('Acme'), validAtMs: BigInt(t1) });
    const runB = { ...ref, runId: unique('run-b') };
    const beta = await write({ ref: runB, subject, predicate: 'Works At', object: unique('Beta'), validAtMs: BigInt(t2) });
    expect(beta.invalidatedFactIds).toEqual([acme.factId]);

    const [old] = await query('MATCH (f:Fact {id: $id}) RETURN properties(f) AS p, COUNT { (:Fact {id: $by})-[:INVALIDATES]->(f) } AS edges', { id: acme.factId, by: beta.factId });
    expect(old, 'the old fact is kept').toBeDefined();
    expect(Number(old!.p.invalid_at)).toBe(t2);
    expect(Number(old!.p.expired_at)).toBeGreaterThanOrEqual(t2);
    expect(old!.p).toMatchObject({ invalidated_by: beta.factId, invalidated_by_run: runB.runId });
    expect(Number(old!.edges)).toBe(1);

    // Currently true: only Beta. As of between t1 and t2: Acme. History: both.
    const current = await client.call(contracts.graph.facts, { ref, governance, subject });
    expect(current.facts.map((f) => f.factId)).toEqual([beta.factId]);
    const search = (mode: graph.TimeMode, asOfMs = 0n) =>
      client.call(contracts.graph.neighbours, { ref, governance, entity: subject, mode, asOfMs }).then((r) => r.neighbours.map((n) => n.fact!.factId).sort());
    expect(await search(graph.TimeMode.AS_OF, BigInt(t1 + 1_000))).toEqual([acme.factId]);
    expect(await search(graph.TimeMode.AS_OF, BigInt(t1 - 1_000))).toEqual([]);
    expect(await search(graph.TimeMode.HISTORY)).toEqual([acme.factId, beta.factId].sort());

    // Older news: a job that became true before Acme was true only until Acme.
    const t0 = t1 - 20_000;
    const gamma = await write({ subject, predicate: 'works at', object: unique('Gamma'), validAtMs: BigInt(t0) });
    expect(gamma.invalidatedFactIds).toEqual([]);
    const [g] = await query('MATCH (f:Fact {id: $id}) RETURN f.invalid_at AS invalidAt, f.invalidated_by AS by', { id: gamma.factId });
    expect([Number(g!.invalidAt), g!.by]).toEqual([t1, acme.factId]);
    expect((await client.call(contracts.graph.facts, { ref, governance, subject })).facts.map((f) => f.factId)).toEqual([beta.factId]);

    // The provenance of the old fact says who asserted it and what replaced it.
    const provenance = await client.call(contracts.graph.provenance, { ref, governance, factId: acme.factId });
    expect(provenance.fact).toMatchObject({ invalidatedByFactId: beta.factId, invalidatedByRunId: runB.runId, invalidAtMs: BigInt(t2) });
    expect(provenance.assertions.map((a) => a.runId)).toEqual([ref.runId]);
    expect((await client.call(contracts.graph.provenance, { ref, governance, factId: beta.factId })).invalidatedFactIds).toEqual([acme.factId]);
  });

  it('contradicting writes applied in one batch, in either order, leave only the later one in valid time current', async () => {
    const store = createFactStore({ driver, tracer, database });
    const t = Date.now() - 10_000;
    for (const order of ['later first', 'earlier first']) {
      const subject = unique(`Heidi ${order}`);
      const at = (object: string, validAtMs: number) => ({
        fact: { subject, predicate: 'works at', object: unique(object), text: '', dataCategory: 'public', sourceToolCallId: '' },
        provenance: { ...ref },
        validAtMs,
        functional: true,
      });
      const [north, south] = [at('North', t), at('South', t + 1_000)];
      await store.applyWrites(order === 'later first' ? [south, north] : [north, south]);
      const { facts } = await client.call(contracts.graph.facts, { ref, governance, subject });
      expect(facts.map((f) => f.object), order).toEqual([unique('South')]);
      const [n] = await query('MATCH (f:Fact {id: $id}) RETURN f.invalid_at AS at, f.invalidated_by AS by', { id: factId(subject, 'works at', unique('North')) });
      expect([Number(n!.at), n!.by], order).toEqual([t + 1_000, factId(subject, 'works at', unique('South'))]);
    }
  });

  it('leaves facts alone on a predicate that is not functional, unless the request says it is', async () => {
    const subject = unique('Dave');
    const paris = await write({ subject, predicate: 'visited', object: unique('Paris') });
    const rome = await write({ subject, predicate: 'visited', object: unique('Rome') });
    expect(rome.invalidatedFactIds).toEqual([]);
    const oslo = await write({ subject, predicate: 'visited', object: unique('Oslo'), functional: true });
    expect(oslo.invalidatedFactIds).toEqual([paris.factId, rome.factId].sort());
    // Another category is another scope: a write to "internal" does not invalidate "public" facts.
    const lima = await write({ subject, predicate: 'visited', object: unique('Lima'), functional: true, dataCategory: 'internal' });
    expect(lima.invalidatedFactIds).toEqual([]);
  });
});

describe('reads', () => {
  // One-word names unique to this run, so facts left by earlier runs in the shared database never match their words.
  const topic = `zeppelin${suffix}`;
  const hindenburg = `Hindenburg${suffix}`;
  let engine: string;
  let secret: string;

  beforeAll(async () => {
    engine = (await write({ subject: hindenburg, predicate: 'was a', object: topic, text: 'The Hindenburg was a rigid airship built in Germany.' })).factId;
    await write({ subject: topic, predicate: 'filled with', object: 'hydrogen gas', text: 'Early airships used hydrogen for lift.' });
    await write({ subject: unique('Lakehurst'), predicate: 'located in', object: unique('New Jersey'), text: 'Naval air station' });
    secret = (await write({ subject: hindenburg, predicate: 'classified as', object: unique('project X'), dataCategory: 'secret-ok', governance: governanceFor('secret-ok') })).factId;
  });

  it('finds facts by words and by meaning, fuses them, and expands to their neighbourhood', async () => {
    const { hits } = await client.call(contracts.graph.search, { ref, governance, query: `${hindenburg} airship`, limit: 100 });
    expect(hits[0]!.fact!.factId).toBe(engine);
    expect(hits[0]!.matchedBy).toEqual(expect.arrayContaining(['fulltext', 'vector']));
    // "zeppelin filled with hydrogen" shares no word with the query: it is there as the neighbourhood of the
    // zeppelin entity the best hit points at.
    const hydrogen = hits.find((h) => h.fact!.subject === topic && h.fact!.object === 'hydrogen gas');
    expect(hydrogen, 'the neighbourhood of the top hit').toBeDefined();
    expect(hydrogen!.matchedBy).toContain('neighbourhood');
    expect(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score)).toBe(true);

    const direct = await client.call(contracts.graph.search, { ref, governance, query: `${hindenburg} airship`, limit: 100, noExpansion: true });
    expect(direct.hits.every((h) => !h.matchedBy.includes('neighbourhood'))).toBe(true);
    expect(direct.hits[0]!.matchedBy.sort()).toEqual(['fulltext', 'vector']);
    expect(direct.hits.length).toBeLessThanOrEqual(100);
  });

  it('never returns a category the job was not granted', async () => {
    const { hits } = await client.call(contracts.graph.search, { ref, governance, query: `${hindenburg} project X`, limit: 100, mode: graph.TimeMode.HISTORY });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.map((h) => h.fact!.factId)).not.toContain(secret);
    expect(hits.every((h) => ['public', 'internal'].includes(h.fact!.dataCategory))).toBe(true);
    const neighbours = await client.call(contracts.graph.neighbours, { ref, governance, entity: hindenburg, mode: graph.TimeMode.HISTORY });
    expect(neighbours.neighbours.map((n) => n.fact!.factId)).toEqual([engine]);

    // Asking for it by name is denied, naming the category; its provenance is "not found", so it does not leak.
    const asked = await rejectionOf(client.call(contracts.graph.search, { ref, governance, query: 'Hindenburg', dataCategories: ['secret-ok'] }));
    expect(asked).toMatchObject({ code: 'denied', retryable: false });
    expect(asked.message).toContain('"secret-ok"');
    expect(await rejectionOf(client.call(contracts.graph.provenance, { ref, governance, factId: secret }))).toMatchObject({ code: 'not_found' });

    // The job that was granted it sees it.
    const granted = await client.call(contracts.graph.provenance, { ref, governance: governanceFor('secret-ok'), factId: secret });
    expect(granted.fact!.factId).toBe(secret);
  });

  it('denies writes to a category the job was not granted, and reads without governance, storing nothing', async () => {
    const denied = await rejectionOf(write({ subject: unique('Eve'), predicate: 'knows', object: 'everything', dataCategory: 'health' }));
    expect(denied).toMatchObject({ code: 'denied', retryable: false });
    expect(denied.message).toContain('"health"');
    const noGovernance = await rejectionOf(client.call(contracts.graph.facts, { ref, subject: unique('Alice') }));
    expect(noGovernance.code).toBe('denied');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await query('MATCH (e:Entity {id: $id}) RETURN e', { id: entityId(unique('Eve')) })).toEqual([]);
  });

  it('lists the neighbours of an entity both ways, with literal objects', async () => {
    const { entityId: id, neighbours } = await client.call(contracts.graph.neighbours, { ref, governance, entity: topic });
    expect(id).toBe(entityId(topic));
    expect(neighbours.map((n) => [n.direction, n.name, n.entityId]).sort()).toEqual(
      [
        ['in', hindenburg, entityId(hindenburg)],
        ['out', 'hydrogen gas', entityId('hydrogen gas')],
      ].sort(),
    );
  });
});

describe('validation and schema', () => {
  it('rejects a bad request with invalid_argument naming the field, writing nothing', async () => {
    const empty = await rejectionOf(write({ subject: unique('Frank'), predicate: 'likes', object: '  ' }));
    expect(empty).toMatchObject({ code: 'invalid_argument', message: 'object is required', retryable: false });
    const long = await rejectionOf(write({ subject: 'x'.repeat(1001), predicate: 'p', object: 'o' }));
    expect(long.message).toBe('subject is 1001 characters long; at most 1000 are allowed');
    const noCategory = await rejectionOf(write({ subject: unique('Frank'), predicate: 'p', object: 'o', dataCategory: '' }));
    expect(noCategory.message).toBe('data_category is required');
    const noRun = await rejectionOf(client.call(contracts.graph.writeFact, { governance, dataCategory: 'public', subject: unique('Frank'), predicate: 'p', object: 'o' }));
    expect(noRun.message).toMatch(/^ref\.run_id is required/);
    const asOf = await rejectionOf(client.call(contracts.graph.search, { ref, governance, query: 'x', mode: graph.TimeMode.AS_OF }));
    expect(asOf.message).toMatch(/^as_of_ms is required/);
    expect(await query('MATCH (e:Entity {id: $id}) RETURN e', { id: entityId(unique('Frank')) })).toEqual([]);
  });

  it('runs migrations again without error, applying nothing new; the search indexes exist', async () => {
    expect(await runMigrations({ driver, database })).toEqual([]);
    const recorded = await query('MATCH (m:Migration) RETURN m.id AS id ORDER BY id');
    expect(recorded.map((r) => r.id)).toEqual(expect.arrayContaining(migrations.map((m) => m.id)));
    const indexes = await query('SHOW INDEXES YIELD name, type, state RETURN name, type, state');
    expect(indexes.filter((i) => ['fact_fulltext', 'fact_embedding', 'entity_name'].includes(i.name as string)).map((i) => [i.name, i.type, i.state]).sort()).toEqual([
      ['entity_name', 'FULLTEXT', 'ONLINE'],
      ['fact_embedding', 'VECTOR', 'ONLINE'],
      ['fact_fulltext', 'FULLTEXT', 'ONLINE'],
    ]);
  });

  it('refuses to start when Neo4j is unreachable, saying so', async () => {
    const dead = await deadBoltUri();
    const deadDriver = driverFor(dead, 1_000);
    try {
      const embedder = createEmbedder({ baseURL: peers.openaiBaseUrl, apiKey: 'x', model: 'kernos-emu-small', dimensions: 256 });
      const error = await rejectionOf(createGraphService({ nc, tracer, logger, driver: deadDriver, embedder, uri: dead }).start());
      expect(error).toMatchObject({ code: 'unavailable', retryable: true });
      expect(error.message).toContain(dead);
    } finally {
      await deadDriver.close();
    }
  });
});

/** A loopback port with nothing listening on it. */
async function deadBoltUri(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `bolt://127.0.0.1:${port}`;
}
