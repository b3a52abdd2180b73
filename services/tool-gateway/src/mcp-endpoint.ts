import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, isInitializeRequest, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '@kernos/service-kit';
import type { Principal } from './access.js';
import type { McpToken } from './config.js';
import { normalise } from './normalise.js';
import { RoutedCallError, type ToolRouter } from './router.js';

/** Where a normalised error travels in a CallToolResult's _meta, for MCP clients that want the code and retry flag. */
export const errorMetaKey = 'dev.kernos/error';

export interface McpEndpointOptions {
  router: ToolRouter;
  logger: Logger;
  tokens: readonly McpToken[];
  /** Interface (default 127.0.0.1). */
  host?: string;
  /** Port (default 7410; 0 = any free port). */
  port?: number;
  /** Path (default /mcp). */
  path?: string;
  /** A session unused this long is closed, so clients that vanish without DELETE do not pile up (default 30 min). */
  sessionIdleMs?: number;
}

export interface McpEndpoint {
  /** The endpoint's URL, e.g. http://127.0.0.1:7410/mcp. */
  url: string;
  /** Open MCP sessions (for tests and stats). */
  sessions(): number;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: Server;
  token: McpToken;
  lastSeen: number;
}

/**
 * The kernel's own MCP endpoint (Streamable HTTP, the SDK's server side). A bearer token names a job; the session
 * it opens sees only the tools services/access allows that job, and every call goes through the same router as the
 * NATS subject: policy, rate limits, breakers, retries, cascades and audit. Capabilities appear as tools too.
 */
export async function startMcpEndpoint(options: McpEndpointOptions): Promise<McpEndpoint> {
  const { router, logger } = options;
  const path = options.path ?? '/mcp';
  const sessions = new Map<string, Session>();

  const principalFor = (token: McpToken): Principal => ({
    ref: { tenant: token.tenant, jobId: token.jobId, runId: '', agentId: token.agentId ?? token.jobId },
    governance: token.governance,
    grantedTools: token.grantedTools,
    enforceAccess: true,
  });

  const createSessionServer = (token: McpToken): Server => {
    const server = new Server({ name: 'kernos-tool-gateway', version: '0.2.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => {
      const catalog = await router.list(principalFor(token));
      const byName = new Map(catalog.tools.map((t) => [t.name, t]));
      const tools: Tool[] = catalog.tools.map((t) => ({
        name: t.name,
        ...(t.title ? { title: t.title } : {}),
        description: t.description,
        inputSchema: t.inputSchema,
        ...(t.outputSchema ? { outputSchema: t.outputSchema } : {}),
        ...(t.annotations ? { annotations: t.annotations } : {}),
      }));
      for (const capability of catalog.capabilities) {
        if (byName.has(capability.name)) continue;
        const first = capability.tools.map((name) => byName.get(name)).find((t) => t !== undefined);
        tools.push({
          name: capability.name,
          description: `Capability: tries ${capability.tools.join(', then ')} (cheapest first) until one answers.${first?.description ? ` ${first.description}` : ''}`,
          inputSchema: first?.inputSchema ?? { type: 'object' },
        });
      }
      return { tools };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
      const principal = principalFor(token);
      const isCapability = await router.isCapability(request.params.name);
      const progressToken = request.params._meta?.progressToken;
      try {
        const { result, cascadeId } = await router.call({
          ...(isCapability ? { capability: request.params.name } : { tool: request.params.name }),
          arguments: request.params.arguments ?? {},
          principal,
          signal: extra.signal,
          via: 'mcp',
          ...(progressToken === undefined
            ? {}
            : {
                onProgress: (progress) =>
                  void extra
                    .sendNotification({
                      method: 'notifications/progress',
                      params: { progressToken, progress: progress.progress, ...(progress.total === undefined ? {} : { total: progress.total }), ...(progress.message ? { message: progress.message } : {}) },
                    })
                    .catch(() => undefined),
              }),
        });
        return {
          content: result.content,
          ...(result.structuredContent ? { structuredContent: result.structuredContent } : {}),
          ...(result.isError ? { isError: true } : {}),
          _meta: { 'dev.kernos/cascade': cascadeId },
        };
      } catch (error) {
        // Every gateway failure is a tool error result, so the model reads it and can correct itself (MCP says so
        // for argument errors); the normalised code and retry flag ride along in _meta.
        const { code, retryable, message } = normalise(error);
        return {
          isError: true,
          content: [{ type: 'text', text: `${code}: ${message}` }],
          _meta: { [errorMetaKey]: { code, retryable, ...(error instanceof RoutedCallError ? { cascadeId: error.cascadeId } : {}) } },
        };
      }
    });
    return server;
  };

  const tokenOf = (req: IncomingMessage): McpToken | undefined => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1]) return undefined;
    const given = Buffer.from(match[1].trim());
    // Constant-time comparison, so the endpoint does not leak how much of a token was right.
    return options.tokens.find((t) => {
      const known = Buffer.from(t.token);
      return known.length === given.length && timingSafeEqual(known, given);
    });
  };

  const reject = (res: ServerResponse, status: number, message: string, extraHeaders: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...extraHeaders });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const readJson = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 4 * 1024 * 1024) throw new Error('request body over 4 MiB');
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? undefined : JSON.parse(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path) return reject(res, 404, `not found; the MCP endpoint is ${path}`);
    const token = tokenOf(req);
    if (!token) return reject(res, 401, 'a valid bearer token is required', { 'www-authenticate': 'Bearer realm="kernos"' });
    const sessionId = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readJson(req).catch(() => null) : undefined;
    if (body === null) return reject(res, 400, 'request body is not valid JSON');

    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return reject(res, 404, 'unknown or expired session; initialize again');
      // A session belongs to the token that opened it: another token cannot ride on it.
      if (session.token !== token) return reject(res, 403, 'this session belongs to another token');
      session.lastSeen = Date.now();
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) return reject(res, 400, 'no session: send an initialize request first');

    const server = createSessionServer(token);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, token, lastSeen: Date.now() });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.warn('MCP endpoint request failed', { error: (error as Error).message });
      if (!res.headersSent) reject(res, 500, 'internal error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 7410, options.host ?? '127.0.0.1', () => resolve());
  });
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (now - session.lastSeen < idleMs) continue;
        sessions.delete(id);
        void session.server.close().catch(() => undefined);
      }
    },
    Math.min(idleMs, 60_000),
  );
  sweeper.unref();
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}${path}`,
    sessions: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      await Promise.allSettled([...sessions.values()].map((s) => s.server.close()));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
