// The workflow bundle's entry point: the worker loads this file with Temporal's bundler (workflowsPath).
export { agentWorkflow, progressQuery } from './agent.js';
