import { randomUUID } from 'node:crypto';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { trace } from '@opentelemetry/api';
import neo4j, { type Driver } from 'neo4j-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { loadGraphConfig } from '../src/config.js';
import { entityId, factId } from '../src/identity.js';
import { migrations, runMigrations } from '../src/migrations.js';
import { createNeo4jDriver } from '../src/neo4j.js';
import { createGraphService } from '../src/service.js';

// The global setup puts the real stack's endpoints in process.env; the defaults match `npm run stack -- up`.
const config = loadGraphConfig(process.env);
const tracer = trace.getTracer('test');
const logger = createLogger('graph-test', () => {});
const database = config.KERNOS_NEO4J_DATABASE;
// Every name is unique per run, so reruns against a reused database never see each other's facts.
const suffix = randomUUID().slice(0, 8);
const unique = (name: string) => `${name} ${suffix}`;

const driverFor = (uri: string, timeoutMs = config.KERNOS_NEO4J_TIMEOUT_MS) =>
  createNeo4jDriver({ uri, user: config.KERNOS_NEO4J_USER, password: config.KERNOS_NEO4J_PASSWORD, timeoutMs });

let nc: NatsConnection;
let client: KernelClient;

beforeAll(async () => {
  nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'graph-int-test' });
  client = createKernelClient(nc, tracer);
});

afterAll(async () => {
  await nc?.drain();
});

/** Runs one read query with the test's own driver and returns plain records. */
async function query(driver: Driver, cypher: string, params: Record<string, unknown> = {}) {
  const { records } = await driver.executeQuery(cypher, params, { database });
  return records.map((r) => r.toObject());
}

/** Whatever a rejected call threw, as a KernosError (fails the test if the call succeeded). */
async function rejectionOf(promise: Promise<unknown>): Promise<KernosError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(KernosError);
  return error as KernosError;
}

