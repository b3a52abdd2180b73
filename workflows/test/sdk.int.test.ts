import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKernel, type Kernel } from '@kernos/launcher';
import { Objm } from '@nats-io/obj';
import { trace } from '@opentelemetry/api';
import { connectNats, createKernelClient } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentState, PendingDecision } from '../src/sdk/index.js';
import type { ApprovalView } from '../src/types.js';
import type { ResearchInput, ResearchResult } from '../src/workflows/research.js';
import type { TriageInput, TriageResult } from '../src/workflows/triage.js';
import type { AgentResult } from '../src/types.js';
import { agentInput, temporalClient, uniqueTag } from './helpers.js';

// The SDK, operator controls and the context manager on the real kernel: every process of the kernel in its own OS
// process (emulator with ~1 ms latency), a worker on a task queue of this file's own so no other worker takes its runs.
let kernel: Kernel;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
const taskQueue = `sdk-it-${uniqueTag()}`;
// Schedulers of concurrent kernels on one NATS share the acquire subject (one replica each, by design), so while
// developing beside other kernels this file can run its kernel on a private NATS; CI runs one kernel at a time.
const natsUrl = process.env.KERNOS_SDK_IT_NATS_URL ?? process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const governance = { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' };

const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  kernel = await startKernel({ logDir: join(tmpdir(), `kernos-${taskQueue}`), env: { ...process.env, KERNOS_NATS_URL: natsUrl, KERNOS_TASK_QUEUE: taskQueue, KERNOS_EMULATOR_LATENCY_MS: '1', KERNOS_EMULATOR_LATENCY_SIGMA: '0', KERNOS_EMULATOR_TOKENS_PER_SECOND: '100000' } });
  temporal = await temporalClient();
});

afterAll(async () => {
  await temporal?.close();
  await kernel?.stop();
});

const research = (tag: string, overrides: Partial<ResearchInput> = {}): ResearchInput => ({
  tenant: 'test',
  jobId: `job-research-${tag}`,
  agentId: `researcher-${tag}`,
  topic: `topic-${tag}`,
  questions: ['What is it?', 'Who uses it?'],
  tools: ['echo'],
  governance,
  dataCategory: 'internal',
  ...overrides,
});

describe('operator signals and queries on agentWorkflow', () => {
  it('pauses at a turn boundary, takes an injected message, resumes, and reports its state', async () => {
    const tag = uniqueTag();
    const handle = await temporal.client.workflow.signalWithStart('agentWorkflow', {
      taskQueue,
      workflowId: `it-op-${tag}`,
      args: [agentInput(tag)],
      signal: 'pause',
      signalArgs: ['hold for review'],
    });
    const paused = await waitFor('paused', async () => {
      const state = await handle.query<AgentState>('state');
      return state.status === 'paused' ? state : undefined;
    });
    expect(paused.reason).toBe('hold for review');
    // Paused before the first turn: no turn runs while it is held.
    await new Promise((r) => setTimeout(r, 500));
    expect((await handle.query<AgentState>('state')).details.turns).toBeUndefined();

    await handle.signal('inject', `Also look at ticket INJ-${tag}.`);
    expect((await handle.query<AgentState>('state')).pendingMessages).toBe(1);
    await handle.signal('resume');
    const result = (await handle.result()) as AgentResult;
    // The injected message was the newest user message, so the emulator's tool call echoed it and the answer quotes it.
    expect(result.answer).toContain(`INJ-${tag}`);
    const state = await handle.query<AgentState>('state');
    expect(state.status).toBe('completed');
    expect(state.details.turns).toBe(result.turns);
  });

  it('cancels cooperatively: the run completes with what it has and says it was cancelled', async () => {
    const tag = uniqueTag();
    const handle = await temporal.client.workflow.signalWithStart('agentWorkflow', {
      taskQueue,
      workflowId: `it-cancel-${tag}`,
      args: [agentInput(tag)],
      signal: 'pause',
      signalArgs: [],
    });
    await waitFor('paused', async () => ((await handle.query<AgentState>('state')).status === 'paused' ? true : undefined));
    await handle.signal('cancel', 'not needed any more');
    const result = (await handle.result()) as AgentResult;
    expect(result.turns).toBe(0);
    const state = await handle.query<AgentState>('state');
    expect(state).toMatchObject({ status: 'cancelled', reason: 'not needed any more' });
  });
});

