// @kernos/sdk for workflow authors (the package re-exports this module). Everything here is deterministic workflow
// code: kernel work happens in the kernel's activities (workflows/src/activities), reached through proxyActivities only.
export { Agent, startAgent } from './agent.js';
export type { AgentOptions, Fact, Governance, RememberOutcome, ResumeToken, ToolOutcome, WriteDecision, WriteOutcome } from './agent.js';
export { Budget, emptyUsage } from './budget.js';
export type { BudgetLimits, BudgetUsage, BudgetVerdict } from './budget.js';
export { installOperatorControls, pauseSignal, resumeSignal, cancelSignal, injectSignal, stateQuery } from './operator.js';
export type { AgentState, AgentStatus, OperatorControls, OperatorSnapshot } from './operator.js';
// Approvals of kernel actions are services/access's (re-exported); decisions are the author's own questions.
export { createApprovalGate, approvalDecisionUpdate, pendingApprovalsQuery } from '../workflows/approval.js';
export type { ApprovalOutcome, ApprovalDecisionArgs, ApprovalGateOptions } from '../workflows/approval.js';
export { scheduledLlmTurn } from '../workflows/lease.js';
export { installDecisions, decideUpdate, pendingDecisionsQuery } from './decision.js';
export type { DecisionGate, DecisionInput, DecisionOutcome, DecisionRequest, PendingDecision } from './decision.js';
export { Workspace, defaultContextPolicy, resolveContextPolicy, headOf } from './workspace.js';
export type { ContextPolicy, WorkspaceIO, WorkspaceState, WorkspaceStats } from './workspace.js';
export { textTokens, messageTokens, promptTokens } from './tokens.js';
export type * from './types.js';
