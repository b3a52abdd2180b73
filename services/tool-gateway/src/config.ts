import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';

/** A server's name becomes the prefix of qualified tool names (`server.tool`), so it may not hold a dot. */
const serverName = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'use letters, digits, "_" or "-" only (the name prefixes tools as "server.tool")');

/** An MCP server the gateway starts as a child process and talks to over stdin/stdout. */
export const stdioServerSchema = z.strictObject({
  name: serverName,
  transport: z.literal('stdio'),
  /** The executable, e.g. "node" or "npx". */
  command: z.string().min(1),
  /** Its arguments (default: none). */
  args: z.array(z.string()).default([]),
  /**
   * Extra environment for the child. The MCP SDK passes only a safe subset of the gateway's own environment
   * (PATH, HOME, ...), so secrets of the gateway do not leak into tool servers unless listed here.
   */
  env: z.record(z.string(), z.string()).optional(),
});

/** An MCP server reached over Streamable HTTP. */
export const httpServerSchema = z.strictObject({
  name: serverName,
  transport: z.literal('http'),
  /** The MCP endpoint, e.g. http://127.0.0.1:3001/mcp. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
});

export const toolServerSchema = z.discriminatedUnion('transport', [stdioServerSchema, httpServerSchema], {
  error: 'transport must be "stdio" (with command, args) or "http" (with url)',
});

export const toolServersSchema = z
  .array(toolServerSchema, {
    error: (issue) =>
      issue.code === 'invalid_type' ? 'must be a JSON list of servers, e.g. [{"name":"fs","transport":"stdio","command":"npx","args":["-y","some-mcp-server"]}]' : undefined,
  })
  .min(1, 'list at least one MCP server')
  .superRefine((servers, ctx) => {
    const seen = new Set<string>();
    servers.forEach((server, index) => {
      if (seen.has(server.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate server name "${server.name}"` });
      seen.add(server.name);
    });
  });

export type ToolServerSpec = z.output<typeof toolServerSchema>;
export type StdioServerSpec = z.output<typeof stdioServerSchema>;
export type HttpServerSpec = z.output<typeof httpServerSchema>;

/** KERNOS_TOOL_SERVERS holds JSON; parse it inside the schema so its problems are reported with their path. */
const toolServersJson = z
  .string()
  .optional()
  .transform((text, ctx): unknown => {
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not valid JSON: ${(error as Error).message}` });
      return z.NEVER;
    }
  })
  .pipe(toolServersSchema.optional());

export const toolGatewayConfigSchema = z.object({
  ...natsConfigShape,
  /** OTLP/HTTP traces endpoint; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /**
   * The MCP servers, as a JSON list of `{name, transport:"stdio", command, args, env?}` or
   * `{name, transport:"http", url}` (default: the reference server "everything" over stdio).
   */
  KERNOS_TOOL_SERVERS: toolServersJson,
  /** How long one tool call (and one connect or tools/list) may take (default 30000 ms). */
  KERNOS_TOOL_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),
});

export type ToolGatewayConfig = Omit<z.output<typeof toolGatewayConfigSchema>, 'KERNOS_TOOL_SERVERS'> & {
  KERNOS_TOOL_SERVERS: ToolServerSpec[];
};

export interface ConfigDefaults {
  /** The Node executable that runs the default server (default "node", found on PATH; main.ts passes its own). */
  nodeExecutable?: string;
}

export function loadToolGatewayConfig(env: Record<string, string | undefined>, defaults: ConfigDefaults = {}): ToolGatewayConfig {
  const parsed = parseConfig(toolGatewayConfigSchema, env, 'tool-gateway');
  return { ...parsed, KERNOS_TOOL_SERVERS: parsed.KERNOS_TOOL_SERVERS ?? defaultToolServers(defaults) };
}

/**
 * The reference MCP server "everything", started from the pinned npm dependency rather than with npx, so the
 * gateway needs no network at start and runs the version that was tested.
 */
export function defaultToolServers(defaults: ConfigDefaults = {}): ToolServerSpec[] {
  return [{ name: 'everything', transport: 'stdio', command: defaults.nodeExecutable ?? 'node', args: [everythingServerEntry(), 'stdio'] }];
}

/** The package's bin script, found through its package.json so a moved dist file does not break the default. */
function everythingServerEntry(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('@modelcontextprotocol/server-everything/package.json');
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  return join(dirname(manifestPath), bin ?? 'dist/index.js');
}