describe('example agents', () => {
  it('research: tool calls approved through services/access, a publish decision, memory the next run recalls', async () => {
    const tag = uniqueTag();
    // Human oversight "always": the access policy makes every tool call wait for the job's approver.
    const overseen = { ...governance, humanOversight: 'always' };
    const first = await temporal.client.workflow.start('researchWorkflow', {
      taskQueue,
      workflowId: `it-research-${tag}`,
      args: [research(tag, { governance: overseen, publishNeedsApproval: true })],
    });
    const approval = await waitFor('a tool-call approval', async () => (await first.query<ApprovalView[]>('pendingApprovals'))[0]);
    expect(approval).toMatchObject({ status: 'pending', approver: 'lead@example.com' });
    // Through services/access, as the cockpit and `kernos approve` decide: the tool gateway asks access again before
    // the call, and only an approval access recorded counts there (an Update sent to the workflow alone would not).
    const nc = await connectNats({ url: natsUrl, name: 'sdk-it-approver' });
    try {
      await createKernelClient(nc, trace.getTracer('sdk-it')).call(contracts.access.decide, { approvalId: approval.id, approver: 'lead@example.com', approve: true, comment: 'ok' });
    } finally {
      await nc.close();
    }

    const decision = await waitFor('a publish decision', async () => (await first.query<PendingDecision[]>('pendingDecisions'))[0]);
    expect(decision).toMatchObject({ action: 'report.publish', resource: `topic-${tag}`, approver: 'lead@example.com' });
    await first.executeUpdate('decide', { args: [{ id: decision.id, approved: true, decidedBy: 'lead@example.com' }] });
    const result = (await first.result()) as ResearchResult;
    // The second call of the same tool in the same run reuses the approval (services/access keys it by run, action, tool).
    expect(result).toMatchObject({ status: 'completed', questionsAnswered: 2, toolCalls: 2, turns: 4, published: 'yes' });
    expect(result.factId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.report).toContain('Who uses it?');

    // A second agent on the same topic starts from what the first one wrote to the graph.
    const second = (await temporal.client.workflow.execute('researchWorkflow', {
      taskQueue,
      workflowId: `it-research2-${tag}`,
      args: [research(tag, { agentId: `researcher2-${tag}`, questions: ['Anything new?'] })],
    })) as ResearchResult;
    expect(second.recalledFacts).toBe(1);
  });

  it('research: a refused decision keeps the report out of the graph', async () => {
    const tag = uniqueTag();
    const handle = await temporal.client.workflow.start('researchWorkflow', { taskQueue, workflowId: `it-refuse-${tag}`, args: [research(tag, { questions: ['Q?'], publishNeedsApproval: true })] });
    const pending = await waitFor('an approval request', async () => (await handle.query<PendingDecision[]>('pendingDecisions'))[0]);
    await expect(handle.executeUpdate('decide', { args: [{ id: 'nope', approved: true, decidedBy: 'x' }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/id: no pending decision/) } });
    await handle.executeUpdate('decide', { args: [{ id: pending.id, approved: false, decidedBy: 'lead@example.com', note: 'not yet' }] });
    const result = (await handle.result()) as ResearchResult;
    expect(result).toMatchObject({ published: 'not_approved', factId: '' });
  });

  it('triage: investigates with a tool, escalates a critical ticket only after approval, records the triage', async () => {
    const tag = uniqueTag();
    const input: TriageInput = {
      tenant: 'test',
      jobId: `job-triage-${tag}`,
      agentId: `triager-${tag}`,
      ticket: { id: `T-${tag}`, title: 'Checkout is down', body: 'Customers see 502 on checkout since 09:00.', component: `checkout-${tag}` },
      tools: ['echo'],
      governance,
      dataCategory: 'internal',
    };
    const handle = await temporal.client.workflow.start('triageWorkflow', { taskQueue, workflowId: `it-triage-${tag}`, args: [input] });
    const pending = await waitFor('an escalation request', async () => (await handle.query<PendingDecision[]>('pendingDecisions'))[0]);
    expect(pending).toMatchObject({ action: 'ticket.escalate', resource: `T-${tag}` });
    await handle.executeUpdate('decide', { args: [{ id: pending.id, approved: true, decidedBy: 'lead@example.com' }] });
    const result = (await handle.result()) as TriageResult;
    expect(result).toMatchObject({ status: 'completed', severity: 'critical', escalation: 'approved', toolCalls: 1, turns: 2, recalledFacts: 0 });
    expect(result.factIds).toHaveLength(1);

    // The next ticket on the same component starts from the first triage (graph memory), and is not critical.
    const next = (await temporal.client.workflow.execute('triageWorkflow', {
      taskQueue,
      workflowId: `it-triage2-${tag}`,
      args: [{ ...input, ticket: { ...input.ticket, id: `T2-${tag}`, title: 'Typo on the checkout page', body: 'Minor.' } }],
    })) as TriageResult;
    expect(next).toMatchObject({ severity: 'normal', escalation: 'not_needed', recalledFacts: 1 });
  });
});

