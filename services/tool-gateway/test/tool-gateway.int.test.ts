import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { setupTelemetry, type Telemetry } from '@kernos/telemetry';
import { contracts } from '@kernos/wire';
import { allowEverything, createMemoryAuditSink, createToolFabric, createToolGateway, createToolGatewayService, defaultToolServers, loadToolGatewayConfig, type ToolGateway } from '../src/index.js';

// Real servers only: nats-server (from the global setup) and the pinned @modelcontextprotocol/server-everything.
const natsUrl = process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const everythingEntry = (() => {
  const [server] = defaultToolServers();
  if (server?.transport !== 'stdio' || !server.args[0]) throw new Error('the default server should be server-everything over stdio');
  return server.args[0];
})();

const exporter = new InMemorySpanExporter();
const logs: string[] = [];
const logger = createLogger('tool-gateway', (line) => logs.push(line));
let telemetry: Telemetry;

beforeAll(() => {
  telemetry = setupTelemetry({ serviceName: 'tool-gateway', exporters: [exporter] });
});

afterAll(async () => {
  await telemetry.shutdown();
});

/** The rejection of a kernel call, as a KernosError (fails the test if the call succeeded). */
async function rejectionOf(call: Promise<unknown>): Promise<KernosError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(KernosError);
  return error as KernosError;
}

