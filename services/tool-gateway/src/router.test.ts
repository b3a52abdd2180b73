import { describe, expect, it } from 'vitest';
import { createLogger } from '@kernos/service-kit';
import type { AccessPolicy, Principal, Verdict } from './access.js';
import { createMemoryAuditSink } from './audit.js';
import type { CatalogTool } from './catalog.js';
import { toolPolicySchema } from './config.js';
import type { ToolGateway } from './gateway.js';
import { createResilience } from './resilience/policies.js';
import { createToolRouter } from './router.js';

const tool = (name: string): CatalogTool => ({ name, server: 's', toolName: name, description: name, inputSchema: { type: 'object' }, annotations: undefined });
const catalog = ['echo', 'add', 'approve_me', 'denied_tool'].map(tool);
const gateway = { list: () => Promise.resolve(catalog) } as unknown as ToolGateway;

/** services/access as a table; records which tools it was asked about. */
function table(verdicts: Record<string, Verdict['decision']>): AccessPolicy & { asked: string[] } {
  const asked: string[] = [];
  return { asked, check: (_p, name) => (asked.push(name), Promise.resolve({ decision: verdicts[name] ?? 'deny', reason: '', rule: 't' })) };
}

const principal = (grantedTools: string[], seeksApprovals?: boolean): Principal => ({
  ref: { tenant: 't', jobId: 'j', runId: 'r', agentId: 'a' },
  governance: { riskLevel: 'limited', dataCategories: [], humanOversight: 'none', approver: '' },
  grantedTools,
  enforceAccess: true,
  ...(seeksApprovals === undefined ? {} : { seeksApprovals }),
});

const routerWith = (access: AccessPolicy) =>
  createToolRouter({ gateway, access, audit: createMemoryAuditSink(), logger: createLogger('t', () => {}), resilience: createResilience(toolPolicySchema.parse({})) });

describe('router.list (the per-job catalog)', () => {
  const verdicts = { echo: 'allow', add: 'allow', approve_me: 'needs_approval', denied_tool: 'deny' } as const;

  it('asks services/access only about granted tools and keeps those it allows', async () => {
    const access = table(verdicts);
    const listed = await routerWith(access).list(principal(['echo', 'approve_me', 'denied_tool']));
    expect(listed.tools.map((t) => t.name)).toEqual(['echo']);
    expect(access.asked.sort()).toEqual(['approve_me', 'denied_tool', 'echo']);
  });

  it('also lists tools needing approval for a caller that can seek approvals (a workflow)', async () => {
    const listed = await routerWith(table(verdicts)).list(principal(['echo', 'approve_me', 'denied_tool'], true));
    expect(listed.tools.map((t) => t.name)).toEqual(['echo', 'approve_me']);
  });

  it('without grants asks about every tool; without governance lists everything unasked', async () => {
    const access = table(verdicts);
    expect((await routerWith(access).list(principal([]))).tools.map((t) => t.name)).toEqual(['echo', 'add']);
    expect(access.asked).toHaveLength(4);
    const none = table(verdicts);
    expect((await routerWith(none).list({ ...principal([]), governance: undefined })).tools).toHaveLength(4);
    expect(none.asked).toEqual([]);
  });
});
