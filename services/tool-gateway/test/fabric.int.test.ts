import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuditPublisher, ensureAuditStream, queryAudit } from '@kernos/audit';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, createLogger, type NatsConnection } from '@kernos/service-kit';
import { access, audit as auditWire, contracts, create, fromBinary, toBinary, toolGateway } from '@kernos/wire';
import { handleCall } from '../src/handlers/call.js';
import { handleList } from '../src/handlers/list.js';
import {
  createJetStreamAuditSink,
  createMemoryAuditSink,
  createNatsAccessPolicy,
  createToolFabric,
  defaultToolServers,
  loadToolGatewayConfig,
  type AuditSink,
  type Principal,
  type RoutedCallError,
  type ToolFabric,
} from '../src/index.js';

// Real servers only: nats-server with JetStream (global setup), our v2-SDK MCP server (three instances, so that
// breakers and retries of one test do not leak into another) and the pinned server-everything.
const natsUrl = process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const v2Entry = fileURLToPath(new URL('./fixtures/v2-server.mjs', import.meta.url));
const everything = defaultToolServers({ nodeExecutable: process.execPath })[0];
const id = randomUUID().slice(0, 8);
const accessSubject = `test.${id}.access.check`;
const auditStream = `TG_AUDIT_${id}`;
const auditPrefix = `test.tgaudit${id}`;
const logger = createLogger('tool-gateway', () => undefined);
const tracer = trace.getTracer('test');

const memory = createMemoryAuditSink();
let nc: NatsConnection;
let fabric: ToolFabric;
let jetstreamAudit: AuditSink;

const governance = { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' };
/** Each test acts as its own agent, so the per-agent rate limit of one test does not touch another. */
const principal = (agentId: string, grantedTools: string[] = [], enforceAccess = false): Principal => ({
  ref: { tenant: 'acme', jobId: `job-${agentId}`, runId: `run-${id}-${agentId}`, agentId },
  governance,
  grantedTools,
  enforceAccess,
});

async function failureOf(call: Promise<unknown>): Promise<RoutedCallError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(KernosError);
  return error as RoutedCallError;
}

/** How often the fixture's tool bodies ran, and how many calls it saw cancelled. */
async function serverCounts(server: string): Promise<{ runs: Record<string, number>; cancelled: Record<string, number> }> {
  const { result } = await fabric.router.call({ tool: `${server}.runs`, arguments: {}, principal: principal('counts'), via: 'test' });
  return JSON.parse(result.text) as { runs: Record<string, number>; cancelled: Record<string, number> };
}

beforeAll(async () => {
  nc = await connectNats({ url: natsUrl, name: 'tool-gateway-fabric-test' });
  // services/access stand-in on a private subject, with the foundation's rule for tool.call (granted or denied).
  nc.subscribe(accessSubject, {
    callback: (_error, msg) => {
      const request = fromBinary(access.CheckRequestSchema, msg.data);
      const granted = request.grantedTools.includes(request.resource);
      const reply = create(access.CheckReplySchema, {
        decision: granted ? access.Decision.ALLOW : access.Decision.DENY,
        reason: granted ? '' : `tool "${request.resource}" is not granted to job ${request.ref?.jobId ?? '?'}`,
        rule: granted ? 'tool-granted' : 'tool-not-granted',
      });
      msg.respond(toBinary(access.CheckReplySchema, reply));
    },
  });
  await ensureAuditStream(await jetstreamManager(nc), { name: auditStream, subjectPrefix: auditPrefix, storage: 'memory', retention: { maxAgeMs: 10 * 60_000 } });
  jetstreamAudit = createJetStreamAuditSink({ publisher: createAuditPublisher(jetstream(nc), { stream: auditStream, subjectPrefix: auditPrefix }), logger });

  const v2 = (name: string, trusted: boolean) => ({ name, transport: 'stdio', command: process.execPath, args: [v2Entry], trusted });
  const config = loadToolGatewayConfig({
    KERNOS_TOOL_TIMEOUT_MS: '500',
    KERNOS_TOOL_SERVERS: JSON.stringify([v2('v2', true), v2('v2u', false), v2('v2b', true), everything]),
    KERNOS_TOOL_POLICY: JSON.stringify({
      breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_500 },
      retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 },
      rateLimits: { perTool: { 'v2u.echo': { ratePerSecond: 0.001, burst: 2 } }, perAgent: { ratePerSecond: 0.001, burst: 25 } },
    }),
    KERNOS_TOOL_CAPABILITIES: JSON.stringify({ lookup: ['v2b.echo', 'v2.echo'], answer: ['v2.fail', 'v2.echo'] }),
  });
  fabric = createToolFabric({
    servers: config.KERNOS_TOOL_SERVERS,
    timeoutMs: config.KERNOS_TOOL_TIMEOUT_MS,
    connectTimeoutMs: 20_000,
    policy: config.KERNOS_TOOL_POLICY,
    capabilities: config.KERNOS_TOOL_CAPABILITIES,
    tracer,
    logger,
    access: createNatsAccessPolicy(createKernelClient(nc, tracer), { contract: { ...contracts.access.check, subject: accessSubject } }),
    audit: {
      record: (entry) => {
        memory.record(entry);
        jetstreamAudit.record(entry);
      },
      flush: () => jetstreamAudit.flush(),
    },
  });
  await fabric.gateway.connect();
}, 30_000);

