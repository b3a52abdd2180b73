import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadToolGatewayConfig } from './config.js';

const load = (servers: unknown, extra: Record<string, string> = {}) =>
  loadToolGatewayConfig({ KERNOS_TOOL_SERVERS: typeof servers === 'string' ? servers : JSON.stringify(servers), ...extra });

const failure = (servers: unknown, extra: Record<string, string> = {}): string => {
  try {
    load(servers, extra);
  } catch (error) {
    expect((error as { code?: string }).code).toBe('invalid_argument');
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
};

describe('loadToolGatewayConfig', () => {
  it('defaults to the pinned server-everything over stdio, run by the given node', () => {
    const config = loadToolGatewayConfig({}, { nodeExecutable: '/opt/node/bin/node' });
    expect(config.KERNOS_TOOL_TIMEOUT_MS).toBe(30_000);
    expect(config.KERNOS_TOOL_SERVERS).toHaveLength(1);
    const [server] = config.KERNOS_TOOL_SERVERS;
    expect(server).toMatchObject({ name: 'everything', transport: 'stdio', command: '/opt/node/bin/node' });
    if (server?.transport !== 'stdio') throw new Error('expected a stdio server');
    expect(server.args[1]).toBe('stdio');
    expect(server.args[0]).toMatch(/@modelcontextprotocol[/\\]server-everything[/\\]dist[/\\]index\.js$/);
    expect(existsSync(server.args[0] ?? '')).toBe(true);
  });

  it('treats a blank KERNOS_TOOL_SERVERS as unset', () => {
    expect(loadToolGatewayConfig({ KERNOS_TOOL_SERVERS: '  ' }).KERNOS_TOOL_SERVERS[0]?.name).toBe('everything');
  });

  it('parses stdio and http servers, defaulting args to none', () => {
    const config = load([
      { name: 'fs', transport: 'stdio', command: 'npx', env: { ROOT: '/tmp' } },
      { name: 'search', transport: 'http', url: 'http://127.0.0.1:3001/mcp' },
    ], { KERNOS_TOOL_TIMEOUT_MS: '5000' });
    expect(config.KERNOS_TOOL_SERVERS).toEqual([
      { name: 'fs', transport: 'stdio', command: 'npx', args: [], env: { ROOT: '/tmp' }, trusted: false, protocol: 'legacy' },
      { name: 'search', transport: 'http', url: 'http://127.0.0.1:3001/mcp', trusted: false, protocol: 'legacy' },
    ]);
    expect(config.KERNOS_TOOL_TIMEOUT_MS).toBe(5000);
  });

  it('names the bad field', () => {
    expect(failure('{oops')).toMatch(/KERNOS_TOOL_SERVERS: not valid JSON/);
    expect(failure({ name: 'x' })).toMatch(/KERNOS_TOOL_SERVERS: must be a JSON list of servers/);
    expect(failure([])).toMatch(/KERNOS_TOOL_SERVERS: list at least one MCP server/);
    expect(failure([{ name: 'fs', transport: 'stdio' }])).toMatch(/KERNOS_TOOL_SERVERS\.0\.command:/);
    expect(failure([{ name: 'fs', transport: 'ws', url: 'ws://x' }])).toMatch(/KERNOS_TOOL_SERVERS\.0\.transport: transport must be "stdio"/);
    expect(failure([{ name: 'web', transport: 'http', url: 'ftp://x' }])).toMatch(/KERNOS_TOOL_SERVERS\.0\.url: must be an http\(s\) URL/);
    expect(failure([{ name: 'fs', transport: 'stdio', command: 'x', env: { N: 1 } }])).toMatch(/KERNOS_TOOL_SERVERS\.0\.env\.N:/);
    expect(failure([{ name: 'fs', transport: 'stdio', command: 'x', cmd: 'y' }])).toMatch(/KERNOS_TOOL_SERVERS\.0: Unrecognized key: "cmd"/);
    expect(failure({ name: 'x' }, { KERNOS_TOOL_TIMEOUT_MS: '-1' })).toMatch(/KERNOS_TOOL_TIMEOUT_MS/);
  });

  it('rejects dotted and duplicate server names, which would make server.tool names ambiguous', () => {
    expect(failure([{ name: 'a.b', transport: 'stdio', command: 'x' }])).toMatch(/KERNOS_TOOL_SERVERS\.0\.name: use letters, digits/);
    const duplicate = failure([
      { name: 'fs', transport: 'stdio', command: 'x' },
      { name: 'fs', transport: 'http', url: 'http://h/mcp' },
    ]);
    expect(duplicate).toMatch(/KERNOS_TOOL_SERVERS\.1\.name: duplicate server name "fs"/);
  });

  it('parses policy, capabilities and the MCP endpoint with defaults, naming bad fields', () => {
    const servers = [{ name: 'fs', transport: 'stdio', command: 'x', trusted: true }];
    const config = load(servers, {
      KERNOS_TOOL_POLICY: JSON.stringify({ rateLimits: { perTool: { echo: { ratePerSecond: 2 } }, perAgent: { ratePerSecond: 10, burst: 20 } } }),
      KERNOS_TOOL_CAPABILITIES: JSON.stringify({ search: ['cheap_search', 'web.search'] }),
      KERNOS_TOOL_MCP_ENDPOINT: JSON.stringify({ port: 0, tokens: [{ token: 'a-long-enough-token', jobId: 'job-1', governance: { riskLevel: 'limited' } }] }),
    });
    expect(config.KERNOS_TOOL_SERVERS[0]?.trusted).toBe(true);
    expect(config.KERNOS_TOOL_POLICY).toEqual({
      breaker: { consecutiveFailures: 5, halfOpenAfterMs: 10_000 },
      retry: { maxAttempts: 3, initialDelayMs: 50, maxDelayMs: 1_000 },
      rateLimits: { perTool: { echo: { ratePerSecond: 2 } }, perAgent: { ratePerSecond: 10, burst: 20 } },
    });
    expect(config.KERNOS_TOOL_CAPABILITIES).toEqual({ search: ['cheap_search', 'web.search'] });
    expect(config.KERNOS_TOOL_MCP_ENDPOINT).toMatchObject({ host: '127.0.0.1', port: 0, path: '/mcp' });
    expect(config.KERNOS_TOOL_MCP_ENDPOINT?.tokens[0]).toMatchObject({ grantedTools: [], governance: { humanOversight: 'none', dataCategories: [] } });
    expect(load(servers).KERNOS_TOOL_POLICY.retry.maxAttempts).toBe(3);

    expect(failure(servers, { KERNOS_TOOL_POLICY: '{"retry":{"maxAttempts":0}}' })).toMatch(/KERNOS_TOOL_POLICY\.retry\.maxAttempts/);
    expect(failure(servers, { KERNOS_TOOL_CAPABILITIES: '{"search":[]}' })).toMatch(/KERNOS_TOOL_CAPABILITIES\.search: list at least one tool/);
    expect(failure(servers, { KERNOS_TOOL_MCP_ENDPOINT: '{"tokens":[{"token":"short","jobId":"j","governance":{"riskLevel":"limited"}}]}' })).toMatch(
      /KERNOS_TOOL_MCP_ENDPOINT\.tokens\.0\.token: use at least 16 characters/,
    );
  });
});
