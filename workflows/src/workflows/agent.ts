import { ActivityFailure, ApplicationFailure, defineQuery, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { installOperatorControls } from '../sdk/index.js';
import type { KernosActivities } from '../activities/index.js';
import { createApprovalGate } from './approval.js';
import { scheduledLlmTurn } from './lease.js';
import type { AgentInput, AgentResult, ChatMessage, GovernanceInput, ProgressEvent, RunIdentity } from '../types.js';

/** Failures that retrying cannot fix: the workflow sees them at once instead of after every attempt. */
const terminal = ['invalid_argument', 'not_found', 'denied', 'needs_approval', 'conflict', 'internal'];

const retry: ActivityOptions['retry'] = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  // No attempt limit: a kernel service, NATS or Neo4j being restarted (a pod rescheduled, a node drained) must
  // delay a run, not fail it. Six attempts gave an outage only ~15 s (~65 s for a graph write that waits on the
  // outbox); the fault tests lost runs to slower restarts. scheduleToCloseTimeout bounds the whole wait instead.
  nonRetryableErrorTypes: terminal,
};

const kernel = proxyActivities<KernosActivities>({ startToCloseTimeout: '1m', scheduleToCloseTimeout: '15m', retry });

export const progressQuery = defineQuery<ProgressEvent[]>('progress');

const defaultInstructions = 'You are a careful agent. Use the tools you are given, then answer in one or two sentences.';

/**
 * A generic tool-using agent: it thinks in LLM turns (each scheduled by the kernel), calls the tools its job
 * grants (each checked by services/access and routed by services/tool-gateway), and remembers its conclusion
 * in services/graph. The run id is the workflow id, stable across retries, so every kernel write is idempotent.
 */