afterAll(async () => {
  await fabric?.gateway.close();
  await jetstreamAudit?.flush();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(auditStream).catch(() => undefined);
  await nc?.drain();
});

describe('retries: only when the call provably did not run, or an idempotent tool on a trusted server', () => {
  it('retries an idempotent tool on a trusted server after a timeout, and says so in the attempts', async () => {
    const { result, attempts } = await fabric.router.call({ tool: 'v2.hang_idempotent', arguments: { key: 'r1', hangTimes: 1 }, principal: principal('retry-1'), via: 'test' });
    expect(result.text).toBe('hang_idempotent ran 2 times for r1');
    expect(attempts.map((a) => [a.decision, a.outcome, a.errorCode])).toEqual([
      ['call', 'failed', 'timeout'],
      ['retry', 'ok', undefined],
    ]);
  });

  it('does not retry the same tool on an untrusted server; the caller is told it may', async () => {
    const error = await failureOf(fabric.router.call({ tool: 'v2u.hang_idempotent', arguments: { key: 'r2', hangTimes: 1 }, principal: principal('retry-2'), via: 'test' }));
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('did not answer within 500 ms');
    expect(error.attempts).toHaveLength(1);
    expect((await serverCounts('v2u')).runs['hang_idempotent:r2']).toBe(1);
  });

  it('does not retry a tool that is not idempotent, even on a trusted server, and says it is not safe to', async () => {
    const error = await failureOf(fabric.router.call({ tool: 'v2.hang_write', arguments: { key: 'r3', hangTimes: 1 }, principal: principal('retry-3'), via: 'test' }));
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(false);
    expect((await serverCounts('v2')).runs['hang_write:r3']).toBe(1);
  });

  it("never retries a tool's own error result, even for an idempotent tool on a trusted server", async () => {
    const { result, attempts } = await fabric.router.call({ tool: 'v2.fail', arguments: { key: 'r4' }, principal: principal('retry-4'), via: 'test' });
    expect(result.isError).toBe(true);
    expect(result.text).toBe('fail: nothing found for r4');
    expect(attempts).toEqual([expect.objectContaining({ outcome: 'tool_error', errorCode: 'tool_error', decision: 'call' })]);
    expect((await serverCounts('v2')).runs['fail:r4']).toBe(1);
  });
});

