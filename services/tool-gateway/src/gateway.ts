import { SpanKind, SpanStatusCode, context, propagation, type Attributes, type Tracer } from '@opentelemetry/api';
import type { CallToolResult, Progress, Tool } from '@modelcontextprotocol/sdk/types.js';
import { KernosError, toKernosError } from '@kernos/errors';
import type { Logger } from '@kernos/service-kit';
import { createArgumentValidator } from './arguments.js';
import { buildCatalog, findTool, unknownToolMessage, type Catalog, type CatalogTool } from './catalog.js';
import type { ToolServerSpec } from './config.js';
import { createMcpConnection, type McpConnection } from './mcp/connection.js';
import { breaksConnection, callFailure, safeToRetry } from './mcp/errors.js';
import type { Principal } from './access.js';

export interface ToolGatewayOptions {
  servers: readonly ToolServerSpec[];
  tracer: Tracer;
  logger: Logger;
  /** Bound on one tool call, and on connecting to a server and listing its tools (default 30000 ms). */
  timeoutMs?: number;
  /** Bound on connecting to a server and listing its tools (default: timeoutMs). */
  connectTimeoutMs?: number;
  /**
   * Least time between two attempts to connect a server that is down when a lookup misses or the catalog is
   * listed (default 5000 ms), so a dead server is not respawned on every request for an unknown tool.
   */
  reconnectIntervalMs?: number;
}

export interface ToolCall {
  /** A catalog name, or `server.tool`. */
  tool: string;
  arguments: Record<string, unknown>;
}

export interface ResolvedCallOptions {
  /** Bound on this call (default: the gateway's timeoutMs). */
  timeoutMs?: number;
  /**
   * Aborting it cancels the call on the server (notifications/cancelled); the call then fails with
   * KernosError('timeout') whose details carry `aborted: true` and the signal's reason.
   */
  signal?: AbortSignal;
  /** Receives the server's progress notifications for this call. */
  onProgress?: (progress: Progress) => void;
  /** Who the call acts for: MCP servers never see it; kernel tools (src/kernel-tools.ts) read with it. */
  principal?: Principal;
}

export interface ToolCallResult {
  tool: CatalogTool;
  content: CallToolResult['content'];
  structuredContent: Record<string, unknown> | undefined;
  /** The tool ran and reported failure; the content says why. Not a transport error, and never retried. */
  isError: boolean;
  /** The text parts of the content, joined by newlines. */
  text: string;
  /** The MCP tools/call round trip. */
  latencyMs: number;
}

/**
 * The routing core, independent of NATS so that the kernel's own MCP endpoint can serve the same catalog later.
 * Cascades, circuit breakers, rate limits and audit wrap `call`; none of them changes this contract.
 */
export interface ToolGateway {
  /** Connects every server at once. A server that fails is logged and tried again later; this never throws for one. */
  connect(): Promise<void>;
  list(): Promise<readonly CatalogTool[]>;
  /** Throws KernosError: not_found, invalid_argument, timeout, unavailable, tool_error. */
  call(call: ToolCall): Promise<ToolCallResult>;
  /** Finds a tool by catalog name or `server.tool`, reconnecting down servers (paced) on a miss. Throws not_found. */
  resolve(name: string): Promise<CatalogTool>;
  /** Checks arguments against the tool's input schema. Throws invalid_argument. */
  validate(tool: CatalogTool, args: Record<string, unknown>): void;
  /** Calls an already resolved and validated tool: one attempt, no retry. */
  callResolved(tool: CatalogTool, args: Record<string, unknown>, options?: ResolvedCallOptions): Promise<ToolCallResult>;
  /** The configured server a tool lives on. */
  server(name: string): ToolServerSpec | undefined;
  /** Each server's connection state and negotiated protocol (version and era: modern = 2026-07-28 or later). */
  status(): Record<string, { state: string; protocolVersion?: string | undefined; era?: 'modern' | 'legacy' }>;
  /** Closes every MCP client; stdio servers are asked to exit, then killed. */
  close(): Promise<void>;
}

