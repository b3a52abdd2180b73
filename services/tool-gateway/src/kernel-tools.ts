import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { KernosError } from '@kernos/errors';
import type { KernelClient } from '@kernos/service-kit';
import { access, contracts } from '@kernos/wire';
import type { Principal } from './access.js';
import type { CatalogTool } from './catalog.js';
import type { ResolvedCallOptions, ToolCallResult, ToolGateway } from './gateway.js';

/** The server name kernel tools are listed under (`kernos.recall`). */
export const KERNEL_SERVER = 'kernos';

export interface KernelToolsOptions {
  kernel: KernelClient;
  /** Bound on each kernel request a kernel tool makes (default 5000 ms). */
  timeoutMs?: number;
}

const recall: CatalogTool = {
  name: 'recall',
  server: KERNEL_SERVER,
  toolName: 'recall',
  description:
    "What the kernel's shared memory holds about a subject: the currently true facts, newest first, in the data categories this job may read. " +
    '`job` names whose memory to read (default: this job\'s own); another job\'s memory is refused by policy.',
  inputSchema: {
    type: 'object',
    properties: {
      subject: { type: 'string', minLength: 1, maxLength: 1000, description: 'The entity to recall facts about.' },
      job: { type: 'string', maxLength: 200, description: "Whose memory: a job id (default: this job's own)." },
      limit: { type: 'integer', minimum: 1, maximum: 100, description: 'At most this many facts (default 20).' },
    },
    required: ['subject'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

/**
 * Tools the kernel itself offers through the gateway, next to the MCP servers' tools, so that a model reaches kernel
 * data only the way it reaches any tool: listed per job, checked by services/access (tool.call), rate limited and
 * audited per attempt by the router. Today one tool, `recall` (services/graph facts). Its `job` argument is the
 * point where a prompt-injected model asks for another job's data: the tool asks services/access for data.read on
 * the job's categories with that job as the data's owner, so the Cedar `cross-job-data` rule refuses it (and
 * services/access audits the refusal in the asking run's chain).
 *
 * A wrapper rather than an MCP server: the tool needs the caller's identity and governance, which the router hands
 * to `callResolved`; an MCP server would only see the gateway.
 */
export function withKernelTools(inner: ToolGateway, options: KernelToolsOptions): ToolGateway {
  const { kernel } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const tools = [recall];
  const own = (name: string, shadowed: boolean): CatalogTool | undefined =>
    tools.find((tool) => name === `${KERNEL_SERVER}.${tool.name}` || (!shadowed && name === tool.name));

  const run = async (tool: CatalogTool, args: Record<string, unknown>, callOptions: ResolvedCallOptions): Promise<ToolCallResult> => {
    const principal = callOptions.principal;
    if (!principal?.governance) {
      throw new KernosError('denied', `kernel tool "${tool.name}" reads kernel data and needs the caller's job and governance; the call carried none`);
    }
    const started = performance.now();
    const text = await recallFacts(kernel, principal, args, timeoutMs);
    const content: CallToolResult['content'] = [{ type: 'text', text }];
    return { tool, content, structuredContent: undefined, isError: false, text, latencyMs: Math.round(performance.now() - started) };
  };

  const isShadowed = async (name: string): Promise<boolean> => (await inner.list()).some((t) => t.name === name);

  return {
    connect: () => inner.connect(),
    async list() {
      const mcp = await inner.list();
      // An MCP tool of the same name keeps its bare name; the kernel's is then reachable as kernos.<name>.
      const extra = tools.map((tool) => (mcp.some((t) => t.name === tool.name) ? { ...tool, name: `${KERNEL_SERVER}.${tool.name}` } : tool));
      return [...mcp, ...extra].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async call(call) {
      const tool = await this.resolve(call.tool);
      this.validate(tool, call.arguments);
      return this.callResolved(tool, call.arguments);
    },
    async resolve(name) {
      const kernelTool = own(name, name.includes('.') ? false : await isShadowed(name));
      return kernelTool ?? inner.resolve(name);
    },
    validate: (tool, args) => inner.validate(tool, args),
    callResolved: (tool, args, callOptions = {}) => (tool.server === KERNEL_SERVER ? run(tool, args, callOptions) : inner.callResolved(tool, args, callOptions)),
    server: (name) => inner.server(name),
    status: () => ({ ...inner.status(), [KERNEL_SERVER]: { state: 'connected' } }),
    close: () => inner.close(),
  };
}

async function recallFacts(kernel: KernelClient, principal: Principal, args: Record<string, unknown>, timeoutMs: number): Promise<string> {
  const subject = String(args.subject);
  const job = typeof args.job === 'string' ? args.job.trim() : '';
  const limit = typeof args.limit === 'number' ? args.limit : 20;
  if (job !== '' && job !== principal.ref.jobId) {
    // Ask as the graph would for a read of that job's data: the policy, not this code, decides (and audits).
    const categories = principal.governance?.dataCategories ?? [];
    const replies = await Promise.all(
      (categories.length > 0 ? categories : ['']).map((category) =>
        kernel.call(
          contracts.access.check,
          { ref: principal.ref, governance: principal.governance, action: 'data.read', resource: category, resourceJobId: job, resourceTenant: principal.ref.tenant },
          { timeoutMs },
        ),
      ),
    );
    const refused = replies.find((reply) => reply.decision !== access.Decision.ALLOW);
    if (refused || replies.length === 0) {
      throw new KernosError('denied', `recall of job "${job}"'s memory is not allowed: ${refused?.reason || refused?.rule || 'denied by services/access'}`, {
        details: { rule: refused?.rule ?? '' },
      });
    }
    // Allowed (a policy that shares memory across jobs): the graph reads by category, so the answer is the same read.
  }
  const reply = await kernel.call(contracts.graph.facts, { ref: principal.ref, governance: principal.governance, subject, limit }, { timeoutMs });
  if (reply.facts.length === 0) return `nothing is known about "${subject}"`;
  return reply.facts.map((f) => `${f.subject} ${f.predicate} ${f.object}${f.text && f.text !== f.object ? `: ${f.text}` : ''}`).join('\n');
}
