import { ApplicationFailure, proxyActivities, uuid4, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { RecalledFact } from '../activities/index.js';
import { createApprovalGate, type ApprovalOutcome } from '../workflows/approval.js';
import { scheduledLlmTurn } from '../workflows/lease.js';
import { installDecisions, type DecisionGate, type DecisionOutcome, type DecisionRequest } from './decision.js';
import { Budget, type BudgetLimits, type BudgetUsage } from './budget.js';
import { installOperatorControls, type OperatorControls, type OperatorSnapshot } from './operator.js';
import type { ChatMessage, GovernanceInput, KernosActivities, LlmTurnResult, RunIdentity, ToolCallRequest, ToolSpec } from './types.js';
import { resolveContextPolicy, Workspace, type ContextPolicy, type WorkspaceIO, type WorkspaceState } from './workspace.js';

/** Failures retrying cannot fix (the same list as the kernel's agentWorkflow). */
const terminal = ['invalid_argument', 'not_found', 'denied', 'needs_approval', 'conflict', 'internal'];
const retry: ActivityOptions['retry'] = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 6, nonRetryableErrorTypes: terminal };

const kernel = proxyActivities<KernosActivities>({ startToCloseTimeout: '1m', retry });

/** Governance whose data categories are known at compile time, so `remember`/`recall` only take granted ones. */
export interface Governance<Category extends string> extends Omit<GovernanceInput, 'dataCategories'> {
  dataCategories: readonly Category[];
}

export interface AgentOptions<Tool extends string, Category extends string> {
  tenant: string;
  jobId: string;
  agentId: string;
  governance: Governance<Category>;
  /** Tools granted to the job; `callTool` only takes these names. */
  tools: readonly Tool[];
  /** Model endpoint in the scheduler's registry (default "default"). */
  endpoint?: string;
  /** Scheduling priority of this agent's turns, higher first (default 0). */
  priority?: number;
  /** Output tokens per turn (default 256). */
  maxOutputTokens?: number;
  budget?: BudgetLimits;
  context?: Partial<ContextPolicy>;
  /** The system prompt and first user message: pinned in the window, never summarised away. */
  pinned: ChatMessage[];
  /** The `resume` value a previous run passed to continue-as-new (undefined on the first run). */
  resume?: ResumeToken | undefined;
}

/** What a run hands to its continuation: only a reference, so the snapshot stays out of workflow history. */
export interface ResumeToken {
  snapshotRef: string;
  /** Temporal runs so far in this agent run, including this one. */
  runs: number;
}

interface Snapshot<S> {
  version: 1;
  workspace: WorkspaceState;
  usage: BudgetUsage;
  operator: OperatorSnapshot;
  state: S;
}

/** The result of one tool call the model asked for, as the model should see it. */
export type ToolOutcome =
  | { status: 'ok'; text: string; isError: boolean; server: string; latencyMs: number }
  | { status: 'denied'; reason: string }
  | { status: 'not_approved'; reason: string }
  | { status: 'budget_exhausted'; reason: string };

export type WriteOutcome = { status: 'written'; factId: string; created: boolean } | { status: 'denied'; reason: string };

/** A fact for the shared graph, under one of the job's granted data categories. */
export interface Fact<Category extends string> {
  subject: string;
  predicate: string;
  object: string;
  /** The searchable text (default: `object`). */
  text?: string;
  dataCategory: Category;
}

/** What {@link Agent.rememberWithApproval} did: wrote, was refused by policy, or a person did not approve. */
export type RememberOutcome = WriteOutcome | { status: 'not_approved'; reason: string };

/** A person's decision to ask for before a write: the Agent's awaitDecision request and its timeout. */
export interface WriteDecision {
  action: string;
  resource: string;
  reason: string;
  /** Who decides (default: the job's governance approver). */
  approver?: string;
  /** How long to wait before the write counts as not approved (default 24 hours). */
  timeout?: string | number;
}

/**
 * Everything a Kernos agent does, for workflow authors. Each method is one or more kernel activities; the
 * workflow stays deterministic. Create it with `startAgent` first thing in the workflow.
 */
export class Agent<Tool extends string, Category extends string, S = undefined> {
  readonly run: RunIdentity;
  readonly budget: Budget;
  readonly operator: OperatorControls;
  readonly workspace: Workspace;
  readonly decisions: DecisionGate;
  readonly #approvals: ReturnType<typeof createApprovalGate>;
  /** Temporal runs so far in this agent run (1 on the first). */
  readonly runs: number;
  readonly #options: AgentOptions<Tool, Category>;
  readonly #restoredState: S | undefined;
  #turnsThisRun = 0;

