export { runCli, usage, describeLines } from './cli.js';
export type { CliIo } from './cli.js';
export { createOperator, boardStatus, operatorNames } from './operator.js';
export type { Operator, OperatorDefaults, RunSummary, RunDetail, BoardStatus, ProgressLine, PendingApproval, ListRunsOptions, StartRunOptions } from './operator.js';
export { jobDocumentSchema, parseJobDocuments, agentInputFor } from './job.js';
export type { JobDocument, AgentInputDoc } from './job.js';
