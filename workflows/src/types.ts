/**
 * Plain-data types shared by workflows and activities. They cross Temporal's JSON payload converter, so they
 * hold no classes, no protobuf messages and nothing that is not JSON.
 */

export interface GovernanceInput {
  /** "minimal" | "limited" | "high" | "unacceptable". */
  riskLevel: string;
  dataCategories: string[];
  /** "none" | "on_risk" | "always". */
  humanOversight: string;
  approver: string;
}

export interface RunIdentity {
  tenant: string;
  jobId: string;
  runId: string;
  agentId: string;
}

export interface AgentInput {
  tenant: string;
  jobId: string;
  agentId: string;
  /** What the agent is asked to do; the first user message. */
  goal: string;
  /** System prompt (default: a short neutral one). */
  instructions?: string;
  /** Model endpoint name in the scheduler's registry (default "default"). */
  endpoint?: string;
  /** Scheduling priority, higher first (default 0). */
  priority?: number;
  /** Tools granted to the job. */
  tools: string[];
  governance: GovernanceInput;
  /** What the agent's conclusion is about; the fact's subject in the graph. */
  subject: string;
  /** Data category the conclusion is written under (must be granted in governance). */
  dataCategory: string;
  /** Upper bound on LLM turns in this run (default 4). */
  maxTurns?: number;
  /** Output tokens per turn (default 256). */
  maxOutputTokens?: number;
  /** How a needs_approval decision waits (default: services/access's timeout, no escalation: the deadline denies). */
  approval?: {
    /** How long the approver has, in ms. */
    timeoutMs?: number;
    /** Who may decide once the first deadline passed. */
    escalateTo?: string;
  };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  toolCallId?: string;
  toolCalls?: ToolCallRequest[];
}

export interface ToolCallRequest {
  id: string;
  name: string;
  /** JSON text, as the model produced it. */
  arguments: string;
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the tool's input. */
  inputSchema: Record<string, unknown>;
}

export interface LlmTurnInput {
  run: RunIdentity;
  endpoint: string;
  priority: number;
  messages: ChatMessage[];
  tools: ToolSpec[];
  maxOutputTokens: number;
}

export interface LlmTurnResult {
  content: string;
  toolCalls: ToolCallRequest[];
  finishReason: string;
  endpoint: string;
  model: string;
  leaseId: string;
  waitedMs: number;
  inputTokens: number;
  outputTokens: number;
  /**
   * False when the activity could not give the lease back (NATS or the scheduler was away): the workflow then
   * releases it with a retried activity, so the slot is not held until the lease TTL. Unset means released.
   */
  leaseReleased?: boolean;
}

export interface AccessCheckInput {
  run: RunIdentity;
  governance: GovernanceInput;
  action: 'tool.call' | 'data.read' | 'data.write' | 'model.use';
  resource: string;
  grantedTools: string[];
  /** For tool.call: size of the arguments, so policies can bound it (default 0 = unknown). */
  payloadBytes?: number;
}

export interface AccessCheckResult {
  decision: 'allow' | 'deny' | 'needs_approval';
  reason: string;
  rule: string;
}

export interface ToolCallInput {
  run: RunIdentity;
  governance: GovernanceInput;
  tool: string;
  arguments: string;
  /**
   * Tools granted to the job. When set, the tool gateway asks services/access before calling (denied tools are
   * refused and audited there too); unset keeps the old behaviour (the gateway trusts the workflow's own check).
   */
  grantedTools?: string[];
}

export interface ToolCallResult {
  server: string;
  text: string;
  isError: boolean;
  latencyMs: number;
}

export interface RememberInput {
  run: RunIdentity;
  subject: string;
  predicate: string;
  object: string;
  text: string;
  dataCategory: string;
  /** The job's governance; services/graph checks data.write on the category with it (without it the write is denied). */
  governance?: GovernanceInput;
}

export interface RememberResult {
  factId: string;
  created: boolean;
}

export interface AgentResult {
  runId: string;
  answer: string;
  turns: number;
  toolCalls: number;
  factId: string;
  inputTokens: number;
  outputTokens: number;
}

/** One line of readable progress, kept in workflow state and exposed by the `progress` query. */
export interface ProgressEvent {
  at: number;
  service: 'scheduler' | 'tool-gateway' | 'access' | 'graph' | 'agent';
  message: string;
}

/** kernos.access.request-approval, as an activity's input. */
export interface ApprovalRequestInput {
  run: RunIdentity;
  governance: GovernanceInput;
  action: 'tool.call' | 'data.read' | 'data.write' | 'model.use';
  resource: string;
  grantedTools: string[];
  /** 0 = the service's default. */
  timeoutMs: number;
  escalateTo: string;
}

/** An approval as a workflow sees it (plain data; services/access keeps the full record and its lineage). */
export interface ApprovalView {
  id: string;
  status: 'pending' | 'approved' | 'denied' | 'expired';
  approver: string;
  escalated: boolean;
  deadlineUnixMs: number;
  decidedBy: string;
  comment: string;
}
