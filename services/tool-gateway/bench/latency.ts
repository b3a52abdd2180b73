/**
 * Benchmark: the latency the gateway adds to one tools/call, against calling the same MCP server directly, and
 * calls/second through the gateway. Every path calls `echo` on its own server-everything child over stdio, so
 * the server's own cost is the same on both sides and the difference is the gateway.
 *
 *   npx tsx services/tool-gateway/bench/latency.ts [--calls 2000] [--warmup 200] [--concurrency 16] [--seconds 3]
 *
 * Starts its own nats-server (JetStream, loopback, a free port, a temp store) so that no other gateway on a shared
 * NATS answers the benchmark's requests; `nats-server` must be on PATH (scripts/setup.sh installs it).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once, setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trace } from '@opentelemetry/api';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createAuditPublisher, ensureAuditStream } from '@kernos/audit';
import { startKernel } from '@kernos/launcher';
import { connectNats, createKernelClient, createLogger } from '@kernos/service-kit';
import { access, contracts, create, fromBinary, toBinary } from '@kernos/wire';
import {
  allowEverything,
  createJetStreamAuditSink,
  createNatsAccessPolicy,
  createToolFabric,
  createToolGatewayService,
  defaultToolServers,
  noAudit,
  startMcpEndpoint,
  type AuditSink,
  type Principal,
} from '../src/index.js';

// The MCP SDK's Streamable HTTP client (the endpoint row) reuses one AbortSignal for every request and Node's
// fetch releases its listeners only on garbage collection: without this, thousands of warnings drown the table.
setMaxListeners(0);

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
  },
});
const calls = Number(values.calls);
const warmup = Number(values.warmup);
const concurrency = Number(values.concurrency);
const seconds = Number(values.seconds);
const tracer = trace.getTracer('bench');
const logger = createLogger('tool-gateway-bench', () => undefined);
const server = defaultToolServers({ nodeExecutable: process.execPath })[0];
if (server?.transport !== 'stdio') throw new Error('expected the default stdio server');
const args = { message: 'hello' };

async function sample(run: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await run();
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function throughput(run: () => Promise<unknown>): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await run();
        done++;
      }
    }),
  );
  return done / seconds;
}

// Direct: the official SDK client straight to its own server-everything child.
const direct = new Client({ name: 'bench-direct', version: '1' });
await direct.connect(new StdioClientTransport({ command: server.command, args: server.args, stderr: 'ignore' }));
const directCall = () => direct.callTool({ name: 'echo', arguments: args });

const natsDir = await mkdtemp(join(tmpdir(), 'tool-gateway-bench-'));
const natsPort = await freePort();
const natsServer = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', natsDir], { stdio: ['ignore', 'ignore', 'pipe'] });
let natsLog = '';
natsServer.stderr?.on('data', (chunk: Buffer) => (natsLog += chunk.toString()));
for (let i = 0; i < 100 && !natsLog.includes('Server is ready'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
const nc = await connectNats({ url: `nats://127.0.0.1:${natsPort}`, name: 'tool-gateway-bench' });
const id = randomUUID().slice(0, 8);
const auditStream = `TG_BENCH_${id}`;
const auditPrefix = `bench.tgaudit${id}`;
await ensureAuditStream(await jetstreamManager(nc), { name: auditStream, subjectPrefix: auditPrefix, storage: 'memory', retention: { maxAgeMs: 10 * 60_000 } });
const jetstreamAudit = createJetStreamAuditSink({ publisher: createAuditPublisher(jetstream(nc), { stream: auditStream, subjectPrefix: auditPrefix }), logger });

// An access responder on a private subject (the foundation's rule), for the "access enforced" row.
const accessSubject = `bench.${id}.access.check`;
const accessResponder = {
  callback: (_e: unknown, msg: { data: Uint8Array; respond: (data: Uint8Array) => boolean }) => {
    const request = fromBinary(access.CheckRequestSchema, msg.data);
    const allow = request.grantedTools.includes(request.resource);
    msg.respond(toBinary(access.CheckReplySchema, create(access.CheckReplySchema, { decision: allow ? access.Decision.ALLOW : access.Decision.DENY, rule: 'bench' })));
  },
};
nc.subscribe(accessSubject, accessResponder);
// The same rule on the kernel's own subject, for the gateway running as its own process (the last row).
nc.subscribe(contracts.access.check.subject, accessResponder);

const fabricWith = async (audit: AuditSink, enforced: boolean, allowTtlMs?: number) => {
  const fabric = createToolFabric({
    servers: [server],
    tracer,
    logger,
    audit,
    access: enforced
      ? createNatsAccessPolicy(createKernelClient(nc, tracer), { contract: { ...contracts.access.check, subject: accessSubject }, ...(allowTtlMs === undefined ? {} : { allowTtlMs }) })
      : allowEverything,
  });
  await fabric.gateway.connect();
  return fabric;
};
const governance = { riskLevel: 'limited', dataCategories: [], humanOversight: 'none', approver: '' };
const principal = (enforceAccess: boolean): Principal => ({
  ref: { tenant: 'bench', jobId: 'bench-job', runId: `bench-${id}`, agentId: 'bench' },
  governance,
  grantedTools: ['echo'],
  enforceAccess,
});

const rows: { path: string; sorted: number[] }[] = [];
const report = async (path: string, sorted: number[]) => {
  rows.push({ path, sorted });
  // Each row starts with no audit backlog from the one before.
  await jetstreamAudit.flush();
};

await report('direct (SDK client → server over stdio)', await sample(directCall));

const bare = await fabricWith(noAudit, false);
await report('gateway in-process (router: breakers, limits, checks), no audit', await sample(() => bare.router.call({ tool: 'echo', arguments: args, principal: principal(false), via: 'bench' })));

const audited = await fabricWith(jetstreamAudit, false);
const auditedCall = () => audited.router.call({ tool: 'echo', arguments: args, principal: principal(false), via: 'bench' });
// For throughput: each concurrent caller is its own run, as agents are (a run's audit chain is appended in order).
let caller = 0;
const auditedCallAsRun = () => {
  caller = (caller + 1) % concurrency;
  const who = principal(false);
  return audited.router.call({ tool: 'echo', arguments: args, principal: { ...who, ref: { ...who.ref, runId: `${who.ref.runId}-${caller}` } }, via: 'bench' });
};
await report('gateway in-process + JetStream audit', await sample(auditedCall));

const uncached = await fabricWith(jetstreamAudit, true, 0);
await report('gateway in-process + audit + access check over NATS on every call', await sample(() => uncached.router.call({ tool: 'echo', arguments: args, principal: principal(true), via: 'bench' })));
const enforced = await fabricWith(jetstreamAudit, true);

// Over NATS: the path a workflow activity takes, on the bench's own nats-server so no other gateway answers.
const service = createToolGatewayService({ nc, tracer, logger, router: audited.router });
await service.start();
const kernel = createKernelClient(nc, tracer);
const natsCall = () => kernel.call(contracts.toolGateway.call, { ref: { tenant: 'bench', jobId: 'bench-job', runId: `bench-${id}`, agentId: 'bench' }, tool: 'echo', argumentsJson: JSON.stringify(args) });
await report('NATS request/reply → gateway + audit, no access (legacy caller)', await sample(natsCall));

// The workflow path since the activity sends governance and grants: the gateway enforces access (an allow is
// reused for 1 s per run/grants/tool, so a steady stream of calls pays the access round trip about once a second).
const enforcedService = createToolGatewayService({ nc, tracer, logger, router: enforced.router, subjectPrefix: `enforced${id}.` });
await enforcedService.start();
const enforcedKernel = createKernelClient(nc, tracer, { subjectPrefix: `enforced${id}.` });
const workflowRequest = {
  ref: { tenant: 'bench', jobId: 'bench-job', runId: `bench-${id}`, agentId: 'bench' },
  governance,
  grantedTools: ['echo'],
  tool: 'echo',
  argumentsJson: JSON.stringify(args),
};
const workflowCall = () => enforcedKernel.call(contracts.toolGateway.call, workflowRequest);
await report('NATS request/reply → gateway + audit + access (workflow path)', await sample(workflowCall));

// The endpoint always enforces access, so it is measured with the access responder.
const endpointEnforced = await startMcpEndpoint({
  router: enforced.router,
  logger,
  port: 0,
  tokens: [{ token: 'bench-token-0123456789', tenant: 'bench', jobId: 'bench-job', governance: { riskLevel: 'limited', dataCategories: [], humanOversight: 'none', approver: '' }, grantedTools: ['echo'] }],
});
const viaEndpoint = new Client({ name: 'bench-endpoint', version: '1' });
await viaEndpoint.connect(new StreamableHTTPClientTransport(new URL(endpointEnforced.url), { requestInit: { headers: { Authorization: 'Bearer bench-token-0123456789' } } }));
await report('kernel MCP endpoint (HTTP) + access + audit', await sample(() => viaEndpoint.callTool({ name: 'echo', arguments: args })));
// The same HTTP client straight to server-everything over Streamable HTTP would be the fair baseline for this row;
// stdio direct is used for every row, so this row's "added" includes HTTP + SSE framing.

const directTput = await throughput(directCall);
const bareTput = await throughput(() => bare.router.call({ tool: 'echo', arguments: args, principal: principal(false), via: 'bench' }));
const inProcessTput = await throughput(auditedCallAsRun);
await jetstreamAudit.flush();
const natsTput = await throughput(natsCall);
await jetstreamAudit.flush();
const workflowTput = await throughput(workflowCall);

// The gateway as deployed: services/tool-gateway/src/main.ts as its own process (started by @kernos/launcher) on
// the bench's nats-server, with the same server-everything spec, access enforced through the responder above and
// audit to the kernel's JetStream stream. The in-process services answer the same subject, so they stop first, and
// the throughput runs' audit backlog is flushed so it does not compete with this row.
await service.stop();
await enforcedService.stop();
await jetstreamAudit.flush();
const deployedLogs = await mkdtemp(join(tmpdir(), 'tool-gateway-bench-logs-'));
const deployed = await startKernel({
  env: {
    KERNOS_NATS_URL: `nats://127.0.0.1:${natsPort}`,
    KERNOS_TOOL_SERVERS: JSON.stringify([server]),
    KERNOS_TOOL_KERNEL_TOOLS: 'off',
    KERNOS_HEALTH_PORT: undefined,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  },
  only: ['tool-gateway'],
  logDir: deployedLogs,
});
const deployedCall = () => kernel.call(contracts.toolGateway.call, workflowRequest);
await report('NATS request/reply → gateway as its own process + audit + access (as deployed)', await sample(deployedCall));
const deployedTput = await throughput(deployedCall);
await deployed.stop();
await rm(deployedLogs, { recursive: true, force: true });

const [base] = rows;
const baseP50 = pct(base?.sorted ?? [], 50);
const baseP99 = pct(base?.sorted ?? [], 99);
const f = (ms: number) => ms.toFixed(3);
console.log(`tools/call echo, ${calls} sequential calls per row after ${warmup} warm-up; Node ${process.version}; ${new Date().toISOString()}`);
console.log('| path | p50 ms | p99 ms | added p50 ms | added p99 ms |');
console.log('|---|---|---|---|---|');
for (const row of rows) {
  const p50 = pct(row.sorted, 50);
  const p99 = pct(row.sorted, 99);
  console.log(`| ${row.path} | ${f(p50)} | ${f(p99)} | ${row === base ? '-' : f(p50 - baseP50)} | ${row === base ? '-' : f(p99 - baseP99)} |`);
}
console.log(`\ncalls/second, ${concurrency} concurrent callers for ${seconds} s:`);
console.log(`| direct | ${directTput.toFixed(0)} |\n| gateway in-process, no audit | ${bareTput.toFixed(0)} |\n| gateway in-process + audit | ${inProcessTput.toFixed(0)} |\n| NATS → gateway + audit | ${natsTput.toFixed(0)} |\n| NATS → gateway + audit + access (workflow path) | ${workflowTput.toFixed(0)} |\n| NATS → gateway as its own process + audit + access | ${deployedTput.toFixed(0)} |`);

await jetstreamAudit.flush();
await endpointEnforced.close();
await viaEndpoint.close().catch(() => undefined);
await Promise.all([bare, audited, uncached, enforced].map((fabric) => fabric.gateway.close()));
await direct.close();
await (await jetstreamManager(nc)).streams.delete(auditStream).catch(() => undefined);
await nc.drain();
natsServer.kill('SIGTERM');
await once(natsServer, 'exit');
await rm(natsDir, { recursive: true, force: true });

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}