export function createToolGateway(options: ToolGatewayOptions): ToolGateway {
  const { tracer, logger } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const reconnectIntervalMs = options.reconnectIntervalMs ?? 5_000;
  const toolsByServer = new Map<string, readonly Tool[]>();
  let catalog: Catalog = buildCatalog([]);

  const onTools = (server: string, tools: Tool[]): void => {
    toolsByServer.set(server, tools);
    // Config order, so the catalog does not depend on which server answered first.
    catalog = buildCatalog(options.servers.filter((s) => toolsByServer.has(s.name)).map((s) => ({ server: s.name, tools: toolsByServer.get(s.name) ?? [] })));
  };

  const connections = new Map<string, McpConnection>(
    options.servers.map((spec) => [spec.name, createMcpConnection({ spec, timeoutMs: options.connectTimeoutMs ?? timeoutMs, logger, onTools })]),
  );

  const validator = createArgumentValidator({
    onUncompilableSchema: (tool, error) =>
      logger.warn('tool input schema cannot be compiled; its arguments are passed unchecked', { tool: tool.name, server: tool.server, error: error.message }),
  });

  const tryConnect = async (connection: McpConnection): Promise<void> => {
    try {
      await connection.ensureConnected();
    } catch (error) {
      logger.error('MCP server cannot be connected; its tools are unavailable until it can be', { server: connection.name, error: (error as Error).message });
    }
  };

  /** Gives servers that are down a paced chance to come back; true if any attempt was made. */
  const reconnectDownServers = async (): Promise<boolean> => {
    const due = [...connections.values()].filter((c) => c.state() === 'down' && Date.now() - c.lastAttemptAt() >= reconnectIntervalMs);
    await Promise.all(due.map(tryConnect));
    return due.length > 0;
  };

  const resolve = async (name: string): Promise<CatalogTool> => {
    const found = findTool(catalog, name) ?? ((await reconnectDownServers()) ? findTool(catalog, name) : undefined);
    if (found) return found;
    const neverListed = [...connections.values()].filter((c) => !toolsByServer.has(c.name)).map((c) => c.name);
    const note = neverListed.length > 0 ? ` (not connected, so their tools are missing: ${neverListed.join(', ')})` : '';
    throw new KernosError('not_found', `${unknownToolMessage(catalog, name)}${note}`, { details: { tool: name } });
  };

  const mcpSpanAttributes = (tool: CatalogTool, connection: McpConnection): Attributes => {
    const spec = connection.spec;
    const attributes: Attributes = {
      'mcp.method.name': 'tools/call',
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool.toolName,
      'kernos.tool.server': tool.server,
      'network.transport': spec.transport === 'stdio' ? 'pipe' : 'tcp',
    };
    if (spec.transport === 'http') {
      const url = new URL(spec.url);
      attributes['server.address'] = url.hostname;
      attributes['server.port'] = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    }
    return attributes;
  };

  const callOnServer = async (tool: CatalogTool, args: Record<string, unknown>, options: ResolvedCallOptions = {}): Promise<ToolCallResult> => {
    const callTimeoutMs = options.timeoutMs ?? timeoutMs;
    const connection = connections.get(tool.server);
    if (!connection) throw new KernosError('internal', `catalog names server "${tool.server}" that is not configured`);
    // A CLIENT span per the MCP semantic conventions, named "{mcp.method.name} {target}".
    return tracer.startActiveSpan(`tools/call ${tool.toolName}`, { kind: SpanKind.CLIENT, attributes: mcpSpanAttributes(tool, connection) }, async (span) => {
      try {
        await connection.ensureConnected();
        const sessionId = connection.sessionId();
        if (sessionId) span.setAttribute('mcp.session.id', sessionId);
        const meta: Record<string, string> = {};
        propagation.inject(context.active(), meta);
        const started = performance.now();
        let result: CallToolResult;
        try {
          result = await connection.callTool(tool.toolName, args, {
            timeoutMs: callTimeoutMs,
            meta,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          });
        } catch (error) {
          if (options.signal?.aborted) {
            // Cancelled from outside (the caller's deadline or an explicit cancel): the connection is fine, and the
            // SDK has already told the server with notifications/cancelled.
            const reason: unknown = options.signal.reason;
            const why = reason instanceof Error && reason.name !== 'AbortError' ? reason.message : 'cancelled';
            throw new KernosError('timeout', `tool "${tool.name}" on MCP server "${tool.server}": ${why}`, {
              retryable: safeToRetry(tool.annotations),
              details: { server: tool.server, tool: tool.name, aborted: true, reason },
              cause: error,
            });
          }
          if (breaksConnection(error)) connection.reset((error as Error).message);
          throw callFailure(error, { server: tool.server, tool: tool.name, timeoutMs: callTimeoutMs, safeToRetry: safeToRetry(tool.annotations) });
        }
        const latencyMs = Math.round(performance.now() - started);
        const text = result.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
        const isError = result.isError === true;
        if (isError) {
          span.setAttribute('error.type', 'tool_error');
          span.setStatus({ code: SpanStatusCode.ERROR, message: text.slice(0, 500) });
        }
        return { tool, content: result.content, structuredContent: result.structuredContent, isError, text, latencyMs };
      } catch (thrown) {
        const error = toKernosError(thrown);
        span.recordException(error);
        span.setAttribute('error.type', error.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        throw error;
      } finally {
        span.end();
      }
    });
  };

  return {
    async connect() {
      await Promise.all([...connections.values()].map(tryConnect));
      logger.info('tool catalog ready', { tools: catalog.tools.length, servers: [...toolsByServer.keys()] });
    },
    async list() {
      await reconnectDownServers();
      return catalog.tools;
    },
    async call({ tool: name, arguments: args }) {
      if (name.trim() === '') throw new KernosError('invalid_argument', 'tool is required: name the tool to call (see kernos.tool-gateway.list)');
      const tool = await resolve(name);
      validator.check(tool, args);
      return callOnServer(tool, args);
    },
    resolve,
    validate: (tool, args) => validator.check(tool, args),
    callResolved: callOnServer,
    server: (name) => connections.get(name)?.spec,
    status: () =>
      Object.fromEntries(
        [...connections.values()].map((c) => {
          const protocol = c.protocol();
          return [c.name, { state: c.state(), ...(protocol ? { protocolVersion: protocol.version, era: protocol.era } : {}) }];
        }),
      ),
    async close() {
      await Promise.allSettled([...connections.values()].map((c) => c.close()));
    },
  };
}