  /** @internal use startAgent */
  constructor(options: AgentOptions<Tool, Category>, parts: { budget: Budget; operator: OperatorControls; workspace: Workspace; decisions: DecisionGate; approvals: ReturnType<typeof createApprovalGate>; runs: number; state: S | undefined }) {
    this.#options = options;
    this.run = { tenant: options.tenant, jobId: options.jobId, runId: workflowInfo().workflowId, agentId: options.agentId };
    this.budget = parts.budget;
    this.operator = parts.operator;
    this.workspace = parts.workspace;
    this.decisions = parts.decisions;
    this.#approvals = parts.approvals;
    this.runs = parts.runs;
    this.#restoredState = parts.state;
  }

  /** The author's own state from the snapshot the previous run left (undefined on the first run). */
  get restoredState(): S | undefined {
    return this.#restoredState;
  }

  get governance(): GovernanceInput {
    return { ...this.#options.governance, dataCategories: [...this.#options.governance.dataCategories] };
  }

  /** Access check `model.use` on the agent's endpoint. */
  async mayUseModel(): Promise<{ allowed: boolean; reason: string }> {
    const verdict = await this.#check('model.use', this.#endpoint);
    return { allowed: verdict.decision === 'allow', reason: verdict.reason };
  }

  /** The catalog entries of the granted tools. */
  async listTools(): Promise<ToolSpec[]> {
    return this.#options.tools.length === 0 ? [] : kernel.listTools(this.run, [...this.#options.tools], this.governance);
  }

  /**
   * The turn boundary: applies operator controls (waits while paused; injected messages join the workspace).
   * Returns "cancel" when the operator cancelled or the budget is spent; the author then finishes the run.
   */
  async checkpoint(): Promise<'continue' | 'cancel' | 'budget_exhausted'> {
    if ((await this.operator.checkpoint()) === 'cancel') return 'cancel';
    for (const message of this.operator.takeInjected()) await this.workspace.add({ role: 'user', content: message });
    if (!this.budget.check('turn').ok) return 'budget_exhausted';
    return 'continue';
  }

  /**
   * One LLM turn on the workspace: the prompt is fitted to the context window first (summarising or truncating
   * older turns), the turn is scheduled by the kernel and charged to the budget, and the reply joins the workspace.
   */
  async llmTurn(options: { tools?: ToolSpec[]; maxOutputTokens?: number } = {}): Promise<LlmTurnResult> {
    const verdict = this.budget.check('turn');
    if (!verdict.ok) throw ApplicationFailure.nonRetryable(verdict.reason, 'budget_exhausted');
    await this.workspace.fit();
    // Queued with the scheduler while the workflow is suspended (no worker slot held), then run with the grant.
    const turn = await scheduledLlmTurn({
      run: this.run,
      endpoint: this.#endpoint,
      priority: this.#options.priority ?? 0,
      messages: this.workspace.prompt(),
      tools: options.tools ?? [],
      maxOutputTokens: this.budget.outputAllowance(options.maxOutputTokens ?? this.#options.maxOutputTokens ?? 256),
    });
    this.budget.chargeTurn(turn.inputTokens, turn.outputTokens);
    this.#turnsThisRun += 1;
    await this.workspace.add({ role: 'assistant', content: turn.content, toolCalls: turn.toolCalls });
    this.#report();
    return turn;
  }

  /** Adds a message to the workspace (e.g. the next question); large content is stored by reference. */
  async say(content: string): Promise<void> {
    await this.workspace.add({ role: 'user', content });
  }

  /**
   * Calls a granted tool by name: access check `tool.call`, then the gateway; a "needs approval" verdict waits
   * for a person (no worker slot held) and calls only if approved. The result joins the workspace when the call
   * came from the model (`callToolsFrom`).
   */
  async callTool(name: Tool, args: Record<string, unknown> | string): Promise<ToolOutcome> {
    return this.#callTool(name, typeof args === 'string' ? args : JSON.stringify(args));
  }

  /** Runs every tool call of a turn and adds each outcome to the workspace as the tool's reply. */
  async callToolsFrom(turn: LlmTurnResult): Promise<ToolOutcome[]> {
    const outcomes: ToolOutcome[] = [];
    for (const call of turn.toolCalls) {
      const outcome = await this.#callTool(call.name, call.arguments);
      outcomes.push(outcome);
      await this.workspace.add({ role: 'tool', toolCallId: call.id, content: toolReply(call, outcome) });
    }
    return outcomes;
  }

  /** Writes a fact to the shared graph (persistent memory), after an access check `data.write` on its category. */
  async remember(fact: Fact<Category>): Promise<WriteOutcome> {
    const verdict = await this.#check('data.write', fact.dataCategory);
    if (verdict.decision !== 'allow') return { status: 'denied', reason: verdict.reason };
    return this.#write(fact);
  }

  /**
   * Writes a fact only with a person's consent: first the author's own `decision` when given (e.g. "publish this
   * report?"; a refusal or the timeout leaves the graph untouched), then the access check `data.write`, where a
   * needs_approval verdict waits for the job's approver through services/access as `callTool` does.
   */
  async rememberWithApproval(fact: Fact<Category>, decision?: WriteDecision): Promise<RememberOutcome> {
    if (decision) {
      const { timeout, ...request } = decision;
      const outcome = await this.awaitDecision(request, timeout === undefined ? undefined : { timeout });
      if (!outcome.approved) {
        return { status: 'not_approved', reason: outcome.timedOut ? `no decision by ${request.approver ?? this.#options.governance.approver} before the timeout` : `refused by ${outcome.decidedBy}${outcome.note ? `: ${outcome.note}` : ''}` };
      }
    }
    const verdict = await this.#check('data.write', fact.dataCategory);
    if (verdict.decision === 'deny') return { status: 'denied', reason: verdict.reason };
    if (verdict.decision === 'needs_approval') {
      const approval = await this.awaitApproval({ action: 'data.write', resource: fact.dataCategory });
      if (!approval.approved) return { status: 'not_approved', reason: approval.reason };
    }
    return this.#write(fact);
  }

  /**
   * Reads what the fleet knows about a subject from the graph, after an access check `data.read` on the category.
   * Only facts of that category are returned.
   */
  async recall(query: { subject: string; dataCategory: Category; limit?: number }): Promise<{ status: 'ok'; facts: RecalledFact[] } | { status: 'denied'; reason: string }> {
    const verdict = await this.#check('data.read', query.dataCategory);
    if (verdict.decision !== 'allow') return { status: 'denied', reason: verdict.reason };
    const facts = await kernel.recall({ run: this.run, governance: this.governance, subject: query.subject, limit: query.limit ?? 20 });
    return { status: 'ok', facts: facts.filter((f) => f.dataCategory === query.dataCategory) };
  }

  /**
   * Waits for the approval of a kernel action the access policy marked needs_approval (services/access records it
   * with lineage; the approver decides through kernos.access.decide). `callTool` does this by itself.
   */
  awaitApproval(request: { action: 'tool.call' | 'data.read' | 'data.write' | 'model.use'; resource: string }): Promise<ApprovalOutcome> {
    return this.#approvals.await({ ...request, grantedTools: [...this.#options.tools] });
  }

  /** Waits for a person's decision on something of the agent's own (see decision.ts); approver defaults to the job's. */
  awaitDecision(request: Omit<DecisionRequest, 'approver'> & { approver?: string }, options?: { timeout?: string | number }): Promise<DecisionOutcome> {
    return this.decisions.awaitDecision({ ...request, approver: request.approver ?? this.#options.governance.approver }, options);
  }

  /** Whether this Temporal run should hand over to a new one (turn count or history size from the policy). */
  shouldContinueAsNew(): boolean {
    const info = workflowInfo();
    return this.#turnsThisRun >= this.workspace.policy.turnsPerRun || info.historyLength >= this.workspace.policy.maxHistoryEvents || info.continueAsNewSuggested;
  }

  /**
   * Stores a snapshot (workspace, budget usage, operator state and the author's state) in the object store and
   * returns the token to pass as `resume` to continue-as-new.
   */
  async snapshot(state: S): Promise<ResumeToken> {
    const snapshot: Snapshot<S> = { version: 1, workspace: this.workspace.state(), usage: this.budget.usage, operator: this.operator.snapshot(), state };
    const stored = await kernel.storeContext({ run: this.run, kind: 'snapshot', key: `${this.runs}-${uuid4()}`, text: JSON.stringify(snapshot) });
    return { snapshotRef: stored.ref, runs: this.runs + 1 };
  }

  async #write(fact: Fact<Category>): Promise<WriteOutcome> {
    const written = await kernel.remember({ run: this.run, subject: fact.subject, predicate: fact.predicate, object: fact.object, text: fact.text ?? fact.object, dataCategory: fact.dataCategory, governance: this.governance });
    return { status: 'written', factId: written.factId, created: written.created };
  }

  get #endpoint(): string {
    return this.#options.endpoint ?? 'default';
  }

  #report(): void {
    const usage = this.budget.usage;
    this.operator.report({ ...usage, runs: this.runs, context: this.workspace.stats() });
  }

  #check(action: 'tool.call' | 'data.read' | 'data.write' | 'model.use', resource: string) {
    return kernel.checkAccess({ run: this.run, governance: this.governance, action, resource, grantedTools: [...this.#options.tools] });
  }

  async #callTool(name: string, args: string): Promise<ToolOutcome> {
    const budget = this.budget.check('tool');
    if (!budget.ok) return { status: 'budget_exhausted', reason: budget.reason };
    const verdict = await this.#check('tool.call', name);
    if (verdict.decision === 'deny') return { status: 'denied', reason: verdict.reason };
    if (verdict.decision === 'needs_approval') {
      const approval = await this.awaitApproval({ action: 'tool.call', resource: name });
      if (!approval.approved) return { status: 'not_approved', reason: approval.reason };
    }
    this.budget.chargeToolCall();
    const result = await kernel.callTool({ run: this.run, governance: this.governance, tool: name, arguments: args, grantedTools: [...this.#options.tools] });
    this.#report();
    return { status: 'ok', text: result.text, isError: result.isError, server: result.server, latencyMs: result.latencyMs };
  }
}

function toolReply(call: ToolCallRequest, outcome: ToolOutcome): string {
  switch (outcome.status) {
    case 'ok':
      return outcome.text;
    case 'denied':
      return `not allowed: ${outcome.reason}`;
    case 'not_approved':
      return `not approved: ${outcome.reason}`;
    default:
      return `${call.name} not called: ${outcome.reason}`;
  }
}

/**
 * Starts (or resumes) an agent run: registers the operator signals, the state query and approvals, then restores
 * the snapshot when `resume` is set. Call it first thing in the workflow function.
 */
export async function startAgent<const Tool extends string, const Category extends string, S = undefined>(
  options: AgentOptions<Tool, Category>,
): Promise<Agent<Tool, Category, S>> {
  const policy = resolveContextPolicy(options.context);
  // Handlers first: a signal that arrives while the snapshot loads must not be lost.
  let restoredOperator: OperatorSnapshot | undefined;
  const operator = installOperatorControls();
  const decisions = installDecisions();
  const run: RunIdentity = { tenant: options.tenant, jobId: options.jobId, runId: workflowInfo().workflowId, agentId: options.agentId };
  const approvals = createApprovalGate(run, { ...options.governance, dataCategories: [...options.governance.dataCategories] }, kernel);
  // Summaries are charged to the run's budget, which exists only once the snapshot (if any) is loaded.
  const charged: { budget?: Budget } = {};
  const io: WorkspaceIO = {
    store: async (kind, text) => (await kernel.storeContext({ run, kind, key: uuid4(), text })).ref,
    load: (ref) => kernel.loadContext(ref),
    summarise: async (previous, transcript) => {
      const summary = await scheduledLlmTurn({
        run,
        endpoint: options.endpoint ?? 'default',
        // Below the agents' own turns: compaction yields to real work on a busy endpoint.
        priority: policy.summaryPriority,
        messages: [
          { role: 'system', content: 'Summarise the conversation for your future self: keep facts, decisions, open questions and tool results that matter. Be brief.' },
          { role: 'user', content: previous === '' ? transcript : `Summary so far:\n${previous}\n\nNewer turns:\n${transcript}` },
        ],
        tools: [],
        maxOutputTokens: policy.summaryMaxTokens,
      });
      charged.budget?.chargeTurn(summary.inputTokens, summary.outputTokens, 'summary');
      return summary.content;
    },
  };

  let workspace: Workspace;
  let budget: Budget;
  let state: S | undefined;
  if (options.resume) {
    const snapshot = JSON.parse(await kernel.loadContext(options.resume.snapshotRef)) as Snapshot<S>;
    workspace = new Workspace(policy, io, snapshot.workspace);
    budget = new Budget(options.budget, snapshot.usage);
    restoredOperator = snapshot.operator;
    state = snapshot.state;
  } else {
    workspace = Workspace.create(policy, io, options.pinned);
    budget = new Budget(options.budget);
  }
  if (restoredOperator) operator.restore(restoredOperator);
  charged.budget = budget;
  return new Agent<Tool, Category, S>(options, { budget, operator, workspace, decisions, approvals, runs: options.resume?.runs ?? 1, state });
}
