import { startKernel, type Kernel } from '@kernos/launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentResult, ProgressEvent } from '../src/types.js';
import { agentInput, neo4jDriver, temporalClient, uniqueTag } from './helpers.js';

// The walking skeleton end to end: every kernel process in its own OS process on the real stack, one agent
// that crosses the scheduler, the model endpoint, access, the tool gateway (real MCP server) and the graph.
let kernel: Kernel;
let temporal: Awaited<ReturnType<typeof temporalClient>>;

beforeAll(async () => {
  kernel = await startKernel({ env: { ...process.env } });
  temporal = await temporalClient();
});

afterAll(async () => {
  await temporal?.close();
  await kernel?.stop();
});

describe('one agent across the whole kernel', () => {
  it('schedules its turns, calls a real MCP tool, passes access checks and leaves a fact in Neo4j', async () => {
    const tag = uniqueTag();
    const handle = await temporal.client.workflow.start('agentWorkflow', { taskQueue: 'kernos-agents', workflowId: `it-agent-${tag}`, args: [agentInput(tag)] });
    const result = (await handle.result()) as AgentResult;

    expect(result.turns).toBe(2);
    expect(result.toolCalls).toBe(1);
    expect(result.inputTokens).toBeGreaterThan(0);
    expect(result.factId).toMatch(/^[0-9a-f]{32}$/);

    const progress = await handle.query<ProgressEvent[]>('progress');
    expect(new Set(progress.map((e) => e.service))).toEqual(new Set(['access', 'tool-gateway', 'scheduler', 'graph', 'agent']));
    // The echo tool really ran on the MCP server and its output reached the model's second turn.
    expect(progress.some((e) => e.service === 'tool-gateway' && e.message.startsWith('echo on everything'))).toBe(true);
    expect(result.answer).toContain(`case ${tag}`);

    const driver = neo4jDriver();
    try {
      const { records } = await driver.executeQuery(
        'MATCH (e:Episode {id: $runId})-[:ASSERTED]->(f:Fact {id: $factId}) RETURN f.subject AS subject, e.agent_id AS agent',
        { runId: result.runId, factId: result.factId },
      );
      expect(records.map((r) => r.toObject())).toEqual([{ subject: `case-${tag}`, agent: `agent-${tag}` }]);
    } finally {
      await driver.close();
    }
  });

  it('denies a write to a data category the job was not granted, and the run still completes', async () => {
    const tag = uniqueTag();
    const input = agentInput(tag, { dataCategory: 'health' });
    const result = await temporal.client.workflow.execute('agentWorkflow', { taskQueue: 'kernos-agents', workflowId: `it-deny-${tag}`, args: [input] });
    expect((result as AgentResult).factId).toBe('');
    const driver = neo4jDriver();
    try {
      const { records } = await driver.executeQuery('MATCH (f:Fact {subject: $subject}) RETURN count(f) AS n', { subject: `case-${tag}` });
      expect(records[0]?.get('n').toNumber()).toBe(0);
    } finally {
      await driver.close();
    }
  });
});