export async function agentWorkflow(input: AgentInput): Promise<AgentResult> {
  const run: RunIdentity = { tenant: input.tenant, jobId: input.jobId, runId: workflowInfo().workflowId, agentId: input.agentId };
  const governance: GovernanceInput = input.governance;
  const progress: ProgressEvent[] = [];
  const note = (service: ProgressEvent['service'], message: string) => progress.push({ at: Date.now(), service, message });
  setHandler(progressQuery, () => progress);
  // Operator pause/resume/cancel/inject and the `state` query; they act at turn boundaries (cooperative preemption).
  const operator = installOperatorControls();

  const approvals = createApprovalGate(run, governance, kernel, input.approval);

  const endpoint = input.endpoint ?? 'default';
  const modelUse = await kernel.checkAccess({ run, governance, action: 'model.use', resource: endpoint, grantedTools: input.tools });
  note('access', `model.use ${endpoint}: ${modelUse.decision}${modelUse.reason ? ` (${modelUse.reason})` : ''}`);
  if (modelUse.decision !== 'allow') {
    throw new Error(`job ${input.jobId} may not use endpoint ${endpoint}: ${modelUse.reason}`);
  }

  const tools = input.tools.length > 0 ? await kernel.listTools(run, input.tools, governance) : [];
  note('tool-gateway', `catalog: ${tools.map((t) => t.name).join(', ') || 'no tools'}`);

  const messages: ChatMessage[] = [
    { role: 'system', content: input.instructions ?? defaultInstructions },
    { role: 'user', content: input.goal },
  ];
  let answer = '';
  let turns = 0;
  let toolCalls = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  const maxTurns = input.maxTurns ?? 4;

  while (turns < maxTurns) {
    if ((await operator.checkpoint()) === 'cancel') {
      note('agent', `cancelled by the operator before turn ${turns + 1}`);
      break;
    }
    for (const content of operator.takeInjected()) messages.push({ role: 'user', content });
    turns += 1;
    // Queued with the scheduler while the workflow is suspended (no worker slot held), then run with the grant.
    const turn = await scheduledLlmTurn({ run, endpoint, priority: input.priority ?? 0, messages, tools, maxOutputTokens: input.maxOutputTokens ?? 256 });
    inputTokens += turn.inputTokens;
    outputTokens += turn.outputTokens;
    note('scheduler', `turn ${turns}: lease ${turn.leaseId} on ${turn.endpoint} after ${turn.waitedMs} ms; ${turn.inputTokens}+${turn.outputTokens} tokens`);
    messages.push({ role: 'assistant', content: turn.content, toolCalls: turn.toolCalls });
    answer = turn.content;
    operator.report({ turns, toolCalls, inputTokens, outputTokens });
    // An operator message that arrived during the turn gets its own turn rather than being dropped.
    if (turn.toolCalls.length === 0 && operator.snapshot().pending.length === 0) break;

    for (const call of turn.toolCalls) {
      toolCalls += 1;
      let verdict = await kernel.checkAccess({ run, governance, action: 'tool.call', resource: call.name, grantedTools: input.tools, payloadBytes: call.arguments.length });
      note('access', `tool.call ${call.name}: ${verdict.decision}${verdict.reason ? ` (${verdict.reason})` : ''}`);
      if (verdict.decision === 'needs_approval') {
        // Suspends the run (no worker slot) until the job's approver decides or the deadline denies.
        const approval = await approvals.await({ action: 'tool.call', resource: call.name, grantedTools: input.tools });
        note('access', `approval ${approval.approvalId} for ${call.name}: ${approval.reason}`);
        verdict = { decision: approval.approved ? 'allow' : 'deny', reason: approval.reason, rule: verdict.rule };
      }
      if (verdict.decision !== 'allow') {
        // The model is told why, so it can change course; the run goes on.
        messages.push({ role: 'tool', toolCallId: call.id, content: `not allowed: ${verdict.reason}` });
        continue;
      }
      let result: Awaited<ReturnType<typeof kernel.callTool>>;
      try {
        result = await kernel.callTool({ run, governance, tool: call.name, arguments: call.arguments, grantedTools: input.tools });
      } catch (error) {
        // A call the gateway rejects for good (malformed or schema-breaking arguments, denied) is the model's
        // mistake, not the run's: the model is told, and the run goes on. Anything else still fails the run.
        const rejected = rejection(error);
        if (rejected === undefined) throw error;
        note('tool-gateway', `${call.name} rejected: ${rejected}`);
        messages.push({ role: 'tool', toolCallId: call.id, content: `rejected: ${rejected}` });
        continue;
      }
      note('tool-gateway', `${call.name} on ${result.server} in ${result.latencyMs} ms${result.isError ? ' (tool error)' : ''}`);
      messages.push({ role: 'tool', toolCallId: call.id, content: result.text });
    }
  }

  let factId = '';
  const write = await kernel.checkAccess({ run, governance, action: 'data.write', resource: input.dataCategory, grantedTools: input.tools });
  note('access', `data.write ${input.dataCategory}: ${write.decision}${write.reason ? ` (${write.reason})` : ''}`);
  // A run cancelled before its first answer has no conclusion to remember.
  if (write.decision === 'allow' && answer !== '') {
    const fact = await kernel.remember({
      run,
      subject: input.subject,
      predicate: 'concluded',
      object: answer.slice(0, 200),
      text: answer,
      dataCategory: input.dataCategory,
      governance,
    });
    factId = fact.factId;
    note('graph', `fact ${fact.factId} ${fact.created ? 'written' : 'already known'} about "${input.subject}"`);
  }
  note('agent', `done after ${turns} turns and ${toolCalls} tool calls`);
  operator.finish(operator.cancelled ? 'cancelled' : 'completed');
  return { runId: run.runId, answer, turns, toolCalls, factId, inputTokens, outputTokens };
}

/** The message of a tool call the kernel refused for good (invalid_argument, denied), or undefined for other failures. */
function rejection(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : undefined;
  if (cause instanceof ApplicationFailure && (cause.type === 'invalid_argument' || cause.type === 'denied')) return cause.message;
  return undefined;
}
