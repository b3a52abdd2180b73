// @kernos/sdk for workflow authors. Everything here is deterministic workflow code: kernel work happens in the
// kernel's activities (workflows/src/activities), which this module reaches through proxyActivities only.
export { Agent, startAgent } from './agent.js';
export type { AgentOptions, Governance, ResumeToken, ToolOutcome, WriteOutcome } from './agent.js';
export { Budget, emptyUsage } from './budget.js';
export type { BudgetLimits, BudgetUsage, BudgetVerdict } from './budget.js';
export { installOperatorControls, pauseSignal, resumeSignal, cancelSignal, injectSignal, stateQuery } from './operator.js';
export type { AgentState, AgentStatus, OperatorControls, OperatorSnapshot } from './operator.js';
// Approvals of kernel actions are services/access's (re-exported); decisions are the author's own questions.
export { createApprovalGate, approvalDecisionUpdate, pendingApprovalsQuery } from '@kernos/workflows/workflows/approval';
export type { ApprovalOutcome, ApprovalDecisionArgs, ApprovalGateOptions } from '@kernos/workflows/workflows/approval';
export { scheduledLlmTurn } from '@kernos/workflows/workflows/lease';
export { installDecisions, decideUpdate, pendingDecisionsQuery } from './decision.js';
export type { DecisionGate, DecisionInput, DecisionOutcome, DecisionRequest, PendingDecision } from './decision.js';
export { Workspace, defaultContextPolicy, resolveContextPolicy, headOf } from './workspace.js';
export type { ContextPolicy, WorkspaceIO, WorkspaceState, WorkspaceStats } from './workspace.js';
export { textTokens, messageTokens, promptTokens } from './tokens.js';
export type * from './types.js';