describe('graph service on real NATS and Neo4j', () => {
  let driver: Driver;
  let service: ReturnType<typeof createGraphService>;
  const ref = { tenant: 'acme', jobId: unique('job'), runId: unique('run'), agentId: unique('agent') };

  beforeAll(async () => {
    driver = driverFor(config.KERNOS_NEO4J_URI);
    service = createGraphService({ nc, tracer, logger, driver, database, uri: config.KERNOS_NEO4J_URI });
    await service.start();
  });

  afterAll(async () => {
    await service?.stop();
    await driver?.close();
  });

  it('writes a fact and reads it back through facts and straight from Neo4j, with its provenance', async () => {
    const before = Date.now();
    const written = await client.call(contracts.graph.writeFact, {
      ref,
      subject: unique('Alice'),
      predicate: 'works at',
      object: unique('Acme Corp'),
      text: 'Alice told us she joined Acme Corp.',
      dataCategory: 'public',
      sourceToolCallId: unique('call'),
    });
    expect(written.created).toBe(true);
    expect(written.factId).toBe(factId(unique('Alice'), 'works at', unique('Acme Corp')));

    // The subject is matched by its normalised name, as an agent would spell it another time.
    const { facts } = await client.call(contracts.graph.facts, { ref, subject: `  ${unique('ALICE')} ` });
    expect(facts).toHaveLength(1);
    const [fact] = facts;
    expect(fact).toMatchObject({
      factId: written.factId,
      subject: unique('Alice'),
      predicate: 'works at',
      object: unique('Acme Corp'),
      text: 'Alice told us she joined Acme Corp.',
      dataCategory: 'public',
      sourceToolCallId: unique('call'),
      runId: ref.runId,
      agentId: ref.agentId,
    });
    expect(Number(fact!.createdAtMs)).toBeGreaterThanOrEqual(before);
    expect(Number(fact!.createdAtMs)).toBeLessThanOrEqual(Date.now());
    expect(fact!.validAtMs).toBe(fact!.createdAtMs);

    const [row] = await query(
      driver,
      `MATCH (ep:Episode {id: $runId})-[:ASSERTED]->(f:Fact {id: $factId})-[:ABOUT]->(s:Entity), (f)-[:OBJECT]->(o:Entity)
       RETURN ep, f, s, o`,
      { runId: ref.runId, factId: written.factId },
    );
    expect(row, 'the episode of the run asserted the fact').toBeDefined();
    expect(row!.ep.properties).toMatchObject({ id: ref.runId, run_id: ref.runId, job_id: ref.jobId, agent_id: ref.agentId, tenant: 'acme' });
    expect(row!.s.properties).toEqual({ id: entityId(unique('Alice')), name: unique('Alice') });
    expect(row!.o.properties).toEqual({ id: entityId(unique('Acme Corp')), name: unique('Acme Corp') });
    const stored = row!.f.properties;
    expect(stored).toMatchObject({ subject: unique('Alice'), predicate: 'works at', data_category: 'public' });
    // Times are 64-bit integers, not floats, so comparisons and ordering in Cypher are exact.
    expect(neo4j.isInt(stored.created_at)).toBe(true);
    expect(neo4j.isInt(row!.ep.properties.created_at)).toBe(true);
    expect(stored.expired_at).toBeUndefined();
    expect(stored.invalid_at).toBeUndefined();
  });

  it('writes the same fact twice as one node: created=false the second time, provenance of both runs kept', async () => {
    const fact = { subject: unique('Bob'), predicate: 'lives in', object: unique('Berlin') };
    const first = await client.call(contracts.graph.writeFact, { ref, ...fact });
    const again = await client.call(contracts.graph.writeFact, { ref, ...fact, text: 'different words change nothing' });
    // Another run asserting it, spelled differently, is still the same fact.
    const otherRun = { ...ref, runId: unique('run-2'), agentId: unique('agent-2') };
    const third = await client.call(contracts.graph.writeFact, { ref: otherRun, subject: ` ${unique('BOB')}`, predicate: 'Lives  In', object: fact.object });

    expect(first.created).toBe(true);
    expect(again).toMatchObject({ factId: first.factId, created: false });
    expect(third).toMatchObject({ factId: first.factId, created: false });

    const [counts] = await query(
      driver,
      `MATCH (f:Fact {id: $factId})
       RETURN COUNT { MATCH (x:Fact {id: $factId}) } AS facts,
              COUNT { MATCH (e:Entity {id: $subjectId}) } AS subjects,
              COUNT { MATCH (ep:Episode)-[:ASSERTED]->(f) } AS asserted,
              f.text AS text`,
      { factId: first.factId, subjectId: entityId(fact.subject) },
    );
    expect(counts).toMatchObject({ text: '' });
    expect(Number(counts!.facts)).toBe(1);
    expect(Number(counts!.subjects)).toBe(1);
    expect(Number(counts!.asserted)).toBe(2);

    // The reply names the run that first asserted it.
    const { facts } = await client.call(contracts.graph.facts, { ref, subject: fact.subject });
    expect(facts.map((f) => [f.factId, f.runId])).toEqual([[first.factId, ref.runId]]);
  });

  it('returns only facts that are currently true, newest first', async () => {
    const subject = unique('Carol');
    const ids: string[] = [];
    for (const object of ['Paris', 'Rome', 'Oslo']) {
      ids.push((await client.call(contracts.graph.writeFact, { ref, subject, predicate: 'visited', object: unique(object) })).factId);
      // created_at has millisecond resolution; keep the order unambiguous.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // What the graph issue will do through bi-temporal invalidation, done by hand: Rome stops being true,
    // Oslo is superseded.
    await query(driver, 'MATCH (f:Fact {id: $id}) SET f.invalid_at = $now', { id: ids[1], now: neo4j.int(Date.now()) });
    await query(driver, 'MATCH (f:Fact {id: $id}) SET f.expired_at = $now', { id: ids[2], now: neo4j.int(Date.now()) });
    const fourth = await client.call(contracts.graph.writeFact, { ref, subject, predicate: 'visited', object: unique('Lima') });

    const { facts } = await client.call(contracts.graph.facts, { ref, subject });
    expect(facts.map((f) => f.factId)).toEqual([fourth.factId, ids[0]]);
    const limited = await client.call(contracts.graph.facts, { ref, subject, limit: 1 });
    expect(limited.facts.map((f) => f.factId)).toEqual([fourth.factId]);
    expect((await client.call(contracts.graph.facts, { ref, subject: unique('nobody') })).facts).toEqual([]);
  });

  it('links an object that names an entity, and not a literal one', async () => {
    const subject = unique('Dave');
    const named = await client.call(contracts.graph.writeFact, { ref, subject, predicate: 'manages', object: unique('Erin') });
    const literal = await client.call(contracts.graph.writeFact, { ref, subject, predicate: 'age', object: '42' });
    const rows = await query(driver, 'MATCH (f:Fact) WHERE f.id IN $ids RETURN f.id AS id, COUNT { (f)-[:OBJECT]->(:Entity) } AS objects', {
      ids: [named.factId, literal.factId],
    });
    const objects = Object.fromEntries(rows.map((r) => [r.id as string, Number(r.objects)]));
    expect(objects).toEqual({ [named.factId]: 1, [literal.factId]: 0 });
  });

  it('rejects a bad request with invalid_argument naming the field, writing nothing', async () => {
    const empty = await rejectionOf(client.call(contracts.graph.writeFact, { ref, subject: unique('Frank'), predicate: 'likes', object: '  ' }));
    expect(empty).toMatchObject({ code: 'invalid_argument', message: 'object is required', retryable: false });

    const long = await rejectionOf(client.call(contracts.graph.writeFact, { ref, subject: 'x'.repeat(1001), predicate: 'p', object: 'o' }));
    expect(long).toMatchObject({ code: 'invalid_argument', message: 'subject is 1001 characters long; at most 1000 are allowed' });

    const text = await rejectionOf(client.call(contracts.graph.writeFact, { ref, subject: unique('Frank'), predicate: 'p', object: 'o', text: 't'.repeat(10_001) }));
    expect(text.message).toMatch(/^text is 10001 characters/);

    const noRun = await rejectionOf(client.call(contracts.graph.writeFact, { subject: unique('Frank'), predicate: 'p', object: 'o' }));
    expect(noRun.message).toMatch(/^ref\.run_id is required/);

    const facts = await rejectionOf(client.call(contracts.graph.facts, { subject: '' }));
    expect(facts).toMatchObject({ code: 'invalid_argument', message: 'subject is required' });

    expect(await query(driver, 'MATCH (e:Entity {id: $id}) RETURN e', { id: entityId(unique('Frank')) })).toEqual([]);
  });

  it('runs migrations again without error, applying nothing new', async () => {
    expect(await runMigrations({ driver, database })).toEqual([]);
    expect(await runMigrations({ driver, database })).toEqual([]);
    const recorded = await query(driver, 'MATCH (m:Migration) RETURN m.id AS id ORDER BY id');
    expect(recorded.map((r) => r.id)).toEqual(expect.arrayContaining(migrations.map((m) => m.id)));
    const constraints = await query(driver, 'SHOW CONSTRAINTS YIELD name RETURN name');
    expect(constraints.map((c) => c.name)).toEqual(expect.arrayContaining(['entity_id', 'fact_id', 'episode_id']));
  });
});

describe('graph service when Neo4j is unreachable', () => {
  it('refuses to start, saying Neo4j is unavailable', async () => {
    const dead = await deadBoltUri();
    const driver = driverFor(dead, 1_000);
    try {
      const service = createGraphService({ nc, tracer, logger, driver, database, uri: dead });
      const error = await rejectionOf(service.start());
      expect(error).toMatchObject({ code: 'unavailable', retryable: true });
      expect(error.message).toContain(dead);
    } finally {
      await driver.close();
    }
  });

  it('answers unavailable (retryable) once Neo4j goes away under a running service', async () => {
    // A TCP proxy in front of the real Neo4j, so the test can cut the database off without stopping it.
    const proxy = await startProxy(new URL(config.KERNOS_NEO4J_URI));
    const driver = driverFor(`bolt://127.0.0.1:${proxy.port}`, 1_000);
    const service = createGraphService({ nc, tracer, logger, driver, database, uri: `bolt://127.0.0.1:${proxy.port}` });
    try {
      await service.start();
      await expectOnlyGraphService();
      const ref = { runId: unique('run-outage') };
      const fact = { ref, subject: unique('Grace'), predicate: 'wrote', object: unique('COBOL') };
      expect((await client.call(contracts.graph.writeFact, fact)).created).toBe(true);

      await proxy.cut();
      const write = await rejectionOf(client.call(contracts.graph.writeFact, { ...fact, object: unique('FLOW-MATIC') }));
      expect(write).toMatchObject({ code: 'unavailable', retryable: true });
      const read = await rejectionOf(client.call(contracts.graph.facts, { ref, subject: fact.subject }));
      expect(read).toMatchObject({ code: 'unavailable', retryable: true });
    } finally {
      await service.stop();
      await driver.close();
      await proxy.cut();
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

/** Forwards a loopback port to Neo4j until cut(), which closes the port and every connection through it. */
async function startProxy(target: URL): Promise<{ port: number; cut(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((downstream) => {
    const upstream = connectTcp(Number(target.port || 7687), target.hostname);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    async cut() {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The outage test needs its requests to reach the service it cut off; a graph service left running by a dev
 * stack would share the queue group and answer some of them from the healthy database.
 */
async function expectOnlyGraphService(): Promise<void> {
  let responders = 0;
  for await (const _ of await nc.requestMany('$SRV.PING.graph', undefined, { strategy: 'timer', maxWait: 500 })) responders += 1;
  expect(responders, 'another graph service is on this NATS; stop it (npm run stack -- down) to run this test').toBe(1);
}
