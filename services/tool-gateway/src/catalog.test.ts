import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { buildCatalog, closestNames, findTool, unknownToolMessage } from './catalog.js';

const tool = (name: string): Tool => ({ name, description: `does ${name}`, inputSchema: { type: 'object', properties: {} } });

describe('buildCatalog', () => {
  it('keeps bare names when they are unique, sorted', () => {
    const catalog = buildCatalog([
      { server: 'a', tools: [tool('search'), tool('echo')] },
      { server: 'b', tools: [tool('read_file')] },
    ]);
    expect(catalog.tools.map((t) => [t.name, t.server])).toEqual([['echo', 'a'], ['read_file', 'b'], ['search', 'a']]);
    expect(findTool(catalog, 'read_file')).toMatchObject({ server: 'b', toolName: 'read_file', description: 'does read_file' });
  });

  it('qualifies every server of a clashing name, so routing does not depend on config order', () => {
    const catalog = buildCatalog([
      { server: 'a', tools: [tool('echo'), tool('only_a')] },
      { server: 'b', tools: [tool('echo')] },
    ]);
    expect(catalog.tools.map((t) => t.name)).toEqual(['a.echo', 'b.echo', 'only_a']);
    expect(findTool(catalog, 'echo')).toBeUndefined();
    expect(findTool(catalog, 'b.echo')).toMatchObject({ server: 'b', toolName: 'echo' });
    expect(unknownToolMessage(catalog, 'echo')).toBe('tool "echo" is offered by several servers; call one of: a.echo, b.echo');
  });

  it('also accepts server.tool for a name that does not clash', () => {
    const catalog = buildCatalog([{ server: 'a', tools: [tool('echo')] }]);
    expect(findTool(catalog, 'a.echo')?.name).toBe('echo');
    expect(findTool(catalog, 'b.echo')).toBeUndefined();
  });
});

describe('unknownToolMessage', () => {
  it('names the tool and offers the closest known names first', () => {
    const catalog = buildCatalog([{ server: 'a', tools: ['echo', 'get-sum', 'get-env', 'read_file', 'write_file', 'list_dir', 'zip'].map(tool) }]);
    const message = unknownToolMessage(catalog, 'ehco');
    expect(message).toMatch(/^unknown tool "ehco"; known tools include: echo, /);
    expect(message).toContain('(7 in all; see kernos.tool-gateway.list)');
  });

  it('says so when nothing is connected', () => {
    expect(unknownToolMessage(buildCatalog([]), 'echo')).toMatch(/no tools are available/);
  });
});

describe('closestNames', () => {
  it('prefers names containing the wanted text, then edit distance', () => {
    expect(closestNames(['write_file', 'read_file', 'echo', 'file'], 'file', 2)).toEqual(['file', 'read_file']);
    expect(closestNames(['alpha', 'beta', 'gamma'], 'betta', 1)).toEqual(['beta']);
  });
});
