import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
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
  /** Connects unless connected; concurrent callers share one attempt. Throws KernosError('unavailable'). */
  ensureConnected(): Promise<void>;
  /** Calls a tool on the live connection; errors are the SDK's, for the caller to classify. */
  callTool(tool: string, args: Record<string, unknown>, options: CallToolOptions): Promise<CallToolResult>;
  /** Drops a broken connection so that the next call builds a new one. */
  reset(reason: string): void;
  /** Closes for good (a stdio server is asked to exit, then killed). */
  close(): Promise<void>;
}

interface Live {
  client: Client;
  transport: Transport;
}

export function createMcpConnection({ spec, timeoutMs, logger, onTools }: McpConnectionOptions): McpConnection {
  const server = spec.name;
  let live: Live | undefined;
  let connecting: Promise<void> | undefined;
  let closed = false;
  let lastAttemptAt = 0;

  const refreshTools = async (client: Client): Promise<void> => {
    try {
      const tools = await listAllTools(client, timeoutMs);
      if (live?.client === client) onTools(server, tools);
    } catch (error) {
      logger.warn('MCP server announced new tools but listing them failed', { server, error: (error as Error).message });
    }
  };

  const connect = async (): Promise<void> => {
    lastAttemptAt = Date.now();
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
      live = { client, transport };
      onTools(server, tools);
      logger.info('MCP server connected', { server, transport: spec.transport, tools: tools.length, serverVersion: client.getServerVersion() });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw connectFailure(server, error);
    }
  };

  const closeLive = async (target: Live): Promise<void> => {
    // A Streamable HTTP session lives on the server until deleted; say goodbye rather than leak it.
    if (target.transport instanceof StreamableHTTPClientTransport && target.transport.sessionId) {
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
      // With the default result schema the SDK returns a CallToolResult; its wider type covers a legacy shape.
      return (await current.client.callTool(params, undefined, { timeout: options.timeoutMs })) as CallToolResult;
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

async function listAllTools(client: Client, timeoutMs: number): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxToolPages; page++) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: timeoutMs });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
  }
  return tools;
}
