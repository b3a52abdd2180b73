import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { Client as ClientV2, SdkError, SdkErrorCode, ProtocolError, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2, type PriorDiscovery } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioClientTransportV2 } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema, type CallToolResult, type Progress, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { KernosError } from '@kernos/errors';
import type { Logger } from '@kernos/service-kit';
import type { ToolServerSpec } from '../config.js';
import { connectFailure } from './errors.js';

/** A server that pages its tool list forever is broken; stop after this many pages. */
const maxToolPages = 100;

export type ConnectionState = 'down' | 'connecting' | 'up' | 'closed';

export interface McpConnectionOptions {
  spec: ToolServerSpec;
  /** Bound on the MCP initialize handshake and on each tools/list page. */
  timeoutMs: number;
  logger: Logger;
  /** Told the server's full tool list after every connect and every notifications/tools/list_changed. */
  onTools: (server: string, tools: Tool[]) => void;
}

export interface CallToolOptions {
  timeoutMs: number;
  /** Sent as params._meta, which is where MCP carries trace context (traceparent, tracestate). */
  meta?: Record<string, string>;
  /** Aborting it cancels the call: the SDK sends notifications/cancelled to the server and rejects. */
  signal?: AbortSignal;
  /** Receives the server's notifications/progress for this call (the SDK adds a progressToken when set). */
  onProgress?: (progress: Progress) => void;
}

/** One MCP client for one configured server, reconnected lazily after it dies. */
export interface McpConnection {
  readonly name: string;
  readonly spec: ToolServerSpec;
  state(): ConnectionState;
  /** When the last connect attempt started (epoch ms; 0 if never), so callers can pace reconnects. */
  lastAttemptAt(): number;
  /** The MCP session id, which only Streamable HTTP has. */
  sessionId(): string | undefined;
  /** The protocol version and era negotiated on the live connection (undefined when down). */
  protocol(): { version: string | undefined; era: 'modern' | 'legacy' } | undefined;
  /** Connects unless connected; concurrent callers share one attempt. Throws KernosError('unavailable'). */
  ensureConnected(): Promise<void>;
  /** Calls a tool on the live connection; errors are the SDK's, for the caller to classify. */
  callTool(tool: string, args: Record<string, unknown>, options: CallToolOptions): Promise<CallToolResult>;
  /** Drops a broken connection so that the next call builds a new one. */
  reset(reason: string): void;
  /** Closes for good (a stdio server is asked to exit, then killed). */
  close(): Promise<void>;
}

/** A connection on the SDK 1.x client (2025-11-25), or on the 2.x client after version negotiation. */
type Live =
  | { sdk: 1; client: Client; transport: Transport }
  | { sdk: 2; client: ClientV2; transport: { sessionId?: string | undefined; close(): Promise<void> }; era: 'modern' | 'legacy' };

