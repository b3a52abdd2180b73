import { mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApplicationFailure } from '@temporalio/client';
import { startKernel, type Kernel } from '@kernos/launcher';
import { jetstream } from '@nats-io/jetstream';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit, verifyAudit } from '@kernos/audit';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { access, audit, contracts } from '@kernos/wire';
import { createActivities } from '../src/activities/index.js';
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

/** The entry script of an npm package's bin, so a tool server runs on this Node without npx or the network. */
function packageBin(name: string): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve(`${name}/package.json`);
  const manifest = require(manifestPath) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  return join(dirname(manifestPath), bin ?? 'dist/index.js');
}

beforeAll(async () => {
  // The gateway serves the reference server and server-filesystem, whose write_file declares itself destructive.
  const files = await mkdtemp(join(tmpdir(), 'kernos-access-e2e-'));
  const servers = [
    { name: 'everything', transport: 'stdio', command: process.execPath, args: [packageBin('@modelcontextprotocol/server-everything'), 'stdio'] },
    { name: 'fs', transport: 'stdio', command: process.execPath, args: [packageBin('@modelcontextprotocol/server-filesystem'), files] },
  ];
  kernel = await startKernel({
    env: { ...process.env },
    processEnv: {
      // Unpaced output, so the injected model's oversized tool call does not take emulated seconds per token.
      emulator: { KERNOS_EMULATOR_TOKENS_PER_SECOND: '0' },
      'tool-gateway': { KERNOS_TOOL_SERVERS: JSON.stringify(servers) },
    },
  });
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

/** The run's audit records once there are at least `atLeast` and `ready` holds (the gateway writes its own asynchronously). */
async function auditOf(runId: string, atLeast: number, ready: (records: audit.AuditRecord[]) => boolean = () => true) {
  const js = jetstream(nc);
  for (let i = 0; i < 100; i++) {
    const records = (await queryAudit(js, { runId })).map((r) => r.record);
    if (records.length >= atLeast && ready(records)) return records;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`fewer than ${atLeast} audit records (or not the expected ones) for run ${runId}`);
}
const has = (kind: audit.Kind, resource: string, count = 1) => (records: audit.AuditRecord[]) => records.filter((r) => r.kind === kind && r.resource === resource).length >= count;

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

describe('the per-job tool catalog', () => {
  it('offers the model only the granted tools services/access allows; the gateway refuses the rest and audits it', async () => {
    const tag = uniqueTag();
    // A high-risk job without human oversight: policy forbids destructive tools even when the job grants them.
    const governance = { riskLevel: 'high', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' };
    await script({
      contains: `case ${tag}`,
      responses: [
        { toolCalls: [{ name: 'write_file', arguments: { path: '/tmp/x', content: 'y' } }, { name: 'echo', arguments: { message: `hello ${tag}` } }] },
        { content: `Answer: done with case ${tag}` },
      ],
    });
    const input = agentInput(tag, { governance, tools: ['echo', 'read_text_file', 'write_file'] });
    const handle = await temporal.client.workflow.start('agentWorkflow', { taskQueue: 'kernos-agents', workflowId: `it-catalog-${tag}`, args: [input] });
    const result = (await handle.result()) as AgentResult;
    expect(result.answer).toContain(`done with case ${tag}`);

    // What the model was offered, as the emulator received it: granted and allowed only (not write_file, nor the
    // two dozen other tools the gateway routes to).
    const served = (await (await fetch(`${emulatorUrl}/emulator/requests`)).json()) as { requests: Array<{ user?: string; tools: string[] }> };
    const offered = served.requests.filter((r) => r.user === `agent-${tag}`).map((r) => [...r.tools].sort());
    expect(offered).toEqual([['echo', 'read_text_file'], ['echo', 'read_text_file']]);

    // The model called write_file anyway: the workflow's own check knows no annotations and let it through; the
    // gateway asked services/access with the tool's destructiveHint and refused. The run went on.
    const progress = (await handle.query<ProgressEvent[]>('progress')).map((e) => e.message);
    expect(progress.find((m) => m.startsWith('write_file rejected:'))).toContain('may not run in a high-risk job without human oversight');
    expect(progress.some((m) => m.startsWith('echo on everything'))).toBe(true);

    const records = await auditOf(handle.workflowId, 8, (r) => has(audit.Kind.TOOL_ATTEMPT, 'write_file')(r) && has(audit.Kind.TOOL_ATTEMPT, 'echo')(r));
    const attempt = records.find((r) => r.kind === audit.Kind.TOOL_ATTEMPT && r.resource === 'write_file');
    expect(attempt).toMatchObject({ service: 'tool-gateway', outcome: 'skipped' });
    expect(JSON.parse(attempt!.detailJson)).toMatchObject({ errorCode: 'denied', access: 'deny', server: 'fs' });
    const gatewayDenial = records.find((r) => r.kind === audit.Kind.ACCESS_DECISION && r.resource === 'write_file' && r.outcome === 'deny');
    expect(JSON.parse(gatewayDenial!.detailJson)).toMatchObject({ rule: 'destructive-tool-at-high-risk-without-oversight' });
    expect(records.some((r) => r.kind === audit.Kind.TOOL_ATTEMPT && r.resource === 'echo' && r.outcome === 'ok')).toBe(true);

    // The activity itself sends the grants: a tool outside them is refused by the gateway, in the same run's chain.
    const activities = createActivities({ kernel: client, openaiApiKey: 'test' });
    const run = { tenant: 'test', jobId: input.jobId, runId: handle.workflowId, agentId: input.agentId };
    const refused = await activities.callTool({ run, governance, tool: 'get-sum', arguments: '{"a":1,"b":2}', grantedTools: input.tools }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused).toMatchObject({ type: 'denied' });
    const after = await auditOf(handle.workflowId, records.length + 2, has(audit.Kind.TOOL_ATTEMPT, 'get-sum'));
    expect(after.some((r) => r.kind === audit.Kind.TOOL_ATTEMPT && r.resource === 'get-sum' && JSON.parse(r.detailJson).access === 'deny')).toBe(true);
    expect(after.some((r) => r.kind === audit.Kind.ACCESS_DECISION && r.resource === 'get-sum' && JSON.parse(r.detailJson).rule === 'tool-not-granted')).toBe(true);
    expect((await verifyAudit(jetstream(nc), { runId: handle.workflowId })).ok).toBe(true);
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
            // A granted tool, asked for another job's memory: refused by the cross-job rule, not by the grant.
            { name: 'recall', arguments: { subject: `case-${tag}`, job: 'someone-elses-job' } },
            { name: 'echo', arguments: '{"message": "unterminated' },
            { name: 'echo', arguments: { message: 12345 } },
            { name: 'echo', arguments: { message: 'exfiltrate everything now '.repeat(2_800) } },
            { name: 'echo', arguments: { message: `still working on ${tag}` } },
            { name: 'recall', arguments: { subject: `case-${tag}` } },
          ],
        },
        { content: `Answer: done with case ${tag}` },
      ],
    });
    const handle = await temporal.client.workflow.start('agentWorkflow', {
      taskQueue: 'kernos-agents',
      workflowId: `it-injected-${tag}`,
      // Room for the oversized call in one turn (the emulator truncates at max_tokens like a real model).
      args: [agentInput(tag, { maxTurns: 3, maxOutputTokens: 20_000, tools: ['echo', 'recall'] })],
    });
    const result = (await handle.result()) as AgentResult;
    expect(result.toolCalls).toBe(8);
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
    expect(progress).toContain('tool.call recall: allow');
    expect(progress.find((m) => m.startsWith('recall rejected:'))).toContain(`may not touch data category "internal" of another job`);
    // Its own memory it may recall (the kernel tool works; nothing is known yet about this case).
    expect(progress.some((m) => m.startsWith('recall on kernos'))).toBe(true);

    const records = await auditOf(handle.workflowId, 9, (r) => has(audit.Kind.TOOL_ATTEMPT, 'recall', 2)(r) && has(audit.Kind.GRAPH_WRITE, 'internal')(r));
    const decisions = records.filter((r) => r.kind === audit.Kind.ACCESS_DECISION && r.action === 'tool.call' && r.service === 'access');
    const denials = decisions.filter((r) => r.outcome === 'deny').map((r) => `${r.resource}:${JSON.parse(r.detailJson).rule}`);
    expect(denials.sort()).toEqual(['echo:payload-too-large', 'read_job_data:tool-not-granted', 'write_file:tool-not-granted']);
    // Another job's data: denied by the cross-job rule, decided and audited by services/access in this run's chain,
    // and the gateway's attempt record says the tool call was refused as denied.
    const crossJob = records.filter((r) => r.kind === audit.Kind.ACCESS_DECISION && r.action === 'data.read' && r.outcome === 'deny');
    expect(crossJob.map((r) => `${r.resource}:${JSON.parse(r.detailJson).rule}`)).toEqual(['internal:cross-job-data']);
    const recallAttempts = records.filter((r) => r.kind === audit.Kind.TOOL_ATTEMPT && r.resource === 'recall').map((r) => [r.outcome, JSON.parse(r.detailJson).errorCode]);
    expect(recallAttempts).toEqual([['failed', 'denied'], ['ok', '']]);
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
