import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectNats, createKernelClient, createLogger, type NatsConnection } from '@kernos/service-kit';
import { access, contracts, create, fromBinary, toBinary } from '@kernos/wire';
import {
  createMemoryAuditSink,
  createNatsAccessPolicy,
  createToolFabric,
  defaultToolServers,
  errorMetaKey,
  mcpEndpointSchema,
  packageBin,
  startMcpEndpoint,
  type McpEndpoint,
  type ToolFabric,
} from '../src/index.js';

// The kernel's MCP endpoint, used by the official SDK client exactly as any MCP client would, in front of real
// servers from npm (server-everything, server-filesystem, server-memory) and our v2-SDK server.
const natsUrl = process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const id = randomUUID().slice(0, 8);
const accessSubject = `test.${id}.mcp-access.check`;
const tracer = trace.getTracer('test');
const logger = createLogger('tool-gateway', () => undefined);
const audit = createMemoryAuditSink();
const governance = { riskLevel: 'limited' as const, dataCategories: ['internal'], humanOversight: 'none' as const, approver: '' };
const writerToken = `writer-${randomUUID()}`;
const readerToken = `reader-${randomUUID()}`;

let nc: NatsConnection;
let fabric: ToolFabric;
let endpoint: McpEndpoint;
let dir: string;
const clients: Client[] = [];

