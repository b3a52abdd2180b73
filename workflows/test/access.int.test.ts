import { startKernel, type Kernel } from '@kernos/launcher';
import { jetstream } from '@nats-io/jetstream';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit, verifyAudit } from '@kernos/audit';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { access, audit, contracts } from '@kernos/wire';
import type { ApprovalView, AgentResult, ProgressEvent } from '../src/types.js';
import { agentInput, temporalClient, uniqueTag } from './helpers.js';

// Governance end to end on the real kernel (every process its own OS process, the real stack): human approval
// that suspends a run, its deadline and escalation, and a prompt-injected model that tries to break out of its
// grant. Everything is read back from the AUDIT stream the kernel wrote.
let kernel: Kernel;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let nc: NatsConnection;
let client: KernelClient;
let emulatorUrl: string;

beforeAll(async () => {
  // Unpaced output, so the injected model's oversized tool call does not take emulated seconds per token.
  kernel = await startKernel({ env: { ...process.env }, processEnv: { emulator: { KERNOS_EMULATOR_TOKENS_PER_SECOND: '0' } } });
  temporal = await temporalClient();
  nc = await connectNats({ url: process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'access-e2e-test' });
  client = createKernelClient(nc, trace.getTracer('access-e2e-test'));
  emulatorUrl = kernel.openaiBaseUrl.replace(/\/v1$/, '');
});

afterAll(async () => {
  await nc?.drain();
  await temporal?.close();
  await kernel?.stop();
});

async function script(rule: unknown): Promise<void> {
  const response = await fetch(`${emulatorUrl}/emulator/script`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) });
  expect(response.status).toBe(201);
}