describe('circuit breakers per server and per tool, and capability cascades', () => {
  it('opens after consecutive failures, refuses without calling, cascades to the next tool, and half-opens later', async () => {
    // slow is read-only on a trusted server, so its timeout is retried; the second timeout opens the breakers
    // (2 consecutive failures), and the third attempt is refused by them without being sent.
    const error = await failureOf(fabric.router.call({ tool: 'v2b.slow', arguments: { ms: 5_000, key: 'b1' }, principal: principal('breaker-1'), via: 'test' }));
    expect(error.attempts.map((a) => [a.decision, a.outcome, a.errorCode])).toEqual([
      ['call', 'failed', 'timeout'],
      ['retry', 'failed', 'timeout'],
      ['retry', 'skipped', 'unavailable'],
    ]);
    expect(error.code).toBe('unavailable');
    expect(fabric.resilience.breakerStates()).toMatchObject({ 'server:v2b': 'open', 'tool:v2b.slow': 'open' });

    // The server breaker refuses every tool of v2b without sending anything ("skipped" is only ever an unsent attempt).
    const refused = await failureOf(fabric.router.call({ tool: 'v2b.echo', arguments: { message: 'x' }, principal: principal('breaker-3'), via: 'test' }));
    expect(refused.code).toBe('unavailable');
    expect(refused.retryable).toBe(true);
    expect(refused.message).toContain('circuit breaker is open');
    expect(refused.attempts).toEqual([expect.objectContaining({ outcome: 'skipped', errorCode: 'unavailable' })]);

    // The capability falls through to its next tool, and records why.
    const cascade = await fabric.router.call({ capability: 'lookup', arguments: { message: 'via cascade' }, principal: principal('breaker-4'), via: 'test' });
    expect(cascade.result.tool.name).toBe('v2.echo');
    expect(cascade.result.structuredContent).toEqual({ echo: 'via cascade' });
    expect(cascade.attempts.map((a) => [a.tool, a.decision, a.outcome])).toEqual([
      ['v2b.echo', 'call', 'skipped'],
      ['v2.echo', 'cascade', 'ok'],
    ]);
    const recorded = memory.records.filter((r) => r.cascadeId === cascade.cascadeId);
    expect(recorded.map((r) => [r.tool, r.server, r.capability, r.outcome, r.decision])).toEqual([
      ['v2b.echo', 'v2b', 'lookup', 'skipped', 'call'],
      ['v2.echo', 'v2', 'lookup', 'ok', 'cascade'],
    ]);

    // After halfOpenAfterMs one test call goes through; it succeeds, so the breakers close.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    const back = await fabric.router.call({ tool: 'v2b.echo', arguments: { message: 'back' }, principal: principal('breaker-5'), via: 'test' });
    expect(back.result.text).toBe('back');
    expect(fabric.resilience.breakerStates()).toMatchObject({ 'server:v2b': 'closed' });
  });

  it("cascades past a cheaper tool's own error result to the next tool", async () => {
    const { result, attempts } = await fabric.router.call({ capability: 'answer', arguments: { message: 'second opinion' }, principal: principal('cascade-2'), via: 'test' });
    expect(result.text).toBe('second opinion');
    expect(attempts.map((a) => [a.tool, a.outcome])).toEqual([
      ['v2.fail', 'tool_error'],
      ['v2.echo', 'ok'],
    ]);
  });

  it('names an unknown capability', async () => {
    const error = await failureOf(fabric.router.call({ capability: 'nope', arguments: {}, principal: principal('cascade-3'), via: 'test' }));
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toContain('unknown capability "nope"; known: lookup, answer');
  });
});

describe('rate limits per tool and per agent', () => {
  it('refuses a tool over its rate with rate_limited and the wait, without calling it', async () => {
    const call = () => fabric.router.call({ tool: 'v2u.echo', arguments: { message: 'x' }, principal: principal('rate-1'), via: 'test' });
    await call();
    await call();
    const error = await failureOf(call());
    expect(error.code).toBe('rate_limited');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/tool "v2u.echo" is over its rate limit; try again in \d+ ms/);
    expect(error.attempts).toEqual([expect.objectContaining({ outcome: 'skipped', errorCode: 'rate_limited' })]);
  });

  it('refuses an agent over its rate, while another agent goes on', async () => {
    for (let i = 0; i < 25; i++) await fabric.router.call({ tool: 'v2.echo', arguments: { message: `${i}` }, principal: principal('greedy'), via: 'test' });
    const error = await failureOf(fabric.router.call({ tool: 'v2.echo', arguments: { message: 'one more' }, principal: principal('greedy'), via: 'test' }));
    expect(error.code).toBe('rate_limited');
    expect(error.message).toContain('agent "greedy" is over its tool-call rate');
    expect((await fabric.router.call({ tool: 'v2.echo', arguments: { message: 'fine' }, principal: principal('modest'), via: 'test' })).result.text).toBe('fine');
  });
});