/** Pids of server-everything processes that this test process started. */
function everythingChildren(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => line.includes(everythingEntry))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('tool-gateway over NATS with server-everything over stdio', () => {
  let nc: NatsConnection;
  let gateway: ToolGateway;
  let service: { start(): Promise<void>; stop(): Promise<void> };
  let client: KernelClient;

  beforeAll(async () => {
    // The default configuration, as main.ts builds it, with a short timeout so the timeout test is quick.
    const config = loadToolGatewayConfig({ KERNOS_NATS_URL: natsUrl, KERNOS_TOOL_TIMEOUT_MS: '2000' }, { nodeExecutable: process.execPath });
    nc = await connectNats({ url: config.KERNOS_NATS_URL, name: 'tool-gateway-int-test' });
    const fabric = createToolFabric({
      servers: config.KERNOS_TOOL_SERVERS,
      timeoutMs: config.KERNOS_TOOL_TIMEOUT_MS,
      policy: config.KERNOS_TOOL_POLICY,
      tracer: telemetry.tracer,
      logger,
      access: allowEverything,
      audit: createMemoryAuditSink(),
    });
    gateway = fabric.gateway;
    await gateway.connect();
    // A private subject prefix: other gateways on the shared NATS (other suites, a running kernel) must not answer.
    const subjectPrefix = `test${randomUUID().slice(0, 8)}.`;
    service = createToolGatewayService({ nc, tracer: telemetry.tracer, logger, router: fabric.router, subjectPrefix });
    await service.start();
    client = createKernelClient(nc, trace.getTracer('test'), { subjectPrefix });
  });

  afterAll(async () => {
    await service?.stop();
    await nc?.drain();
    await gateway?.close();
  });

  it('lists the tools of server-everything, echo among them', async () => {
    const reply = await client.call(contracts.toolGateway.list, {});
    const echo = reply.tools.find((tool) => tool.name === 'echo');
    expect(echo).toBeDefined();
    expect(echo?.server).toBe('everything');
    expect(echo?.description).toMatch(/echo/i);
    expect(JSON.parse(echo?.inputSchemaJson ?? '{}')).toMatchObject({ type: 'object', required: ['message'] });
    expect(reply.tools.map((tool) => tool.name)).toContain('get-sum');
  });

  it('calls echo and returns its text and content', async () => {
    const reply = await client.call(contracts.toolGateway.call, { ref: { jobId: 'job-1', runId: 'run-1' }, tool: 'echo', argumentsJson: JSON.stringify({ message: 'hi' }) });
    expect(reply.text).toContain('hi');
    expect(reply.server).toBe('everything');
    expect(reply.tool).toBe('echo');
    expect(reply.isError).toBe(false);
    expect(JSON.parse(reply.contentJson)).toEqual([{ type: 'text', text: reply.text }]);
    expect(reply.latencyMs).toBeGreaterThanOrEqual(0n);
  });

  it('accepts server.tool even when the name does not clash', async () => {
    const reply = await client.call(contracts.toolGateway.call, { tool: 'everything.get-sum', argumentsJson: '{"a":2,"b":3}' });
    expect(reply.text).toContain('5');
  });

  it('answers an unknown tool with invalid_arguments (the normalised not_found), naming it and offering known ones', async () => {
    const error = await rejectionOf(client.call(contracts.toolGateway.call, { tool: 'ehco', argumentsJson: '{"message":"hi"}' }));
    expect(error.code).toBe('invalid_argument');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('"ehco"');
    expect(error.message).toMatch(/known tools include: echo/);
  });

  it('rejects arguments that break the input schema before calling, naming the argument', async () => {
    const missing = await rejectionOf(client.call(contracts.toolGateway.call, { tool: 'echo', argumentsJson: '{}' }));
    expect(missing.code).toBe('invalid_argument');
    expect(missing.retryable).toBe(false);
    expect(missing.message).toContain('missing required argument "message"');

    const wrongType = await rejectionOf(client.call(contracts.toolGateway.call, { tool: 'get-sum', argumentsJson: '{"a":"two","b":3}' }));
    expect(wrongType.code).toBe('invalid_argument');
    expect(wrongType.message).toContain('argument "a" must be of type number');
  });

  it('rejects arguments_json that is not a JSON object', async () => {
    const error = await rejectionOf(client.call(contracts.toolGateway.call, { tool: 'echo', argumentsJson: '{message:' }));
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toMatch(/^arguments_json is not valid JSON/);
  });

  it("returns a tool's own error result as a reply with is_error, not as a failure", async () => {
    // get-resource-reference accepts any number by schema, then fails inside the tool for ids below 1.
    const reply = await client.call(contracts.toolGateway.call, { tool: 'get-resource-reference', argumentsJson: '{"resourceId":0}' });
    expect(reply.isError).toBe(true);
    expect(reply.text).toContain('Invalid resourceId: 0');
    expect(reply.server).toBe('everything');
  });

  it('times out a call that takes longer than KERNOS_TOOL_TIMEOUT_MS, and the server keeps working', async () => {
    const error = await rejectionOf(
      client.call(contracts.toolGateway.call, { tool: 'trigger-long-running-operation', argumentsJson: '{"duration":5,"steps":1}' }, { timeoutMs: 10_000 }),
    );
    expect(error.code).toBe('timeout');
    // The tool declares itself read-only, so repeating it is safe.
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('2000 ms');
    const reply = await client.call(contracts.toolGateway.call, { tool: 'echo', argumentsJson: '{"message":"still here"}' });
    expect(reply.text).toContain('still here');
  });

  it("continues the caller's trace: the server span is the client span's child, the MCP span the server span's", async () => {
    exporter.reset();
    const tracer = trace.getTracer('test');
    const traceId = await tracer.startActiveSpan('agent turn', async (turn) => {
      await client.call(contracts.toolGateway.call, { tool: 'echo', argumentsJson: '{"message":"traced"}' });
      turn.end();
      return turn.spanContext().traceId;
    });
    const spans = (): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    // The service replies before it ends its span, so wait for the export.
    await vi.waitFor(() => expect(spans().find((s) => s.name === 'process kernos.tool-gateway.call')).toBeDefined());
    const clientSpan = spans().find((s) => s.name === 'send kernos.tool-gateway.call');
    const serverSpan = spans().find((s) => s.name === 'process kernos.tool-gateway.call');
    const mcpSpan = spans().find((s) => s.name === 'tools/call echo');
    expect(clientSpan?.kind).toBe(SpanKind.CLIENT);
    expect(serverSpan?.kind).toBe(SpanKind.SERVER);
    expect(serverSpan?.spanContext().traceId).toBe(clientSpan?.spanContext().traceId);
    expect(serverSpan?.parentSpanContext?.spanId).toBe(clientSpan?.spanContext().spanId);
    expect(serverSpan?.attributes['gen_ai.tool.name']).toBe('echo');

    expect(mcpSpan?.kind).toBe(SpanKind.CLIENT);
    expect(mcpSpan?.spanContext().traceId).toBe(clientSpan?.spanContext().traceId);
    expect(mcpSpan?.parentSpanContext?.spanId).toBe(serverSpan?.spanContext().spanId);
    expect(mcpSpan?.attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'echo', 'network.transport': 'pipe' });
  });

  it('marks the MCP span of a failed call with error.type', async () => {
    exporter.reset();
    await client.call(contracts.toolGateway.call, { tool: 'get-resource-reference', argumentsJson: '{"resourceId":0}' });
    const mcpSpan = exporter.getFinishedSpans().find((s) => s.name === 'tools/call get-resource-reference');
    expect(mcpSpan?.attributes['error.type']).toBe('tool_error');
  });

  it('reconnects lazily after the stdio server died', async () => {
    const [before] = everythingChildren();
    expect(before).toBeDefined();
    process.kill(before as number, 'SIGKILL');
    await vi.waitFor(() => expect(isAlive(before as number)).toBe(false));
    // Let the transport see the pipe close before the next call.
    await vi.waitFor(() => expect(logs.some((line) => line.includes('it will be reconnected on the next call'))).toBe(true));

    const reply = await client.call(contracts.toolGateway.call, { tool: 'echo', argumentsJson: '{"message":"back again"}' });
    expect(reply.text).toContain('back again');
    const after = everythingChildren();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
  });

  it('close() stops every stdio server it started', async () => {
    const children = everythingChildren();
    expect(children.length).toBeGreaterThan(0);
    await gateway.close();
    await vi.waitFor(() => expect(children.filter(isAlive)).toEqual([]));
    const error = await rejectionOf(client.call(contracts.toolGateway.call, { tool: 'echo', argumentsJson: '{"message":"late"}' }));
    expect(error.code).toBe('unavailable');
  });
});

