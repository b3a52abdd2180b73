import { describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import type { KernelClient } from '@kernos/service-kit';
import { access, contracts, create, graph, type Contract } from '@kernos/wire';
import type { Principal } from './access.js';
import { createArgumentValidator } from './arguments.js';
import type { CatalogTool } from './catalog.js';
import type { ToolGateway } from './gateway.js';
import { withKernelTools } from './kernel-tools.js';

const echo: CatalogTool = { name: 'echo', server: 'everything', toolName: 'echo', description: 'echo', inputSchema: { type: 'object' }, annotations: undefined };

/** The MCP side: a catalog with echo (and `recall`, when asked to clash); calls answer "mcp". */
function mcpGateway(tools: CatalogTool[] = [echo]): ToolGateway {
  const validator = createArgumentValidator();
  return {
    connect: () => Promise.resolve(),
    list: () => Promise.resolve(tools),
    call: () => Promise.reject(new Error('not used')),
    resolve: (name) => {
      const found = tools.find((t) => t.name === name || `${t.server}.${t.toolName}` === name);
      return found ? Promise.resolve(found) : Promise.reject(new KernosError('not_found', `unknown tool "${name}"`));
    },
    validate: (tool, args) => validator.check(tool, args),
    callResolved: (tool) => Promise.resolve({ tool, content: [], structuredContent: undefined, isError: false, text: 'mcp', latencyMs: 0 }),
    server: () => undefined,
    status: () => ({}),
    close: () => Promise.resolve(),
  };
}

/** services/access (the cross-job rule) and services/graph, answering from tables; records what was asked. */
function fakeKernel(): KernelClient & { asked: { subject: string; request: Record<string, unknown> }[] } {
  const asked: { subject: string; request: Record<string, unknown> }[] = [];
  return {
    asked,
    call: (contract: Contract, request: unknown) => {
      const r = request as Record<string, unknown> & { ref: { jobId: string } };
      asked.push({ subject: contract.subject, request: r });
      if (contract.subject === contracts.access.check.subject) {
        const otherJob = r.resourceJobId !== '' && r.resourceJobId !== undefined && r.resourceJobId !== r.ref.jobId;
        return Promise.resolve(
          create(access.CheckReplySchema, otherJob ? { decision: access.Decision.DENY, rule: 'cross-job-data', reason: 'job j may not touch data category "internal" of another job' } : { decision: access.Decision.ALLOW }),
        ) as never;
      }
      return Promise.resolve(create(graph.FactsReplySchema, { facts: [{ subject: 'acme', predicate: 'is', object: 'a customer', text: 'acme is a customer' }] })) as never;
    },
  };
}

const principal: Principal = {
  ref: { tenant: 't', jobId: 'j', runId: 'r', agentId: 'a' },
  governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: '' },
  grantedTools: ['recall'],
  enforceAccess: true,
};

describe('withKernelTools', () => {
  it('lists recall next to the MCP tools, and keeps an MCP tool of the same name as kernos.recall', async () => {
    const kernel = fakeKernel();
    expect((await withKernelTools(mcpGateway(), { kernel }).list()).map((t) => `${t.server}:${t.name}`)).toEqual(['everything:echo', 'kernos:recall']);
    const clashing = withKernelTools(mcpGateway([echo, { ...echo, name: 'recall', toolName: 'recall', server: 'memory' }]), { kernel });
    expect((await clashing.list()).map((t) => `${t.server}:${t.name}`)).toEqual(['everything:echo', 'kernos:kernos.recall', 'memory:recall']);
    expect((await clashing.resolve('recall')).server).toBe('memory');
    expect((await clashing.resolve('kernos.recall')).server).toBe('kernos');
  });

  it("recalls the job's own memory through services/graph, as the calling job", async () => {
    const kernel = fakeKernel();
    const gateway = withKernelTools(mcpGateway(), { kernel });
    const tool = await gateway.resolve('recall');
    const result = await gateway.callResolved(tool, { subject: 'acme' }, { principal });
    expect(result).toMatchObject({ isError: false, text: 'acme is a customer: acme is a customer' });
    expect(kernel.asked).toEqual([{ subject: contracts.graph.facts.subject, request: { ref: principal.ref, governance: principal.governance, subject: 'acme', limit: 20 } }]);
    // MCP tools still go to their servers.
    expect((await gateway.callResolved(echo, {}, { principal })).text).toBe('mcp');
  });

  it("refuses another job's memory with the policy's cross-job verdict, reading nothing", async () => {
    const kernel = fakeKernel();
    const gateway = withKernelTools(mcpGateway(), { kernel });
    const error = await gateway.callResolved(await gateway.resolve('recall'), { subject: 'acme', job: 'someone-else' }, { principal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernosError);
    expect(error).toMatchObject({ code: 'denied', details: { rule: 'cross-job-data' } });
    expect((error as Error).message).toContain('of another job');
    expect(kernel.asked.map((a) => a.subject)).toEqual([contracts.access.check.subject]);
    expect(kernel.asked[0]?.request).toMatchObject({ action: 'data.read', resource: 'internal', resourceJobId: 'someone-else' });
  });

  it('refuses a caller without governance, and checks arguments against its schema', async () => {
    const gateway = withKernelTools(mcpGateway(), { kernel: fakeKernel() });
    const tool = await gateway.resolve('recall');
    await expect(gateway.callResolved(tool, { subject: 'acme' }, {})).rejects.toMatchObject({ code: 'denied' });
    expect(() => gateway.validate(tool, { subject: 'acme', everything: true })).toThrow(/everything/);
    expect(() => gateway.validate(tool, {})).toThrow(/subject/);
  });
});