describe('over the NATS handler: progress, cancellation, the caller deadline, wire errors', () => {
  const span = () => tracer.startSpan('test');
  const call = (init: Parameters<typeof create<typeof toolGateway.CallRequestSchema>>[1]) =>
    handleCall({ router: fabric.router, nc, logger }, create(toolGateway.CallRequestSchema, init), { span: span() });

  it('publishes MCP progress on the progress subject (server-everything)', async () => {
    const subject = `test.${id}.progress`;
    const seen: toolGateway.CallProgress[] = [];
    const sub = nc.subscribe(subject, { callback: (_e, msg) => void seen.push(fromBinary(toolGateway.CallProgressSchema, msg.data)) });
    const reply = await call({ ref: { agentId: 'progress-1' }, tool: 'trigger-long-running-operation', argumentsJson: '{"duration":0.3,"steps":3}', progressSubject: subject });
    expect(reply.text).toContain('Long running operation completed');
    // The last step's notification may race the result (the SDK drops progress for a finished request).
    await vi.waitFor(() => expect(seen.map((p) => p.progress).slice(0, 2)).toEqual([1, 2]));
    expect(seen[0]).toMatchObject({ tool: 'trigger-long-running-operation', total: 3 });
    sub.unsubscribe();
  });

  it('cancels on a message to the cancel subject, and the MCP server is told (notifications/cancelled)', async () => {
    const cancelSubject = `test.${id}.cancel`;
    const pending = call({ ref: { agentId: 'cancel-1' }, tool: 'v2.slow', argumentsJson: '{"ms":3000,"key":"c1","steps":30}', cancelSubject });
    await vi.waitFor(async () => expect((await serverCounts('v2')).runs['slow:c1']).toBe(1));
    nc.publish(cancelSubject);
    const error = await failureOf(pending);
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('was cancelled: the caller cancelled the call');
    await vi.waitFor(async () => expect((await serverCounts('v2')).cancelled.c1).toBe(1));
  });

  it("bounds the call by the caller's deadline and cancels it on the server", async () => {
    const error = await failureOf(call({ ref: { agentId: 'cancel-2' }, tool: 'v2.slow', argumentsJson: '{"ms":3000,"key":"c2","steps":30}', timeoutMs: 200 }));
    expect(error.code).toBe('timeout');
    expect(error.message).toContain("the caller's deadline of 200 ms passed");
    await vi.waitFor(async () => expect((await serverCounts('v2')).cancelled.c2).toBe(1));
  });

  it('returns structured output and the attempts; folds errors into the six codes on the wire', async () => {
    const reply = await call({ ref: { agentId: 'wire-1' }, tool: 'get-structured-content', argumentsJson: '{"location":"New York"}' });
    expect(JSON.parse(reply.structuredContentJson ?? '')).toMatchObject({ temperature: expect.any(Number) });
    expect(reply.cascadeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(reply.attempts).toHaveLength(1);
    expect(reply.errorCode).toBe(toolGateway.ToolErrorCode.UNSPECIFIED);

    const failed = await call({ ref: { agentId: 'wire-1' }, tool: 'v2.fail', argumentsJson: '{}' });
    expect(failed.isError).toBe(true);
    expect(failed.errorCode).toBe(toolGateway.ToolErrorCode.TOOL_ERROR);

    const unknown = await failureOf(call({ ref: { agentId: 'wire-1' }, tool: 'no-such-tool', argumentsJson: '{}' }));
    expect(unknown.code).toBe('invalid_argument');
  });
});

describe('policy from services/access', () => {
  it('filters the catalog to what access allows the job, capabilities included', async () => {
    const reply = await handleList(fabric.router, create(toolGateway.ListRequestSchema, { ref: { jobId: 'job-acl' }, governance, grantedTools: ['v2.echo', 'echo'] }));
    // echo is offered by four servers, so only qualified names exist and the bare grant "echo" matches nothing.
    expect(reply.tools?.map((t) => t.name)).toEqual(['v2.echo']);
    expect(JSON.parse(reply.tools?.[0]?.annotationsJson ?? '{}')).toEqual({ readOnlyHint: true });
    expect(reply.capabilities?.map((c) => c.name).sort()).toEqual(['answer', 'lookup']);
    const all = await handleList(fabric.router, create(toolGateway.ListRequestSchema, {}));
    expect(all.tools?.length).toBeGreaterThan(20);
  });

  it('denies a call the job is not granted when the request carries grants, and records the attempt', async () => {
    const error = await failureOf(fabric.router.call({ tool: 'v2.runs', arguments: {}, principal: principal('acl-2', ['v2.echo'], true), via: 'test' }));
    expect(error.code).toBe('denied');
    expect(error.message).toContain('tool "v2.runs" is not granted to job job-acl-2');
    expect(memory.records.find((r) => r.cascadeId === error.cascadeId)).toMatchObject({ outcome: 'skipped', errorCode: 'denied', access: 'deny' });
    const ok = await fabric.router.call({ tool: 'v2.echo', arguments: { message: 'granted' }, principal: principal('acl-2', ['v2.echo'], true), via: 'test' });
    expect(ok.attempts[0]).toMatchObject({ outcome: 'ok' });
  });
});

describe('audit: one record per attempt in the JetStream audit stream, chained per run', () => {
  it('writes each attempt with job, run, agent, tool, server, argument digest, outcome, latency, decision and cascade id', async () => {
    const args = { key: 'a1', hangTimes: 1 };
    const who = principal('audit-1');
    const { cascadeId } = await fabric.router.call({ tool: 'v2.hang_idempotent', arguments: args, principal: who, via: 'test' });
    await jetstreamAudit.flush();
    const stored = await queryAudit(jetstream(nc), { tenant: 'acme', jobId: who.ref.jobId, runId: who.ref.runId }, { stream: auditStream, subjectPrefix: auditPrefix });
    expect(stored).toHaveLength(2);
    const [first, second] = stored.map((s) => s.record);
    expect(first).toMatchObject({ kind: auditWire.Kind.TOOL_ATTEMPT, service: 'tool-gateway', action: 'tool.call', resource: 'v2.hang_idempotent', outcome: 'failed', seq: 1n });
    expect(first?.ref).toMatchObject({ tenant: 'acme', jobId: 'job-audit-1', runId: who.ref.runId, agentId: 'audit-1' });
    expect(first?.governance?.riskLevel).toBe('limited');
    expect(second).toMatchObject({ outcome: 'ok', seq: 2n, prevHash: first?.hash });
    const detail = JSON.parse(second?.detailJson ?? '{}') as Record<string, unknown>;
    expect(detail).toMatchObject({
      server: 'v2',
      cascadeId,
      attempt: 2,
      decision: 'retry',
      argumentsDigest: createHash('sha256').update(JSON.stringify(args)).digest('hex'),
      latencyMs: expect.any(Number),
    });
    expect(JSON.parse(first?.detailJson ?? '{}')).toMatchObject({ errorCode: 'timeout', decision: 'call', attempt: 1 });
  });
});

describe('a call that provably did not run is retried whatever the tool', () => {
  it('retries a refused HTTP connection (nothing was sent), then the open breaker stops it', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const entry = everything?.transport === 'stdio' ? everything.args[0] : undefined;
    if (!entry) throw new Error('server-everything entry not found');
    const child = spawn(process.execPath, [entry, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await vi.waitFor(() => expect(stderr).toContain('listening on port'), { timeout: 15_000 });
    const remote = createToolFabric({
      servers: [{ name: 'remote', transport: 'http', url: `http://127.0.0.1:${port}/mcp`, trusted: false, protocol: 'legacy' }],
      timeoutMs: 2_000,
      policy: { breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 }, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 }, rateLimits: { perTool: {} } },
      tracer,
      logger,
      access: createNatsAccessPolicy(createKernelClient(nc, tracer), { contract: { ...contracts.access.check, subject: accessSubject } }),
      audit: memory,
    });
    try {
      await remote.gateway.connect();
      expect((await remote.router.call({ tool: 'echo', arguments: { message: 'up' }, principal: principal('refused-1'), via: 'test' })).result.text).toContain('up');
      child.kill('SIGKILL');
      await once(child, 'exit');
      // The server is not trusted, so its hints count for nothing: the retries happen because the connection was refused.
      const error = await failureOf(remote.router.call({ tool: 'get-sum', arguments: { a: 1, b: 2 }, principal: principal('refused-1'), via: 'test' }));
      expect(error.code).toBe('unavailable');
      expect(error.attempts.map((a) => [a.decision, a.outcome])).toEqual([
        ['call', 'failed'],
        ['retry', 'failed'],
        ['retry', 'skipped'],
      ]);
    } finally {
      await remote.gateway.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
