// The workflow bundle's entry point: the worker loads this file with Temporal's bundler (workflowsPath).
export { agentWorkflow, progressQuery } from './agent.js';
export { approvalDecisionUpdate, pendingApprovalsQuery } from './approval.js';
export type { ApprovalDecisionArgs } from './approval.js';
export { researchWorkflow } from './research.js';
export type { ResearchInput, ResearchResult } from './research.js';
export { triageWorkflow } from './triage.js';
export type { Ticket, TriageInput, TriageResult, Severity } from './triage.js';