async function connect(token: string | undefined): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint.url), token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {});
  const client = new Client({ name: 'any-mcp-client', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const textOf = (result: unknown): string => ((result as CallToolResult).content[0] as { text?: string } | undefined)?.text ?? '';

beforeAll(async () => {
  nc = await connectNats({ url: natsUrl, name: 'tool-gateway-mcp-endpoint-test' });
  nc.subscribe(accessSubject, {
    callback: (_error, msg) => {
      const request = fromBinary(access.CheckRequestSchema, msg.data);
      const granted = request.grantedTools.includes(request.resource);
      msg.respond(
        toBinary(
          access.CheckReplySchema,
          create(access.CheckReplySchema, {
            decision: granted ? access.Decision.ALLOW : access.Decision.DENY,
            reason: granted ? '' : `tool "${request.resource}" is not granted to job ${request.ref?.jobId ?? '?'}`,
            rule: granted ? 'tool-granted' : 'tool-not-granted',
          }),
        ),
      );
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'kernos-mcp-endpoint-'));
  const everything = defaultToolServers({ nodeExecutable: process.execPath })[0];
  if (!everything) throw new Error('no default server');
  fabric = createToolFabric({
    servers: [
      everything,
      // "auto": probe with server/discover (2026-07-28) and fall back to initialize; fs is a 1.x-SDK server.
      { name: 'fs', transport: 'stdio', command: process.execPath, args: [packageBin('@modelcontextprotocol/server-filesystem'), dir], trusted: true, protocol: 'auto' },
      { name: 'memory', transport: 'stdio', command: process.execPath, args: [packageBin('@modelcontextprotocol/server-memory')], env: { MEMORY_FILE_PATH: join(dir, 'memory.jsonl') }, trusted: true, protocol: 'legacy' },
      // Our v2-SDK server answers the probe, so this connection speaks 2026-07-28.
      { name: 'v2', transport: 'stdio', command: process.execPath, args: [fileURLToPath(new URL('./fixtures/v2-server.mjs', import.meta.url))], trusted: true, protocol: 'auto' },
    ],
    timeoutMs: 5_000,
    connectTimeoutMs: 20_000,
    capabilities: { remember: ['create_entities'] },
    tracer,
    logger,
    access: createNatsAccessPolicy(createKernelClient(nc, tracer), { contract: { ...contracts.access.check, subject: accessSubject } }),
    audit,
  });
  await fabric.gateway.connect();
  // The tokens as an operator writes them in KERNOS_TOOL_MCP_ENDPOINT, through the same schema.
  const config = mcpEndpointSchema.parse({
    port: 0,
    tokens: [
      {
        token: writerToken,
        tenant: 'acme',
        jobId: 'job-writer',
        governance,
        grantedTools: ['write_file', 'read_text_file', 'trigger-long-running-operation', 'slow', 'create_entities', 'read_graph', 'remember', 'get-structured-content'],
      },
      { token: readerToken, tenant: 'acme', jobId: 'job-reader', agentId: 'reader-agent', governance, grantedTools: ['read_text_file'] },
    ],
  });
  endpoint = await startMcpEndpoint({ ...config, router: fabric.router, logger });
}, 40_000);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await endpoint?.close();
  await fabric?.gateway.close();
  await nc?.drain();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('protocol negotiation (probe, cache, fall back)', () => {
  it('speaks 2026-07-28 to the v2-SDK server and falls back to the 2025 era for a 1.x server', async () => {
    const status = fabric.gateway.status();
    expect(status.v2).toMatchObject({ state: 'up', era: 'modern', protocolVersion: '2026-07-28' });
    expect(status.fs).toMatchObject({ state: 'up', era: 'legacy' });
    expect(status.memory).toMatchObject({ state: 'up', era: 'legacy' });
  });
});

describe('the kernel MCP endpoint, used by an unchanged MCP client', () => {
  it('refuses a client without a valid bearer token', async () => {
    await expect(connect(undefined)).rejects.toThrow();
    await expect(connect('not-a-known-token-at-all')).rejects.toThrow();
    const response = await fetch(endpoint.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
  });

  it("lists only the tools the token's job may call, with the servers' annotations (server-filesystem readOnly/destructive)", async () => {
    const writer = await connect(writerToken);
    const { tools } = await writer.listTools();
    const names = tools.map((t) => t.name).sort();
    expect(names).toEqual(['create_entities', 'get-structured-content', 'read_graph', 'read_text_file', 'remember', 'slow', 'trigger-long-running-operation', 'write_file']);
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect(byName.get('read_text_file')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.get('write_file')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
    expect(byName.get('remember')?.description).toContain('Capability: tries create_entities');

    const reader = await connect(readerToken);
    expect((await reader.listTools()).tools.map((t) => t.name)).toEqual(['read_text_file']);
  });

  it('calls through the same policy: allowed calls run, others are denied as tool errors with the code', async () => {
    const writer = await connect(writerToken);
    const path = join(dir, 'note.txt');
    const written = await writer.callTool({ name: 'write_file', arguments: { path, content: 'kernos was here' } });
    expect(written.isError).toBeFalsy();
    expect(await readFile(path, 'utf8')).toBe('kernos was here');

    const reader = await connect(readerToken);
    expect(textOf(await reader.callTool({ name: 'read_text_file', arguments: { path } }))).toBe('kernos was here');
    const denied = await reader.callTool({ name: 'write_file', arguments: { path, content: 'overwritten' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toContain('denied: tool "write_file" is not granted to job job-reader');
    expect(denied._meta?.[errorMetaKey]).toMatchObject({ code: 'denied', retryable: false });
    expect(await readFile(path, 'utf8')).toBe('kernos was here');

    const invalid = await reader.callTool({ name: 'read_text_file', arguments: { file: path } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toContain('invalid_arguments: invalid arguments for tool "read_text_file": missing required argument "path"');
  });

  it('audits every attempt with the job of the token', async () => {
    const reader = await connect(readerToken);
    await reader.callTool({ name: 'read_text_file', arguments: { path: join(dir, 'missing.txt') } });
    const records = audit.records.filter((r) => r.via === 'mcp' && r.ref.jobId === 'job-reader');
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(records.at(-1)).toMatchObject({ tool: 'read_text_file', server: 'fs', ref: { tenant: 'acme', agentId: 'reader-agent' }, outcome: 'tool_error', access: 'allow' });
    expect(records.find((r) => r.errorCode === 'denied')).toMatchObject({ tool: 'write_file', outcome: 'skipped', access: 'deny' });
  });

  it('passes progress through to the client (server-everything) and returns structured output', async () => {
    const writer = await connect(writerToken);
    const progress: number[] = [];
    const result = await writer.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } }, undefined, { onprogress: (p) => progress.push(p.progress) });
    expect(textOf(result)).toContain('Long running operation completed');
    expect(progress.slice(0, 2)).toEqual([1, 2]);
    // The client checks structuredContent against the outputSchema the endpoint passed on.
    const structured = await writer.callTool({ name: 'get-structured-content', arguments: { location: 'Chicago' } });
    expect(structured.structuredContent).toMatchObject({ temperature: expect.any(Number) });
  });

  it("passes the client's cancellation through to the tool server", async () => {
    const writer = await connect(writerToken);
    const controller = new AbortController();
    const pending = writer.callTool({ name: 'slow', arguments: { ms: 4_000, key: 'mcp-cancel', steps: 40 } }, undefined, { signal: controller.signal });
    // Wait until the call runs on the v2 server, then cancel it like any MCP client does.
    await vi.waitFor(async () => {
      const { result } = await fabric.router.call({ tool: 'v2.runs', arguments: {}, principal: { ref: { tenant: '', jobId: 'probe', runId: '', agentId: 'probe' }, grantedTools: [], enforceAccess: false }, via: 'test' });
      expect(result.text).toContain('slow:mcp-cancel');
    });
    controller.abort();
    await expect(pending).rejects.toThrow();
    await vi.waitFor(async () => {
      const { result } = await fabric.router.call({ tool: 'v2.runs', arguments: {}, principal: { ref: { tenant: '', jobId: 'probe', runId: '', agentId: 'probe' }, grantedTools: [], enforceAccess: false }, via: 'test' });
      expect(JSON.parse(result.text)).toMatchObject({ cancelled: { 'mcp-cancel': 1 } });
    });
  });

  it('routes a capability offered as a tool, and server-memory keeps what it was told', async () => {
    const writer = await connect(writerToken);
    const created = await writer.callTool({ name: 'remember', arguments: { entities: [{ name: 'kernos', entityType: 'project', observations: ['routes tools'] }] } });
    expect(created.isError).toBeFalsy();
    expect(created._meta?.['dev.kernos/cascade']).toEqual(expect.any(String));
    const graph = await writer.callTool({ name: 'read_graph', arguments: {} });
    expect(textOf(graph)).toContain('routes tools');
  });

  it('keeps a session to the token that opened it', async () => {
    await connect(writerToken);
    const [sessionId] = [...clients].map((c) => (c.transport as StreamableHTTPClientTransport | undefined)?.sessionId).filter((s): s is string => Boolean(s));
    expect(sessionId).toBeDefined();
    const hijack = await fetch(endpoint.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${readerToken}`, 'mcp-session-id': sessionId ?? '', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(hijack.status).toBe(403);
  });

  it('closes sessions left idle, and the client must initialize again', async () => {
    const short = await startMcpEndpoint({ router: fabric.router, logger, port: 0, sessionIdleMs: 200, tokens: [{ token: readerToken, tenant: 'acme', jobId: 'job-reader', governance, grantedTools: ['read_text_file'] }] });
    try {
      const transport = new StreamableHTTPClientTransport(new URL(short.url), { requestInit: { headers: { Authorization: `Bearer ${readerToken}` } } });
      const client = new Client({ name: 'idle-client', version: '1.0.0' });
      await client.connect(transport);
      expect(short.sessions()).toBe(1);
      await vi.waitFor(() => expect(short.sessions()).toBe(0), { timeout: 3_000 });
      await expect(client.listTools()).rejects.toThrow();
      await client.close().catch(() => undefined);
    } finally {
      await short.close();
    }
  });
});
