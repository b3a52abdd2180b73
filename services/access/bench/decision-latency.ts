// Decision latency of kernos.access.check over NATS, on the real path: the access service (createAccessService:
// Cedar policies, an audit record per decision written off the request path) and a kernel client that sends
// checks one after another, as an activity does. Both run in this process against a nats-server of the
// benchmark's own on loopback (so no other access service in the queue group answers).
//   npx tsx services/access/bench/decision-latency.ts [--requests 5000] [--warmup 500] [--concurrency 1]
// --concurrency N keeps N checks in flight at once (the service under load, e.g. to hunt the V8 crash of
// docs/benchmarks.md); latencies then include queueing.
// Prints p50/p90/p99 of the round trip and of the in-process Cedar evaluation alone.
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { trace } from '@opentelemetry/api';
import { createAuditPublisher, ensureAuditStream } from '@kernos/audit';
import { connectNats, createKernelClient, createLogger } from '@kernos/service-kit';
import { access, contracts, create } from '@kernos/wire';
import { openApprovalStore } from '../src/approvals/store.js';
import { createPolicyEngine } from '../src/policy/engine.js';
import { createAccessService } from '../src/service.js';
// The nats helper alone: the package's index imports vitest, which a plain script cannot load.
import { startPrivateNats } from '@kernos/testkit/nats';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '5000' }, warmup: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '1' } } });
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`--concurrency must be a whole number >= 1, got "${values.concurrency}"`);

const server = await startPrivateNats();
const nc = await connectNats({ url: server.url, name: 'access-bench-service' });
const clientNc = await connectNats({ url: server.url, name: 'access-bench-client' });
await ensureAuditStream(await jetstreamManager(nc), { storage: 'file' });
const approvals = await openApprovalStore(nc);
const engine = createPolicyEngine();
const service = createAccessService({
  nc,
  tracer: trace.getTracer('bench'),
  logger: createLogger('bench', () => undefined),
  engine,
  auditLog: createAuditPublisher(jetstream(nc)),
  approvals,
  deliver: () => Promise.resolve(),
});
await service.start();
// The subscriptions must reach the server before the other connection asks.
await nc.flush();
const kernel = createKernelClient(clientNc, trace.getTracer('bench'));

const request = {
  ref: { tenant: 'bench', jobId: 'job-1', runId: 'run-1', agentId: 'agent-1' },
  governance: { riskLevel: 'limited', dataCategories: ['public'], humanOversight: 'none', approver: 'lead@example.com' },
  action: 'tool.call',
  resource: 'echo',
  grantedTools: ['echo', 'search', 'fetch'],
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const report = (label: string, samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(`${label.padEnd(40)} n=${sorted.length}  p50=${percentile(sorted, 50).toFixed(3)} ms  p90=${percentile(sorted, 90).toFixed(3)} ms  p99=${percentile(sorted, 99).toFixed(3)} ms`);
};

// Repeated questions (the same job asking about the same tool from many runs) hit the engine's decision cache;
// distinct ones (a new agent id each time) pay for Cedar on every request.
async function measure(distinct: boolean): Promise<number[]> {
  const samples: number[] = [];
  let next = 0;
  // `concurrency` callers share one sequence of checks; with 1 they go one after another, as an activity sends them.
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < warmup + requests; i = next++) {
        // A new run every 100 checks, as many runs' records chain in parallel in a real kernel.
        const ref = { ...request.ref, runId: `run-${distinct ? 'd' : 'r'}-${Math.floor(i / 100)}`, agentId: distinct ? `agent-${i}` : request.ref.agentId };
        const started = performance.now();
        const reply = await kernel.call(contracts.access.check, { ...request, ref });
        const elapsed = performance.now() - started;
        if (reply.decision !== access.Decision.ALLOW) throw new Error(`unexpected decision ${reply.decision}`);
        if (i >= warmup) samples.push(elapsed);
      }
    }),
  );
  return samples;
}
const repeated = await measure(false);
const distinct = await measure(true);
const evaluations: number[] = [];
for (let i = 0; i < requests; i++) {
  const decoded = create(access.CheckRequestSchema, { ...request, ref: { ...request.ref, agentId: `cold-${i}` } });
  const started = performance.now();
  engine.decide(decoded);
  evaluations.push(performance.now() - started);
}
console.log(`kernos.access.check decision latency (${new Date().toISOString()}, node ${process.version}, loopback nats-server, ${concurrency} in flight)`);
report('round trip, repeated question (cached)', repeated);
report('round trip, distinct questions (Cedar)', distinct);
report('Cedar evaluation in process (2 sets)', evaluations);

await service.stop();
await approvals.stop();
await clientNc.drain();
await nc.drain();
await server.stop();
