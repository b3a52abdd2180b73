// Graph benchmark: ingest rate through the real write path (NATS → access check → JetStream outbox → consumer →
// embeddings → Neo4j) and hybrid search latency, at growing sizes, on a stack of its own so the shared dev
// database stays small.
//
//   npx tsx services/graph/bench/graph-bench.ts --sizes 10000,100000 --searches 200 [--full-path-up-to 10000]
//
// Prints one line per size and a JSON summary; the numbers go in services/graph/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trace } from '@opentelemetry/api';
import { z } from 'zod';
import { startStack } from '@kernos/devstack';
import { freePort, startKernel } from '@kernos/launcher';
import { connectNats, createKernelClient, createLogger } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { KernosError } from '@kernos/errors';
import { createEmbedder, embeddingText } from '../src/embeddings.js';
import { createFactStore } from '../src/store.js';
import { factId } from '../src/identity.js';
import { embeddingDimensions } from '../src/migrations.js';
import { createNeo4jDriver } from '../src/neo4j.js';
import { createGraphService } from '../src/service.js';

const argsSchema = z.object({
  sizes: z
    .string()
    .transform((s) => s.split(',').map((n) => Number(n.trim())))
    .pipe(z.array(z.number().int().positive()).min(1)),
  searches: z.coerce.number().int().positive(),
  concurrency: z.coerce.number().int().positive(),
  'apply-concurrency': z.coerce.number().int().positive(),
  'full-path-up-to': z.coerce.number().int().nonnegative(),
});
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    searches: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '64' },
    'apply-concurrency': { type: 'string', default: '4' },
    'full-path-up-to': { type: 'string', default: '10000' },
  },
});
const parsed = argsSchema.safeParse(values);
if (!parsed.success) {
  console.error(`graph-bench: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const options = parsed.data;
const sizes = [...options.sizes].sort((a, b) => a - b);

// A deterministic corpus: the same facts on every run, so runs compare.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const syllables = ['ka', 'lo', 'mi', 'ra', 'te', 'su', 'no', 'vi', 'da', 'pe', 'zo', 'ri', 'an', 'el', 'or', 'ux'];
const vocabulary = Array.from({ length: 3000 }, () => Array.from({ length: 2 + Math.floor(random() * 3) }, () => pick(syllables)).join(''));
const predicates = ['works at', 'lives in', 'knows', 'owns', 'reported', 'depends on', 'located in', 'part of', 'status', 'measured', 'prefers', 'manages'];
const sentence = (n: number) => Array.from({ length: n }, () => pick(vocabulary)).join(' ');
const entityCount = (total: number) => Math.max(100, Math.floor(total / 5));

function factNumber(i: number, total: number) {
  const subject = `entity ${Math.floor(random() * entityCount(total))}`;
  const literal = random() < 0.3;
  return {
    subject,
    predicate: pick(predicates),
    // Literals carry the index so they are distinct; entity names repeat, so entities are shared and de-duplicated.
    object: literal ? `${Math.floor(random() * 1000)}.${i}` : `entity ${Math.floor(random() * entityCount(total))} ${i % 7}`,
    text: `${sentence(8 + Math.floor(random() * 12))} (${i})`,
    dataCategory: random() < 0.8 ? 'public' : 'internal',
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const stateDir = mkdtempSync(join(tmpdir(), 'kernos-graph-bench-'));
const logger = createLogger('graph-bench', () => {});
const tracer = trace.getTracer('graph-bench');
console.log(`graph-bench: starting a stack of its own in ${stateDir}`);
const stack = await startStack({ stateDir, natsPort: await freePort(), natsMonitorPort: await freePort(), temporalPort: await freePort(), neo4jPort: await freePort(), reuse: false });
// An interrupted benchmark must not leave its servers running.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stack.stop().finally(() => {
      rmSync(stateDir, { recursive: true, force: true });
      process.exit(130);
    });
  });
}
const peers = await startKernel({ env: { ...process.env, KERNOS_NATS_URL: stack.endpoints.natsUrl }, only: ['emulator', 'access'], logDir: process.env.KERNOS_BENCH_LOG_DIR ?? join(stateDir, 'logs') });
const nc = await connectNats({ url: stack.endpoints.natsUrl, name: 'graph-bench' });
const driver = createNeo4jDriver({ uri: stack.endpoints.neo4jUri, timeoutMs: 30_000 });
const embedder = createEmbedder({ baseURL: peers.openaiBaseUrl, apiKey: 'bench', model: 'kernos-emu-small', dimensions: embeddingDimensions });
const store = createFactStore({ driver, tracer });
const service = createGraphService({
  nc,
  tracer,
  logger,
  driver,
  uri: stack.endpoints.neo4jUri,
  embedder,
  functionalPredicates: ['status'],
  applyConcurrency: options['apply-concurrency'],
});
const client = createKernelClient(nc, tracer);
const governance = { riskLevel: 'limited', dataCategories: ['public', 'internal'], humanOversight: 'none', approver: 'bench@example.com' };
const ref = { tenant: 'bench', jobId: 'bench-job', runId: 'bench-run', agentId: 'bench-agent' };

const results: { facts: number; path: string; ingestFactsPerSecond: number; searchP50Ms: number; searchP95Ms: number; searchMeanHits: number }[] = [];
try {
  await service.start();
  const countFacts = async () => (await driver.executeQuery('MATCH (f:Fact) RETURN count(f) AS n')).records[0]!.get('n').toNumber() as number;
  let written = 0;
  // Generated facts may repeat a statement (that is one fact, by design); Neo4j must end with the distinct ones.
  const distinct = new Set<string>();
  for (const size of sizes) {
    // Ingest: as many requests in flight as --concurrency; done when every fact is in Neo4j.
    const started = performance.now();
    const target = size;
    let next = written;
    const bulk = size > options['full-path-up-to'];
    // Beyond --full-path-up-to, facts are loaded straight through the store's batch write (the same statement the
    // outbox consumer runs, with real embeddings) so a large corpus loads in reasonable time on a small machine.
    const bulkWorker = async () => {
      while (next < target) {
        const batch = Array.from({ length: Math.min(256, target - next) }, () => {
          const fact = factNumber(next, sizes.at(-1)!);
          const run = { ...ref, runId: `bench-run-${Math.floor(next++ / 100)}` };
          distinct.add(factId(fact.subject, fact.predicate, fact.object));
          return { fact: { ...fact, sourceToolCallId: '' }, provenance: run, validAtMs: Date.now(), functional: fact.predicate === 'status' };
        });
        const vectors = await embedder.embed(batch.map((w) => embeddingText(w.fact)));
        await store.applyWrites(batch.map((w, i) => ({ ...w, embedding: vectors[i] })));
      }
    };
    const worker = bulk ? bulkWorker : async () => {
      while (next < target) {
        const fact = factNumber(next++, sizes.at(-1)!);
        distinct.add(factId(fact.subject, fact.predicate, fact.object));
        // A run asserts about a hundred facts, as a busy agent might; one run for everything would be one supernode.
        const run = { ...ref, runId: `bench-run-${Math.floor(next / 100)}` };
        // As an activity would: a retryable failure (an overloaded peer) is retried; writes are idempotent.
        for (let attempt = 1; ; attempt++) {
          try {
            await client.call(contracts.graph.writeFact, { ref: run, governance, ...fact }, { timeoutMs: 60_000 });
            break;
          } catch (error) {
            if (!(error instanceof KernosError) || !error.retryable || attempt >= 10) throw error;
            await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: bulk ? 2 : options.concurrency }, worker));
    const acceptedMs = performance.now() - started;
    for (;;) {
      const n = await countFacts();
      process.stdout.write(`\r  ${n}/${distinct.size} facts in Neo4j`);
      if (n >= distinct.size) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const ingestMs = performance.now() - started;
    const ingested = target - written;
    written = target;
    process.stdout.write('\n');

    // Search: sequential, as an agent asks, after a warm-up.
    const queries = Array.from({ length: options.searches + 20 }, () => `${sentence(3)} entity ${Math.floor(random() * entityCount(sizes.at(-1)!))}`);
    const latencies: number[] = [];
    let hits = 0;
    for (const [i, query] of queries.entries()) {
      const t = performance.now();
      const reply = await client.call(contracts.graph.search, { ref, governance, query, limit: 10 }, { timeoutMs: 30_000 });
      if (i >= 20) {
        latencies.push(performance.now() - t);
        hits += reply.hits.length;
      }
    }
    latencies.sort((a, b) => a - b);
    const row = {
      facts: target,
      path: bulk ? 'store batch' : 'full',
      ingestFactsPerSecond: Math.round(ingested / (ingestMs / 1000)),
      acceptFactsPerSecond: Math.round(ingested / (acceptedMs / 1000)),
      searchP50Ms: Math.round(percentile(latencies, 50)),
      searchP95Ms: Math.round(percentile(latencies, 95)),
      searchMeanHits: Math.round((hits / latencies.length) * 10) / 10,
    };
    results.push(row);
    console.log(
      `${target} facts: ingest (${row.path} path) ${row.ingestFactsPerSecond} facts/s applied (${row.acceptFactsPerSecond}/s accepted), search p50 ${row.searchP50Ms} ms, p95 ${row.searchP95Ms} ms (${row.searchMeanHits} hits)`,
    );
  }
  console.log(JSON.stringify({ results }, null, 2));
} finally {
  await service.stop();
  await nc.drain();
  await driver.close();
  await peers.stop();
  await stack.stop();
  rmSync(stateDir, { recursive: true, force: true });
}
