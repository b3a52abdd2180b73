import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { trace } from '@opentelemetry/api';
import { createAuditPublisher, ensureAuditStream, queryAudit, verifyAudit } from '@kernos/audit';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { access, audit, contracts } from '@kernos/wire';
import { approvalId, openApprovalStore, type ApprovalStore } from '../src/approvals/store.js';
import { createTemporalDelivery } from '../src/approvals/temporal.js';
import { startPrivateNats, type PrivateNats } from '@kernos/testkit';
import { createPolicyEngine } from '../src/policy/engine.js';
import { createAccessService } from '../src/service.js';

// A real nats-server of this file's own (the kernel's access service on the shared one would answer half of the
// requests in its queue group) and the shared Temporal dev server from the integration global setup.
const temporalAddress = process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const id = nuid.next().slice(-8).toLowerCase();
const stream = `AUDIT_ACCESS_TEST_${id}`;
const subjectPrefix = `kernos.auditaccesstest${id}`;
const bucket = `KERNOS_APPROVALS_TEST_${id}`;

let server: PrivateNats;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let client: KernelClient;
let approvals: ApprovalStore;
let stopService: () => Promise<void>;
const temporal = createTemporalDelivery({ address: temporalAddress, namespace: 'default' });

const governance = { riskLevel: 'limited', dataCategories: ['public'], humanOversight: 'none', approver: 'alice@example.com' };
const ref = () => ({ tenant: 'acme', jobId: `job-${id}`, runId: `run-${nuid.next()}`, agentId: 'agent-1' });

beforeAll(async () => {
  server = await startPrivateNats();
  nc = await connectNats({ url: server.url, name: 'access-int-test' });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureAuditStream(jsm, { name: stream, subjectPrefix, storage: 'memory' });
  approvals = await openApprovalStore(nc, { bucket });
  const service = createAccessService({
    nc,
    tracer: trace.getTracer('access-int-test'),
    logger: createLogger('access-test', () => undefined),
    engine: createPolicyEngine(),
    auditLog: createAuditPublisher(js, { stream, subjectPrefix }),
    approvals,
    deliver: temporal.deliver,
    approvalTimeoutMs: 60_000,
  });
  await service.start();
  stopService = () => service.stop();
  client = createKernelClient(nc, trace.getTracer('access-int-test'));
});

afterAll(async () => {
  await stopService?.();
  await approvals?.stop();
  await temporal.close();
  await nc?.drain();
  await server?.stop();
});