export function createMcpConnection({ spec, timeoutMs, logger, onTools }: McpConnectionOptions): McpConnection {
  const server = spec.name;
  let live: Live | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let lastAttemptAt = 0;

  const refreshTools = async (client: Client | ClientV2): Promise<void> => {
    try {
      const tools = await listAllTools(client, timeoutMs);
      if (live?.client === client) onTools(server, tools);
    } catch (error) {
      logger.warn('MCP server announced new tools but listing them failed', { server, error: (error as Error).message });
    }
  };

  // The era verdict of the last successful negotiation: reconnects skip the probe (the SDK's "prior" discovery).
  let prior: PriorDiscovery | undefined;

  const connectV2 = async (): Promise<void> => {
    const transport = spec.transport === 'http' ? new StreamableHTTPClientTransportV2(new URL(spec.url)) : createStdioV2(spec, logger);
    const client = new ClientV2({ name: 'kernos-tool-gateway', version: '0.2.0' }, { versionNegotiation: { mode: 'auto', probe: { timeoutMs } } });
    client.onclose = () => {
      if (live?.client !== client) return;
      live = undefined;
      logger.warn('MCP server connection closed; it will be reconnected on the next call', { server });
    };
    client.onerror = (error) => logger.warn('MCP transport error', { server, error: error.message });
    client.setNotificationHandler('notifications/tools/list_changed', () => void refreshTools(client));
    try {
      await client.connect(transport, { timeout: timeoutMs, ...(prior ? { prior } : {}) });
      const era = client.getProtocolEra() === 'modern' ? 'modern' : 'legacy';
      const discover = client.getDiscoverResult();
      prior = era === 'modern' && discover ? { kind: 'modern', discover } : { kind: 'legacy' };
      const tools = await listAllTools(client, timeoutMs);
      if (closed) throw new KernosError('unavailable', 'the tool gateway is shutting down');
      live = { sdk: 2, client, transport, era };
      onTools(server, tools);
      logger.info('MCP server connected', { server, transport: spec.transport, tools: tools.length, protocol: client.getNegotiatedProtocolVersion(), era, serverVersion: client.getServerVersion() });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw connectFailure(server, fromV2Error(error));
    }
  };

  const connect = async (): Promise<void> => {
    lastAttemptAt = Date.now();
    if (spec.protocol === 'auto') return connectV2();
    const transport = createTransport(spec, logger);
    const client = new Client({ name: 'kernos-tool-gateway', version: '0.1.0' });
    client.onclose = () => {
      // Only an unplanned close of the current client matters; reset() and close() clear `live` first.
      if (live?.client !== client) return;
      live = undefined;
      logger.warn('MCP server connection closed; it will be reconnected on the next call', { server });
    };
    client.onerror = (error) => logger.warn('MCP transport error', { server, error: error.message });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void refreshTools(client));
    try {
      await client.connect(transport, { timeout: timeoutMs });
      const tools = await listAllTools(client, timeoutMs);
      if (closed) throw new KernosError('unavailable', 'the tool gateway is shutting down');
      live = { sdk: 1, client, transport };
      onTools(server, tools);
      logger.info('MCP server connected', { server, transport: spec.transport, tools: tools.length, serverVersion: client.getServerVersion() });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw connectFailure(server, error);
    }
  };

  const closeLive = async (target: Live): Promise<void> => {
    // A Streamable HTTP session lives on the server until deleted; say goodbye rather than leak it.
    if ((target.transport instanceof StreamableHTTPClientTransport || target.transport instanceof StreamableHTTPClientTransportV2) && target.transport.sessionId) {
      await target.transport.terminateSession().catch(() => undefined);
    }
    await target.client.close();
  };

  return {
    name: server,
    spec,
    state: () => (closed ? 'closed' : live ? 'up' : connecting ? 'connecting' : 'down'),
    lastAttemptAt: () => lastAttemptAt,
    sessionId: () => live?.transport.sessionId,
    protocol() {
      if (!live) return undefined;
      if (live.sdk === 1) return { version: live.transport instanceof StreamableHTTPClientTransport ? live.transport.protocolVersion : undefined, era: 'legacy' };
      return { version: live.client.getNegotiatedProtocolVersion(), era: live.era };
    },
    ensureConnected() {
      if (closed) return Promise.reject(new KernosError('unavailable', `MCP server "${server}" is closed: the tool gateway is shutting down`));
      if (live) return Promise.resolve();
      connecting ??= connect().finally(() => {
        connecting = undefined;
      });
      return connecting;
    },
    async callTool(tool, args, options) {
      const current = live;
      if (!current) throw connectFailure(server, new Error('not connected'));
      const params = { name: tool, arguments: args, ...(options.meta && Object.keys(options.meta).length > 0 ? { _meta: options.meta } : {}) };
      if (current.sdk === 2) {
        try {
          return (await current.client.callTool(params, {
            timeout: options.timeoutMs,
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onProgress ? { onprogress: options.onProgress, resetTimeoutOnProgress: true } : {}),
          })) as CallToolResult;
        } catch (error) {
          throw fromV2Error(error);
        }
      }
      // With the default result schema the SDK returns a CallToolResult; its wider type covers a legacy shape.
      return (await current.client.callTool(params, undefined, {
        timeout: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        // Progress proves the server is working, so it restarts the SDK's own clock (the caller's bound still holds).
        ...(options.onProgress ? { onprogress: options.onProgress, resetTimeoutOnProgress: true } : {}),
      })) as CallToolResult;
    },
    reset(reason) {
      const broken = live;
      if (!broken) return;
      live = undefined;
      logger.warn('dropping broken MCP connection; it will be reconnected on the next call', { server, reason });
      void closeLive(broken).catch(() => undefined);
    },
    async close() {
      closed = true;
      await connecting?.catch(() => undefined);
      const last = live;
      live = undefined;
      if (last) await closeLive(last);
    },
  };
}

function createTransport(spec: ToolServerSpec, logger: Logger): Transport {
  if (spec.transport === 'http') return new StreamableHTTPClientTransport(new URL(spec.url));
  // stderr is piped into the log rather than inherited, so a server's chatter is tagged with its name.
  const transport = new StdioClientTransport({ command: spec.command, args: spec.args, ...(spec.env ? { env: spec.env } : {}), stderr: 'pipe' });
  const stderr = transport.stderr;
  if (stderr instanceof Readable) {
    createInterface({ input: stderr }).on('line', (line) => {
      if (line.trim() !== '') logger.info('MCP server stderr', { server: spec.name, line });
    });
  }
  return transport;
}

/**
 * The 2.x SDK's errors, as the 1.x ones the classification in errors.ts reads: timeouts and closed connections keep
 * their meaning, a JSON-RPC error keeps its code, and anything else stays a transport failure.
 */
function fromV2Error(error: unknown): unknown {
  if (error instanceof SdkError) {
    if (error.code === SdkErrorCode.RequestTimeout) return new McpError(ErrorCode.RequestTimeout, error.message);
    if (error.code === SdkErrorCode.ConnectionClosed) return new McpError(ErrorCode.ConnectionClosed, error.message);
    return error;
  }
  if (error instanceof ProtocolError) return new McpError(error.code, error.message, error.data);
  return error;
}

function createStdioV2(spec: Extract<ToolServerSpec, { transport: 'stdio' }>, logger: Logger): StdioClientTransportV2 {
  const transport = new StdioClientTransportV2({ command: spec.command, args: spec.args, ...(spec.env ? { env: spec.env } : {}), stderr: 'pipe' });
  const stderr = transport.stderr;
  if (stderr instanceof Readable) {
    createInterface({ input: stderr }).on('line', (line) => {
      if (line.trim() !== '') logger.info('MCP server stderr', { server: spec.name, line });
    });
  }
  return transport;
}

async function listAllTools(client: Client | ClientV2, timeoutMs: number): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxToolPages; page++) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: timeoutMs });
    tools.push(...(result.tools as Tool[]));
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
  }
  return tools;
}