describe('context manager', () => {
  it('runs 500 turns within a token window: summaries, archives by reference, continue-as-new', async () => {
    const tag = uniqueTag();
    const questions = Array.from({ length: 500 }, (_, i) => `Question ${i}: what about item ${i}?`);
    const windowTokens = 1000;
    const handle = await temporal.client.workflow.start('researchWorkflow', {
      taskQueue,
      workflowId: `it-long-${tag}`,
      args: [research(tag, { questions, tools: [], context: { windowTokens, keepRecentMessages: 6, turnsPerRun: 100 } })],
    });
    const started = Date.now();
    const result = (await handle.result()) as ResearchResult;
    // A number to read, not a timed assertion: on an idle 2-core machine this is well under a minute.
    console.log(`500-turn run: ${Date.now() - started} ms, ${result.summaryTurns} summaries, ${result.runs} runs`);

    expect(result.status).toBe('completed');
    expect(result.turns).toBe(500);
    expect(result.questionsAnswered).toBe(500);
    // Four hand-overs for 500 turns at 100 turns per run, each from a snapshot in the object store.
    expect(result.runs).toBe(5);
    expect(result.compactions).toBeGreaterThan(15);
    expect(result.summaryTurns).toBe(result.compactions);
    expect(result.contextTokens).toBeLessThanOrEqual(windowTokens);
    // The last answer is about the last question: the window always holds the newest turns.
    expect(result.report).toContain('Question 499');

    // Each Temporal run's history stays small, whatever the run's length.
    const last = await temporal.client.workflow.getHandle(`it-long-${tag}`).fetchHistory();
    expect(last.events?.length ?? 0).toBeLessThan(1500);

    // Every evicted message is in the object store, not in workflow history.
    const nc = await connectNats({ url: natsUrl, name: 'sdk-int-test' });
    try {
      const store = await new Objm(nc).open('kernos-context');
      const names: string[] = [];
      for (const info of await store.list()) if (info.name.startsWith(`it-long-${tag}/archive/`)) names.push(info.name);
      expect(names.length).toBe(result.archivedSegments);
      const archived = (await Promise.all(names.map(async (n) => JSON.parse(new TextDecoder().decode((await store.getBlob(n))!)) as { content: string }[]))).flat();
      expect(archived.length).toBe(result.evictedMessages);
      expect(archived.some((m) => m.content === 'Question 0: what about item 0?')).toBe(true);
    } finally {
      await nc.close();
    }
  }, 600_000);
});