describe('tool-gateway with a stdio and a Streamable HTTP server offering the same tools', () => {
  let httpServer: ChildProcess;
  let gateway: ToolGateway;

  beforeAll(async () => {
    const port = await freePort();
    httpServer = spawn(process.execPath, [everythingEntry, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    httpServer.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await vi.waitFor(() => expect(stderr).toContain('listening on port'), { timeout: 15_000 });
    const config = loadToolGatewayConfig(
      {
        KERNOS_TOOL_TIMEOUT_MS: '5000',
        KERNOS_TOOL_SERVERS: JSON.stringify([
          { name: 'local', transport: 'stdio', command: process.execPath, args: [everythingEntry, 'stdio'] },
          { name: 'remote', transport: 'http', url: `http://127.0.0.1:${port}/mcp` },
        ]),
      },
    );
    gateway = createToolGateway({ servers: config.KERNOS_TOOL_SERVERS, timeoutMs: config.KERNOS_TOOL_TIMEOUT_MS, tracer: telemetry.tracer, logger });
    await gateway.connect();
  });

  afterAll(async () => {
    await gateway?.close();
    // A process killed by a signal keeps exitCode null; signalCode says it is gone.
    if (httpServer && httpServer.exitCode === null && httpServer.signalCode === null) {
      httpServer.kill('SIGKILL');
      await once(httpServer, 'exit');
    }
  });

  it('qualifies clashing names as server.tool and refuses the bare name, listing the choices', async () => {
    const names = (await gateway.list()).map((tool) => tool.name);
    expect(names).toContain('local.echo');
    expect(names).toContain('remote.echo');
    expect(names).not.toContain('echo');
    const error = await rejectionOf(gateway.call({ tool: 'echo', arguments: { message: 'hi' } }));
    expect(error.code).toBe('not_found');
    expect(error.message).toContain('call one of: local.echo, remote.echo');
  });

  it('calls over Streamable HTTP and records the MCP session id', async () => {
    exporter.reset();
    const result = await gateway.call({ tool: 'remote.echo', arguments: { message: 'over http' } });
    expect(result.text).toContain('over http');
    expect(result.tool.server).toBe('remote');
    const span = exporter.getFinishedSpans().find((s) => s.name === 'tools/call echo');
    expect(span?.attributes['network.transport']).toBe('tcp');
    expect(span?.attributes['mcp.session.id']).toEqual(expect.any(String));
  });

  it('answers unavailable, retryable, when the HTTP server is gone', async () => {
    httpServer.kill('SIGKILL');
    await once(httpServer, 'exit');
    const error = await rejectionOf(gateway.call({ tool: 'remote.echo', arguments: { message: 'anyone?' } }));
    expect(error.code).toBe('unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('"remote"');
    // The other server is unaffected.
    expect((await gateway.call({ tool: 'local.echo', arguments: { message: 'fine' } })).text).toContain('fine');
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
