import { startAgent, type AgentState, type BudgetLimits, type Governance } from '../sdk/index.js';

export interface Ticket {
  id: string;
  title: string;
  body: string;
  /** Who or what the ticket is about (e.g. a service name): the subject the agent recalls and remembers. */
  component: string;
}

export interface TriageInput {
  tenant: string;
  jobId: string;
  agentId: string;
  ticket: Ticket;
  tools: string[];
  governance: Governance<string>;
  /** Data category of triage facts (must be granted in governance). */
  dataCategory: string;
  endpoint?: string;
  priority?: number;
  /** LLM turns before the agent must decide (default 4). */
  maxTurns?: number;
  budget?: BudgetLimits;
  /** How long an escalation waits for the approver before it is treated as refused (default "1h"). */
  approvalTimeout?: string;
}

export type Severity = 'critical' | 'normal';

export interface TriageResult {
  runId: string;
  status: Extract<AgentState['status'], 'completed' | 'cancelled' | 'budget_exhausted'>;
  severity: Severity;
  /** Whether the ticket was escalated: critical tickets are, only with the approver's consent. */
  escalation: 'not_needed' | 'approved' | 'refused';
  summary: string;
  turns: number;
  toolCalls: number;
  /** Facts about the component the agent found in the graph before it started. */
  recalledFacts: number;
  factIds: string[];
}

// Deterministic, so replays agree; the model's reading of the ticket goes into the summary, not the routing rule.
const criticalWords = /\b(outage|down|breach|data loss|urgent|sev-?1)\b/i;

/**
 * A triage agent on @kernos/sdk: recalls past findings about the ticket's component from the graph, investigates
 * with its tools (access-checked, through the gateway), classifies the ticket, asks a person before it escalates a
 * critical one (a suspended workflow while it waits), and records the triage in the graph for the next agent.
 */
export async function triageWorkflow(input: TriageInput): Promise<TriageResult> {
  const { ticket } = input;
  const agent = await startAgent({
    tenant: input.tenant,
    jobId: input.jobId,
    agentId: input.agentId,
    governance: input.governance,
    tools: input.tools,
    endpoint: input.endpoint,
    priority: input.priority,
    budget: input.budget,
    pinned: [
      { role: 'system', content: 'You triage support tickets. Investigate with your tools, then summarise the problem and its likely cause in one sentence.' },
      { role: 'user', content: `Ticket ${ticket.id} about ${ticket.component}: ${ticket.title}\n\n${ticket.body}` },
    ],
  });
  const model = await agent.mayUseModel();
  if (!model.allowed) throw new Error(`job ${input.jobId} may not use its model endpoint: ${model.reason}`);

  const known = await agent.recall({ subject: ticket.component, dataCategory: input.dataCategory, limit: 5 });
  const recalledFacts = known.status === 'ok' ? known.facts.length : 0;
  if (known.status === 'ok' && recalledFacts > 0) {
    await agent.say(`Earlier findings about ${ticket.component}:\n${known.facts.map((f) => `- ${f.text}`).join('\n')}`);
  }

  const tools = await agent.listTools();
  let summary = '';
  let status: TriageResult['status'] = 'completed';
  for (let turn = 0; turn < (input.maxTurns ?? 4); turn++) {
    const gate = await agent.checkpoint();
    if (gate !== 'continue') {
      status = gate === 'cancel' ? 'cancelled' : 'budget_exhausted';
      break;
    }
    const reply = await agent.llmTurn({ tools });
    summary = reply.content;
    if (reply.toolCalls.length === 0) break;
    await agent.callToolsFrom(reply);
  }

  const severity: Severity = criticalWords.test(`${ticket.title} ${ticket.body}`) ? 'critical' : 'normal';
  let escalation: TriageResult['escalation'] = 'not_needed';
  if (status === 'completed' && severity === 'critical') {
    const decision = await agent.awaitDecision(
      { action: 'ticket.escalate', resource: ticket.id, reason: `critical ticket on ${ticket.component}: ${ticket.title}` },
      { timeout: input.approvalTimeout ?? '1h' },
    );
    escalation = decision.approved ? 'approved' : 'refused';
  }

  const factIds: string[] = [];
  if (status === 'completed') {
    const triaged = await agent.rememberWithApproval({
      subject: ticket.component,
      predicate: 'triaged',
      object: `${ticket.id}: ${severity}${escalation === 'approved' ? ', escalated' : ''}`,
      text: `Ticket ${ticket.id} (${ticket.title}) triaged as ${severity}; escalation ${escalation}. ${summary}`,
      dataCategory: input.dataCategory,
    });
    if (triaged.status === 'written') factIds.push(triaged.factId);
  }
  agent.operator.finish(status);
  const usage = agent.budget.usage;
  return { runId: agent.run.runId, status, severity, escalation, summary, turns: usage.turns, toolCalls: usage.toolCalls, recalledFacts, factIds };
}
