import type { Tool, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/** One routable tool: the name callers use, and where it really lives. */
export interface CatalogTool {
  /** The name callers use: the tool's own name, or `server.tool` when several servers offer that name. */
  name: string;
  server: string;
  /** The name the MCP server knows the tool by. */
  toolName: string;
  description: string;
  inputSchema: Tool['inputSchema'];
  /** The tool's declared structured-output schema, passed on to MCP clients of the kernel's endpoint. */
  outputSchema?: Tool['outputSchema'];
  title?: string;
  annotations: ToolAnnotations | undefined;
}

export interface ServerTools {
  server: string;
  tools: readonly Tool[];
}

export interface Catalog {
  /** Sorted by name. */
  tools: readonly CatalogTool[];
  byName: ReadonlyMap<string, CatalogTool>;
  /** Every tool is also reachable as `server.tool`, clash or not, so callers can pin a server. */
  byQualifiedName: ReadonlyMap<string, CatalogTool>;
  /** Bare names offered by several servers, with the qualified names to use instead. */
  clashes: ReadonlyMap<string, readonly string[]>;
}

export function qualifiedName(server: string, tool: string): string {
  return `${server}.${tool}`;
}

/**
 * Builds the routing table. When several servers offer the same tool name, every one of them is qualified as
 * `server.tool`: letting the first server win would make routing depend on the order of the config.
 */
export function buildCatalog(servers: readonly ServerTools[]): Catalog {
  const offeredBy = new Map<string, string[]>();
  for (const { server, tools } of servers) {
    for (const tool of tools) offeredBy.set(tool.name, [...(offeredBy.get(tool.name) ?? []), server]);
  }

  const byName = new Map<string, CatalogTool>();
  const byQualifiedName = new Map<string, CatalogTool>();
  const clashes = new Map<string, string[]>();
  for (const { server, tools } of servers) {
    for (const tool of tools) {
      const offering = offeredBy.get(tool.name) ?? [];
      const clash = offering.length > 1;
      const entry: CatalogTool = {
        name: clash ? qualifiedName(server, tool.name) : tool.name,
        server,
        toolName: tool.name,
        description: tool.description ?? '',
        inputSchema: tool.inputSchema,
        ...(tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
        ...(tool.title ? { title: tool.title } : {}),
        annotations: tool.annotations,
      };
      if (clash) clashes.set(tool.name, offering.map((s) => qualifiedName(s, tool.name)));
      // A server listing the same tool twice is a server bug; the first listing wins.
      if (!byName.has(entry.name)) byName.set(entry.name, entry);
      if (!byQualifiedName.has(qualifiedName(server, tool.name))) byQualifiedName.set(qualifiedName(server, tool.name), entry);
    }
  }
  const tools = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { tools, byName, byQualifiedName, clashes };
}

/** Finds a tool by its catalog name, or by `server.tool` even when that name does not clash. */
export function findTool(catalog: Catalog, name: string): CatalogTool | undefined {
  return catalog.byName.get(name) ?? catalog.byQualifiedName.get(name);
}

/**
 * The message for a tool that is not in the catalog: it names the tool and offers close names first, so a model
 * that misspelt a tool can correct itself from the error alone.
 */
export function unknownToolMessage(catalog: Catalog, name: string, limit = 5): string {
  const clash = catalog.clashes.get(name);
  if (clash) return `tool "${name}" is offered by several servers; call one of: ${clash.join(', ')}`;
  if (catalog.tools.length === 0) return `unknown tool "${name}": no tools are available (no MCP server is connected)`;
  const suggestions = closestNames(catalog.tools.map((t) => t.name), name, limit);
  const more = catalog.tools.length > suggestions.length ? `, ... (${catalog.tools.length} in all; see kernos.tool-gateway.list)` : '';
  return `unknown tool "${name}"; known tools include: ${suggestions.join(', ')}${more}`;
}

/** Names ordered by edit distance to the wanted one (ties alphabetically). */
export function closestNames(names: readonly string[], wanted: string, limit: number): string[] {
  const lower = wanted.toLowerCase();
  return names
    .map((name) => ({ name, distance: editDistance(name.toLowerCase(), lower) - (name.toLowerCase().includes(lower) && lower !== '' ? 100 : 0) }))
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((candidate) => candidate.name);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