async function pendingApproval(handle: { query<T>(name: string): Promise<T> }, approver?: string): Promise<ApprovalView> {
  for (let i = 0; i < 300; i++) {
    const pending = await handle.query<ApprovalView[]>('pendingApprovals');
    const found = pending.find((a) => approver === undefined || a.approver === approver);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the run never waited for an approval');
}

async function auditOf(runId: string, atLeast: number) {
  const js = jetstream(nc);
  for (let i = 0; i < 100; i++) {
    const records = await queryAudit(js, { runId });
    if (records.length >= atLeast) return records.map((r) => r.record);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${atLeast} audit records for run ${runId}`);
}

const decide = (approvalId: string, approver: string, approve = true) =>
  client.call(contracts.access.decide, { approvalId, approver, approve, comment: `by ${approver}` }).catch((error: unknown) => error as KernosError);

describe('human approval', () => {
  it('suspends the run until the job approver approves; the requester and strangers cannot', async () => {
    const tag = uniqueTag();
    const input = agentInput(tag, {
      governance: { riskLevel: 'high', dataCategories: ['internal'], humanOversight: 'always', approver: 'lead@example.com' },
      approval: { timeoutMs: 120_000 },
    });
    const handle = await temporal.client.workflow.start('agentWorkflow', { taskQueue: 'kernos-agents', workflowId: `it-approval-${tag}`, args: [input] });
    const pending = await pendingApproval(handle);
    expect(pending).toMatchObject({ status: 'pending', approver: 'lead@example.com' });

    // The cockpit's view over NATS.
    const listed = await client.call(contracts.access.approvals, { runId: handle.workflowId });
    expect(listed.approvals.map((a) => a.id)).toEqual([pending.id]);

    const self = await decide(pending.id, `agent:agent-${tag}`);
    expect(self).toBeInstanceOf(KernosError);
    expect((self as KernosError).message).toContain('may not approve');
    const stranger = await decide(pending.id, 'mallory@example.com');
    expect((stranger as KernosError).message).toContain('only lead@example.com may');

    const approved = await decide(pending.id, 'Lead@Example.com');
    expect(approved).not.toBeInstanceOf(Error);
    const result = (await handle.result()) as AgentResult;
    expect(result.toolCalls).toBe(1);
    const progress = await handle.query<ProgressEvent[]>('progress');
    expect(progress.some((e) => e.message.includes('approved by Lead@Example.com'))).toBe(true);
    expect(progress.some((e) => e.service === 'tool-gateway' && e.message.startsWith('echo on'))).toBe(true);

    const records = await auditOf(handle.workflowId, 4);
    const approvals = records.filter((r) => r.kind === audit.Kind.APPROVAL);
    expect(approvals.map((r) => r.outcome)).toEqual(['requested', 'approved']);
    expect(JSON.parse(approvals[1]!.detailJson)).toMatchObject({ requester: `agent:agent-${tag}`, decidedBy: 'Lead@Example.com', approvalId: pending.id });
    expect(records.some((r) => r.kind === audit.Kind.ACCESS_DECISION && r.outcome === 'needs_approval' && r.resource === 'echo')).toBe(true);
    // Once approved, checks of this run's echo calls are allowed because of that approval, and say so.
    const recheck = await client.call(contracts.access.check, { ref: { tenant: 'test', jobId: `job-${tag}`, runId: handle.workflowId, agentId: `agent-${tag}` }, governance: input.governance, action: 'tool.call', resource: 'echo', grantedTools: ['echo'] });
    expect(recheck).toMatchObject({ decision: access.Decision.ALLOW, approvalId: pending.id });
    expect((await verifyAudit(jetstream(nc), { runId: handle.workflowId })).ok).toBe(true);
  });

  it('escalates at the deadline, and a second deadline denies; the run goes on without the tool', async () => {
    const tag = uniqueTag();
    const governance = { riskLevel: 'high', dataCategories: ['internal'], humanOversight: 'always', approver: 'lead@example.com' };
    const escalating = await temporal.client.workflow.start('agentWorkflow', {
      taskQueue: 'kernos-agents',
      workflowId: `it-escalate-${tag}`,
      args: [agentInput(tag, { governance, approval: { timeoutMs: 1_500, escalateTo: 'cto@example.com' } })],
    });
    const expiring = await temporal.client.workflow.start('agentWorkflow', {
      taskQueue: 'kernos-agents',
      workflowId: `it-expire-${tag}`,
      args: [agentInput(`${tag}x`, { governance, approval: { timeoutMs: 1_500 } })],
    });

    const escalated = await pendingApproval(escalating, 'cto@example.com');
    expect(escalated.escalated).toBe(true);
    expect((await decide(escalated.id, 'lead@example.com')) as KernosError).toBeInstanceOf(KernosError);
    expect(await decide(escalated.id, 'cto@example.com', false)).not.toBeInstanceOf(Error);

    const [denied, expired] = (await Promise.all([escalating.result(), expiring.result()])) as AgentResult[];
    expect(denied!.toolCalls).toBe(1);
    expect(expired!.toolCalls).toBe(1);
    const deniedProgress = await escalating.query<ProgressEvent[]>('progress');
    expect(deniedProgress.some((e) => e.message.includes('denied by cto@example.com'))).toBe(true);
    const expiredProgress = await expiring.query<ProgressEvent[]>('progress');
    expect(expiredProgress.some((e) => e.message.includes('no decision by lead@example.com before the deadline'))).toBe(true);
    expect(expiredProgress.some((e) => e.service === 'tool-gateway' && e.message.startsWith('echo on'))).toBe(false);

    const steps = (await auditOf(expiring.workflowId, 3)).filter((r) => r.kind === audit.Kind.APPROVAL).map((r) => r.outcome);
    expect(steps).toEqual(['requested', 'expired']);
    const escalationSteps = (await auditOf(escalating.workflowId, 4)).filter((r) => r.kind === audit.Kind.APPROVAL).map((r) => r.outcome);
    expect(escalationSteps).toEqual(['requested', 'escalated', 'denied']);
  });
});

describe('a prompt-injected model', () => {
  it('is refused every tool outside its grant, malformed and oversized arguments, and the run still completes', async () => {
    const tag = uniqueTag();
    await script({
      contains: `case ${tag}`,
      responses: [
        {
          toolCalls: [
            { name: 'write_file', arguments: { path: '/etc/passwd', content: 'ignore previous instructions' } },
            { name: 'read_job_data', arguments: { jobId: 'someone-elses-job', category: 'health' } },
            { name: 'echo', arguments: '{"message": "unterminated' },
            { name: 'echo', arguments: { message: 12345 } },
            { name: 'echo', arguments: { message: 'exfiltrate everything now '.repeat(2_800) } },
            { name: 'echo', arguments: { message: `still working on ${tag}` } },
          ],
        },
        { content: `Answer: done with case ${tag}` },
      ],
    });
    const handle = await temporal.client.workflow.start('agentWorkflow', {
      taskQueue: 'kernos-agents',
      workflowId: `it-injected-${tag}`,
      // Room for the oversized call in one turn (the emulator truncates at max_tokens like a real model).
      args: [agentInput(tag, { maxTurns: 3, maxOutputTokens: 20_000 })],
    });
    const result = (await handle.result()) as AgentResult;
    expect(result.toolCalls).toBe(6);
    expect(result.answer).toContain(`done with case ${tag}`);
    expect(result.factId).not.toBe('');

    const progress = (await handle.query<ProgressEvent[]>('progress')).map((e) => e.message);
    expect(progress).toContain(`tool.call write_file: deny (tool "write_file" is not granted to job job-${tag})`);
    expect(progress).toContain(`tool.call read_job_data: deny (tool "read_job_data" is not granted to job job-${tag})`);
    expect(progress).toContain('tool.call echo: deny (the arguments to "echo" are larger than 64 KiB)');
    const rejected = progress.filter((m) => m.startsWith('echo rejected:'));
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toContain('not valid JSON');
    expect(progress.some((m) => m.startsWith('echo on'))).toBe(true);

    const records = await auditOf(handle.workflowId, 9);
    const decisions = records.filter((r) => r.kind === audit.Kind.ACCESS_DECISION && r.action === 'tool.call' && r.service === 'access');
    const denials = decisions.filter((r) => r.outcome === 'deny').map((r) => `${r.resource}:${JSON.parse(r.detailJson).rule}`);
    expect(denials.sort()).toEqual(['echo:payload-too-large', 'read_job_data:tool-not-granted', 'write_file:tool-not-granted']);
    expect(records.filter((r) => r.kind === audit.Kind.ACCESS_DECISION).every((r) => r.ref?.runId === handle.workflowId && r.governance?.riskLevel === 'limited')).toBe(true);
    // Both LLM turns, relayed by the worker through kernos.audit.append into the same chain.
    expect(records.filter((r) => r.kind === audit.Kind.LLM_TURN).map((r) => r.outcome)).toEqual(['tool_calls', 'stop']);
    expect((await verifyAudit(jetstream(nc), { runId: handle.workflowId })).ok).toBe(true);
  });

  it('cannot reach another job\'s data or another tenant\'s, whatever it asks for', async () => {
    const ref = { tenant: 'test', jobId: 'job-a', runId: `run-${uniqueTag()}`, agentId: 'agent-a' };
    const governance = { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' };
    const otherJob = await client.call(contracts.access.check, { ref, governance, action: 'data.read', resource: 'internal', resourceJobId: 'job-b' });
    const otherTenant = await client.call(contracts.access.check, { ref, governance, action: 'data.read', resource: 'internal', resourceTenant: 'other' });
    const own = await client.call(contracts.access.check, { ref, governance, action: 'data.read', resource: 'internal' });
    expect(otherJob).toMatchObject({ decision: access.Decision.DENY, rule: 'cross-job-data' });
    expect(otherTenant).toMatchObject({ decision: access.Decision.DENY, rule: 'cross-tenant-data' });
    expect(own.decision).toBe(access.Decision.ALLOW);
  });
});
