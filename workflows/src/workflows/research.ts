import { continueAsNew, log } from '@temporalio/workflow';
import { startAgent, type AgentState, type BudgetLimits, type ContextPolicy, type Governance, type ResumeToken } from '../sdk/index.js';

export interface ResearchInput {
  tenant: string;
  jobId: string;
  agentId: string;
  /** What the research is about: the subject of the facts it recalls and writes. */
  topic: string;
  /** The research plan: questions worked through in order, each with its own LLM turns. */
  questions: string[];
  tools: string[];
  governance: Governance<string>;
  /** Data category the findings are read and written under (must be granted in governance). */
  dataCategory: string;
  endpoint?: string;
  priority?: number;
  /** LLM turns per question before moving on (default 3). */
  maxTurnsPerQuestion?: number;
  budget?: BudgetLimits;
  context?: Partial<ContextPolicy>;
  /** Ask the job's approver (a decision, see @kernos/sdk) before the report is written to the shared graph (default false). */
  publishNeedsApproval?: boolean;
  /** Set by the workflow itself when it continues as new. */
  resume?: ResumeToken;
}

export interface ResearchResult {
  runId: string;
  status: Extract<AgentState['status'], 'completed' | 'cancelled' | 'budget_exhausted'>;
  report: string;
  questionsAnswered: number;
  turns: number;
  summaryTurns: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Temporal runs this agent run took (continue-as-new hand-overs + 1). */
  runs: number;
  compactions: number;
  evictedMessages: number;
  /** Object-store references of archived context segments (working memory kept by reference). */
  archivedSegments: number;
  contextTokens: number;
  recalledFacts: number;
  factId: string;
  published: 'yes' | 'no' | 'not_approved';
}

/** What the research agent carries over continue-as-new, besides the SDK's own snapshot. */
interface ResearchState {
  next: number;
  answered: number;
  lastAnswers: string[];
  recalled: number;
}

const instructions =
  'You are a research agent. For each question, use your tools to find out, then answer in one or two sentences. ' +
  'Earlier findings are in the summary; build on them.';

/**
 * A research agent on @kernos/sdk: recalls what the fleet already knows about the topic (graph memory), works
 * through a plan of questions with tools (each call access-checked and routed by the gateway), keeps its working
 * memory within a token window (summarising older turns at low priority), continues as new from a snapshot so a
 * long plan never outgrows Temporal's history, and writes its report to the graph, with approval if asked.
 */
export async function researchWorkflow(input: ResearchInput): Promise<ResearchResult> {
  const agent = await startAgent<string, string, ResearchState>({
    tenant: input.tenant,
    jobId: input.jobId,
    agentId: input.agentId,
    governance: input.governance,
    tools: input.tools,
    endpoint: input.endpoint,
    priority: input.priority,
    budget: input.budget,
    context: input.context,
    resume: input.resume,
    pinned: [
      { role: 'system', content: instructions },
      { role: 'user', content: `Research topic: ${input.topic}` },
    ],
  });
  const state: ResearchState = agent.restoredState ?? { next: 0, answered: 0, lastAnswers: [], recalled: 0 };

  if (agent.runs === 1) {
    const model = await agent.mayUseModel();
    if (!model.allowed) throw new Error(`job ${input.jobId} may not use its model endpoint: ${model.reason}`);
    const known = await agent.recall({ subject: input.topic, dataCategory: input.dataCategory, limit: 10 });
    if (known.status === 'ok' && known.facts.length > 0) {
      state.recalled = known.facts.length;
      await agent.say(`What the fleet already knows about ${input.topic}:\n${known.facts.map((f) => `- ${f.text}`).join('\n')}`);
    }
  }
  const tools = await agent.listTools();
  const maxTurnsPerQuestion = input.maxTurnsPerQuestion ?? 3;

  let status: ResearchResult['status'] = 'completed';
  plan: while (state.next < input.questions.length) {
    if (agent.shouldContinueAsNew()) {
      const resume = await agent.snapshot(state);
      log.info('research continues as new', { runs: agent.runs, next: state.next });
      return continueAsNew<typeof researchWorkflow>({ ...input, resume });
    }
    await agent.say(input.questions[state.next]!);
    let answer = '';
    for (let turn = 0; turn < maxTurnsPerQuestion; turn++) {
      const gate = await agent.checkpoint();
      if (gate !== 'continue') {
        status = gate === 'cancel' ? 'cancelled' : 'budget_exhausted';
        break plan;
      }
      const reply = await agent.llmTurn({ tools });
      answer = reply.content;
      if (reply.toolCalls.length === 0) break;
      await agent.callToolsFrom(reply);
    }
    state.answered += 1;
    state.lastAnswers = [...state.lastAnswers, answer].slice(-5);
    state.next += 1;
  }

  const report = state.lastAnswers.join('\n');
  let factId = '';
  let published: ResearchResult['published'] = 'no';
  if (status === 'completed' && report !== '') {
    const written = await agent.rememberWithApproval(
      { subject: input.topic, predicate: 'researched', object: report.slice(0, 200), text: report, dataCategory: input.dataCategory },
      input.publishNeedsApproval ? { action: 'report.publish', resource: input.topic, reason: `publish the research report on ${input.topic}` } : undefined,
    );
    if (written.status === 'written') {
      factId = written.factId;
      published = 'yes';
    } else if (written.status === 'not_approved') {
      published = 'not_approved';
    }
  }
  agent.operator.finish(status);
  const usage = agent.budget.usage;
  const context = agent.workspace.stats();
  return {
    runId: agent.run.runId,
    status,
    report,
    questionsAnswered: state.answered,
    turns: usage.turns,
    summaryTurns: usage.summaryTurns,
    toolCalls: usage.toolCalls,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    runs: agent.runs,
    compactions: context.compactions,
    evictedMessages: context.evictedMessages,
    archivedSegments: context.archived,
    contextTokens: context.windowTokens,
    recalledFacts: state.recalled,
    factId,
    published,
  };
}
