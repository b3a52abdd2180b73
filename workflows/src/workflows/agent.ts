import { defineQuery, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { KernosActivities } from '../activities/index.js';
import type { AgentInput, AgentResult, ChatMessage, GovernanceInput, ProgressEvent, RunIdentity } from '../types.js';

/** Failures that retrying cannot fix: the workflow sees them at once instead of after every attempt. */
const terminal = ['invalid_argument', 'not_found', 'denied', 'needs_approval', 'conflict', 'internal'];

const retry: ActivityOptions['retry'] = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 6,
  nonRetryableErrorTypes: terminal,
};

// An LLM turn heartbeats while it waits for its lease and while the model answers, so when a worker dies
// its turn is retried on another worker after the heartbeat timeout, not after the whole turn's timeout.
const { llmTurn } = proxyActivities<KernosActivities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '5s',
  retry,
});

const kernel = proxyActivities<KernosActivities>({ startToCloseTimeout: '1m', retry });

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

  const endpoint = input.endpoint ?? 'default';
  const modelUse = await kernel.checkAccess({ run, governance, action: 'model.use', resource: endpoint, grantedTools: input.tools });
  note('access', `model.use ${endpoint}: ${modelUse.decision}${modelUse.reason ? ` (${modelUse.reason})` : ''}`);
  if (modelUse.decision !== 'allow') {
    throw new Error(`job ${input.jobId} may not use endpoint ${endpoint}: ${modelUse.reason}`);
  }

  const tools = input.tools.length > 0 ? await kernel.listTools(run, input.tools) : [];
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
    turns += 1;
    const turn = await llmTurn({ run, endpoint, priority: input.priority ?? 0, messages, tools, maxOutputTokens: input.maxOutputTokens ?? 256 });
    inputTokens += turn.inputTokens;
    outputTokens += turn.outputTokens;
    note('scheduler', `turn ${turns}: lease ${turn.leaseId} on ${turn.endpoint} after ${turn.waitedMs} ms; ${turn.inputTokens}+${turn.outputTokens} tokens`);
    messages.push({ role: 'assistant', content: turn.content, toolCalls: turn.toolCalls });
    answer = turn.content;
    if (turn.toolCalls.length === 0) break;

    for (const call of turn.toolCalls) {
      toolCalls += 1;
      const verdict = await kernel.checkAccess({ run, governance, action: 'tool.call', resource: call.name, grantedTools: input.tools });
      note('access', `tool.call ${call.name}: ${verdict.decision}${verdict.reason ? ` (${verdict.reason})` : ''}`);
      if (verdict.decision !== 'allow') {
        // The model is told why, so it can change course; the run goes on.
        messages.push({ role: 'tool', toolCallId: call.id, content: `not allowed: ${verdict.reason}` });
        continue;
      }
      const result = await kernel.callTool({ run, governance, tool: call.name, arguments: call.arguments });
      note('tool-gateway', `${call.name} on ${result.server} in ${result.latencyMs} ms${result.isError ? ' (tool error)' : ''}`);
      messages.push({ role: 'tool', toolCallId: call.id, content: result.text });
    }
  }

  let factId = '';
  const write = await kernel.checkAccess({ run, governance, action: 'data.write', resource: input.dataCategory, grantedTools: input.tools });
  note('access', `data.write ${input.dataCategory}: ${write.decision}${write.reason ? ` (${write.reason})` : ''}`);
  if (write.decision === 'allow') {
    const fact = await kernel.remember({
      run,
      subject: input.subject,
      predicate: 'concluded',
      object: answer.slice(0, 200),
      text: answer,
      dataCategory: input.dataCategory,
    });
    factId = fact.factId;
    note('graph', `fact ${fact.factId} ${fact.created ? 'written' : 'already known'} about "${input.subject}"`);
  }
  note('agent', `done after ${turns} turns and ${toolCalls} tool calls`);
  return { runId: run.runId, answer, turns, toolCalls, factId, inputTokens, outputTokens };
}
