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
  /** Whether idempotent or read-only tools of this server may be retried after a timeout or lost reply (default false). */
  trusted: z.boolean().default(false),
  /**
   * MCP protocol negotiation: "legacy" speaks 2025-11-25 (SDK 1.x, as before); "auto" probes with server/discover
   * (spec 2026-07-28, SDK 2.x client), caches the verdict for reconnects, and falls back to 2025-era initialize
   * (default "legacy").
   */
  protocol: z.enum(['legacy', 'auto']).default('legacy'),
});

/** An MCP server reached over Streamable HTTP. */
export const httpServerSchema = z.strictObject({
  name: serverName,
  transport: z.literal('http'),
  /** The MCP endpoint, e.g. http://127.0.0.1:3001/mcp. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** Whether idempotent or read-only tools of this server may be retried after a timeout or lost reply (default false). */
  trusted: z.boolean().default(false),
  /**
   * MCP protocol negotiation: "legacy" speaks 2025-11-25 (SDK 1.x, as before); "auto" probes with server/discover
   * (spec 2026-07-28, SDK 2.x client), caches the verdict for reconnects, and falls back to 2025-era initialize
   * (default "legacy").
   */
  protocol: z.enum(['legacy', 'auto']).default('legacy'),
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

/** An env variable holding JSON, parsed inside the schema so its problems are reported with their path. */
function jsonEnv<T extends z.ZodType>(schema: T) {
  return z
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
    .pipe(schema.optional());
}

const toolServersJson = jsonEnv(toolServersSchema);

const rateLimitSchema = z.strictObject({
  /** Tokens refilled per second. */
  ratePerSecond: z.number().nonnegative(),
  /** Bucket size (default max(1, ratePerSecond)). */
  burst: z.number().int().positive().optional(),
});

/** Circuit breakers, retries and rate limits (KERNOS_TOOL_POLICY). Every field has a default. */
export const toolPolicySchema = z.strictObject({
  breaker: z
    .strictObject({
      /** Consecutive failures (unreachable, timeout, protocol error) that open a breaker (default 5). */
      consecutiveFailures: z.number().int().positive().default(5),
      /** How long an open breaker refuses calls before letting one test call through (default 10000 ms). */
      halfOpenAfterMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  retry: z
    .strictObject({
      /** Attempts per tool, the first included (default 3; 1 turns retries off). */
      maxAttempts: z.number().int().min(1).max(10).default(3),
      /** First backoff delay; it doubles with jitter up to maxDelayMs (default 50 ms). */
      initialDelayMs: z.number().int().nonnegative().default(50),
      /** Largest backoff delay (default 1000 ms). */
      maxDelayMs: z.number().int().nonnegative().default(1_000),
    })
    .prefault({}),
  rateLimits: z
    .strictObject({
      /** Limits per tool (catalog name); `default` applies to tools not listed (default: none). */
      perTool: z.record(z.string(), rateLimitSchema).default({}),
      /** One limit applied to each agent separately (by agent id, else job id) (default: none). */
      perAgent: rateLimitSchema.optional(),
    })
    .prefault({}),
});
export type ToolPolicy = z.output<typeof toolPolicySchema>;

/** Capability name → its tools, cheapest first (KERNOS_TOOL_CAPABILITIES). */
export const capabilitiesSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "." or "-" (it is also an MCP tool name)'),
  z.array(z.string().min(1)).min(1, 'list at least one tool, cheapest first'),
);
export type Capabilities = z.output<typeof capabilitiesSchema>;

const governanceSchema = z.strictObject({
  riskLevel: z.enum(['minimal', 'limited', 'high', 'unacceptable']),
  dataCategories: z.array(z.string()).default([]),
  humanOversight: z.enum(['none', 'on_risk', 'always']).default('none'),
  approver: z.string().default(''),
});

/** One bearer token of the kernel's MCP endpoint: the job it acts for, and that job's governance and grants. */
export const mcpTokenSchema = z.strictObject({
  /** The bearer token (at least 16 characters: it is the only credential). */
  token: z.string().min(16, 'use at least 16 characters; the token is the only credential'),
  tenant: z.string().default(''),
  jobId: z.string().min(1),
  /** The agent the token names (default: the job id). */
  agentId: z.string().optional(),
  governance: governanceSchema,
  /** Tools (or capabilities) the job is granted, as in its Job document. */
  grantedTools: z.array(z.string()).default([]),
});
export type McpToken = z.output<typeof mcpTokenSchema>;

/** The kernel's own MCP endpoint (KERNOS_TOOL_MCP_ENDPOINT); unset = off. */
export const mcpEndpointSchema = z.strictObject({
  /** Interface to listen on (default 127.0.0.1). */
  host: z.string().default('127.0.0.1'),
  /** Port (default 7410; 0 picks a free one). */
  port: z.number().int().min(0).max(65535).default(7410),
  /** Path of the Streamable HTTP endpoint (default /mcp). */
  path: z.string().startsWith('/').default('/mcp'),
  /** A session unused this long is closed (default 1800000 ms = 30 min). */
  sessionIdleMs: z.number().int().positive().default(30 * 60_000),
  tokens: z.array(mcpTokenSchema).min(1, 'list at least one token').superRefine((tokens, ctx) => {
    const seen = new Set<string>();
    tokens.forEach((t, index) => {
      if (seen.has(t.token)) ctx.addIssue({ code: 'custom', path: [index, 'token'], message: 'duplicate token' });
      seen.add(t.token);
    });
  }),
});
export type McpEndpointConfig = z.output<typeof mcpEndpointSchema>;

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
  /** Bound on connecting a server and listing its tools (default: KERNOS_TOOL_TIMEOUT_MS). */
  KERNOS_TOOL_CONNECT_TIMEOUT_MS: z.coerce.number().int().positive().optional(),
  /** Breakers, retries and rate limits as JSON (default: breakers after 5 failures, 3 attempts, no rate limits). */
  KERNOS_TOOL_POLICY: jsonEnv(toolPolicySchema),
  /** Capabilities as JSON: `{"search": ["cheap_search", "web.search"]}`, tools cheapest first (default none). */
  KERNOS_TOOL_CAPABILITIES: jsonEnv(capabilitiesSchema),
  /** The kernel's MCP endpoint as JSON `{host, port, path, tokens: [...]}` (default: off). */
  KERNOS_TOOL_MCP_ENDPOINT: jsonEnv(mcpEndpointSchema),
  /** Ask services/access (kernos.access.check) for catalog filtering and policy (default true). */
  KERNOS_TOOL_ACCESS: z.enum(['on', 'off']).default('on'),
  /** Where audit records go: the JetStream AUDIT stream, or nowhere (default jetstream). */
  KERNOS_TOOL_AUDIT: z.enum(['jetstream', 'off']).default('jetstream'),
  /** Offer the kernel's own tools (`recall`: services/graph memory, checked by services/access) next to the MCP servers' (default on). */
  KERNOS_TOOL_KERNEL_TOOLS: z.enum(['on', 'off']).default('on'),
});

export type ToolGatewayConfig = Omit<z.output<typeof toolGatewayConfigSchema>, 'KERNOS_TOOL_SERVERS' | 'KERNOS_TOOL_POLICY' | 'KERNOS_TOOL_CAPABILITIES'> & {
  KERNOS_TOOL_SERVERS: ToolServerSpec[];
  KERNOS_TOOL_POLICY: ToolPolicy;
  KERNOS_TOOL_CAPABILITIES: Capabilities;
};

export interface ConfigDefaults {
  /** The Node executable that runs the default server (default "node", found on PATH; main.ts passes its own). */
  nodeExecutable?: string;
}

export function loadToolGatewayConfig(env: Record<string, string | undefined>, defaults: ConfigDefaults = {}): ToolGatewayConfig {
  const parsed = parseConfig(toolGatewayConfigSchema, env, 'tool-gateway');
  return {
    ...parsed,
    KERNOS_TOOL_SERVERS: parsed.KERNOS_TOOL_SERVERS ?? defaultToolServers(defaults),
    KERNOS_TOOL_POLICY: parsed.KERNOS_TOOL_POLICY ?? toolPolicySchema.parse({}),
    KERNOS_TOOL_CAPABILITIES: parsed.KERNOS_TOOL_CAPABILITIES ?? {},
  };
}

/**
 * The reference MCP server "everything", started from the pinned npm dependency rather than with npx, so the
 * gateway needs no network at start and runs the version that was tested.
 */
export function defaultToolServers(defaults: ConfigDefaults = {}): ToolServerSpec[] {
  return [{ name: 'everything', transport: 'stdio', command: defaults.nodeExecutable ?? 'node', args: [packageBin('@modelcontextprotocol/server-everything'), 'stdio'], trusted: false, protocol: 'legacy' }];
}

/** A package's bin script, found through its package.json so a moved dist file does not break the default. */
export function packageBin(packageName: string): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${packageName}/package.json`);
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  return join(dirname(manifestPath), bin ?? 'dist/index.js');
}