/** Waits until the run's audit records (written off the request path) are stored. */
async function recordsOf(runId: string, count: number) {
  for (let i = 0; i < 100; i++) {
    const records = await queryAudit(js, { runId }, { stream, subjectPrefix });
    if (records.length >= count) return records;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${count} audit records for ${runId}`);
}

describe('kernos.access.check over NATS', () => {
  it('decides with Cedar and audits every decision in the run chain', async () => {
    const run = ref();
    const allow = await client.call(contracts.access.check, { ref: run, governance, action: 'tool.call', resource: 'echo', grantedTools: ['echo'] });
    const deny = await client.call(contracts.access.check, { ref: run, governance, action: 'tool.call', resource: 'rm_rf', grantedTools: ['echo'] });
    const other = await client.call(contracts.access.check, { ref: run, governance, action: 'data.read', resource: 'public', resourceJobId: 'someone-elses-job' });
    expect(allow).toMatchObject({ decision: access.Decision.ALLOW, rule: 'tool-granted' });
    expect(deny).toMatchObject({ decision: access.Decision.DENY, rule: 'tool-not-granted' });
    expect(deny.reason).toContain('rm_rf');
    expect(other).toMatchObject({ decision: access.Decision.DENY, rule: 'cross-job-data' });

    const records = await recordsOf(run.runId, 3);
    expect(records.every((r) => r.record.kind === audit.Kind.ACCESS_DECISION)).toBe(true);
    expect(records.map((r) => r.record.outcome).sort()).toEqual(['allow', 'deny', 'deny']);
    expect(records.find((r) => r.record.resource === 'rm_rf')?.record.governance?.approver).toBe('alice@example.com');
    expect(JSON.parse(records.find((r) => r.record.resource === 'rm_rf')!.record.detailJson)).toMatchObject({ rule: 'tool-not-granted' });
    expect((await verifyAudit(js, { runId: run.runId }, { stream, subjectPrefix })).ok).toBe(true);
  });

  it('relays audit records for processes that may not publish to the stream, and rejects bad ones naming the field', async () => {
    const run = ref();
    const reply = await client.call(contracts.audit.append, { record: { kind: audit.Kind.LLM_TURN, ref: run, governance, action: 'chat', outcome: 'ok', detailJson: '{"tokens":3}' } });
    expect(reply.seq).toBe(1n);
    const bad = await client.call(contracts.audit.append, { record: { kind: audit.Kind.LLM_TURN, ref: run, detailJson: '[1]' } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(KernosError);
    expect((bad as KernosError).message).toContain('record.detail_json');
    const noRun = await client.call(contracts.audit.append, { record: { kind: audit.Kind.LLM_TURN, ref: { jobId: 'x' } } }).catch((e: unknown) => e);
    expect((noRun as KernosError).message).toContain('record.ref.run_id');
  });
});

describe('approvals', () => {
  const oversight = { ...governance, humanOversight: 'always' };

  it('registers a pending approval once, lists it, and refuses the requester and strangers', async () => {
    const run = ref();
    const check = await client.call(contracts.access.check, { ref: run, governance: oversight, action: 'tool.call', resource: 'echo', grantedTools: ['echo'] });
    expect(check.decision).toBe(access.Decision.NEEDS_APPROVAL);
    expect(check.approvalId).toBe(approvalId(run, 'tool.call', 'echo'));

    const request = { ref: run, governance: oversight, action: 'tool.call', resource: 'echo', grantedTools: ['echo'], timeoutMs: 60_000 };
    const first = await client.call(contracts.access.requestApproval, request);
    const again = await client.call(contracts.access.requestApproval, request);
    expect(first.approval).toMatchObject({ id: check.approvalId, status: access.ApprovalStatus.PENDING, approver: 'alice@example.com', requester: 'agent:agent-1' });
    expect(again.approval?.requestedAtUnixMs).toBe(first.approval?.requestedAtUnixMs);

    const listed = await client.call(contracts.access.approvals, { runId: run.runId });
    expect(listed.approvals.map((a) => a.id)).toEqual([check.approvalId]);

    const self = await client.call(contracts.access.decide, { approvalId: check.approvalId, approver: 'agent:agent-1', approve: true }).catch((e: unknown) => e);
    expect((self as KernosError).code).toBe('denied');
    expect((self as KernosError).message).toContain('may not approve');
    const stranger = await client.call(contracts.access.decide, { approvalId: check.approvalId, approver: 'mallory@example.com', approve: true }).catch((e: unknown) => e);
    expect((stranger as KernosError).message).toContain('only alice@example.com may');

    // No workflow waits on this run: the decision is refused and the approval stays pending.
    const orphan = await client.call(contracts.access.decide, { approvalId: check.approvalId, approver: 'Alice@Example.com', approve: true }).catch((e: unknown) => e);
    expect((orphan as KernosError).code).toBe('conflict');
    expect((await approvals.get(check.approvalId!))?.approval.status).toBe(access.ApprovalStatus.PENDING);

    // Still needs approval: nothing was granted.
    const recheck = await client.call(contracts.access.check, { ref: run, governance: oversight, action: 'tool.call', resource: 'echo', grantedTools: ['echo'] });
    expect(recheck.decision).toBe(access.Decision.NEEDS_APPROVAL);
  });

  it('refuses to register an approval the policy does not ask for', async () => {
    const error = await client
      .call(contracts.access.requestApproval, { ref: ref(), governance, action: 'tool.call', resource: 'echo', grantedTools: ['echo'] })
      .catch((e: unknown) => e);
    expect((error as KernosError).code).toBe('invalid_argument');
  });

  it('escalates at the first deadline and expires at the second, recording each step', async () => {
    const run = ref();
    const request = { ref: run, governance: oversight, action: 'tool.call', resource: 'echo', grantedTools: ['echo'], timeoutMs: 1, escalateTo: 'bob@example.com' };
    const { approval } = await client.call(contracts.access.requestApproval, request);
    await new Promise((r) => setTimeout(r, 5));
    const escalated = await client.call(contracts.access.expire, { approvalId: approval!.id });
    expect(escalated.approval).toMatchObject({ status: access.ApprovalStatus.PENDING, approver: 'bob@example.com', escalated: true });
    await new Promise((r) => setTimeout(r, 5));
    const expired = await client.call(contracts.access.expire, { approvalId: approval!.id });
    expect(expired.approval?.status).toBe(access.ApprovalStatus.EXPIRED);
    const late = await client.call(contracts.access.decide, { approvalId: approval!.id, approver: 'bob@example.com', approve: true }).catch((e: unknown) => e);
    expect((late as KernosError).message).toContain('already expired');

    const steps = (await recordsOf(run.runId, 3)).filter((r) => r.record.kind === audit.Kind.APPROVAL).map((r) => r.record.outcome);
    expect(steps).toEqual(['requested', 'escalated', 'expired']);
  });
});
