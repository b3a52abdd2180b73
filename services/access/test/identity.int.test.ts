import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { trace } from '@opentelemetry/api';
import { createAuditPublisher, ensureAuditStream, verifyAudit } from '@kernos/audit';
import { createKernelClient, createLogger } from '@kernos/service-kit';
import { audit, contracts } from '@kernos/wire';
import { openApprovalStore, type ApprovalStore } from '../src/approvals/store.js';
import { devPasswords } from '../src/identity/dev.js';
import { natsAuthorization } from '../src/identity/nats-config.js';
import { natsUser, type KernosRole } from '../src/identity/roles.js';
import { createPolicyEngine } from '../src/policy/engine.js';
import { createAccessService } from '../src/service.js';
import { startPrivateNats, type PrivateNats } from './private-nats.js';

// A real nats-server of this file's own (own port and state dir) started with the generated per-role config.
let server: PrivateNats;
const connections: NatsConnection[] = [];
let approvals: ApprovalStore;
let stopService: () => Promise<void>;

async function as(role: KernosRole): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, user: natsUser(role), pass: devPasswords[role], name: `identity-test-${role}` });
  connections.push(nc);
  return nc;
}

/** Publishes and flushes; a permissions violation comes back as the server's -ERR on the connection. */
async function publishRefused(nc: NatsConnection, subject: string): Promise<boolean> {
  const errors: string[] = [];
  const watch = (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message ?? ''));
  })();
  nc.publish(subject, 'x');
  await nc.flush();
  await new Promise((r) => setTimeout(r, 100));
  void watch;
  return errors.some((e) => /permissions violation/i.test(e) && e.includes(subject));
}

beforeAll(async () => {
  server = await startPrivateNats(() => natsAuthorization({ passwords: devPasswords }));
  const accessNc = await as('access');
  await ensureAuditStream(await jetstreamManager(accessNc), { storage: 'memory', retention: { maxAgeMs: 3_600_000 } });
  approvals = await openApprovalStore(accessNc);
  const service = createAccessService({
    nc: accessNc,
    tracer: trace.getTracer('identity-test'),
    logger: createLogger('identity-test', () => undefined),
    engine: createPolicyEngine(),
    auditLog: createAuditPublisher(jetstream(accessNc)),
    approvals,
    deliver: () => Promise.reject(new Error('no workflows here')),
  });
  await service.start();
  // The service's subscriptions must reach the server before other connections ask.
  await accessNc.flush();
  stopService = () => service.stop();
});

afterAll(async () => {
  await stopService?.();
  await approvals?.stop();
  for (const nc of connections) await nc.close().catch(() => undefined);
  await server?.stop();
});

describe('per-role NATS credentials', () => {
  it('refuse a wrong password', async () => {
    await expect(connect({ servers: server.url, user: natsUser('worker'), pass: 'guess' })).rejects.toThrow(/authorization/i);
  });

  it('refuse a worker publishing audit records, deleting the audit stream or deciding approvals', async () => {
    const worker = await as('worker');
    expect(await publishRefused(worker, 'kernos.audit.acme.job-1.run-1')).toBe(true);
    expect(await publishRefused(worker, 'kernos.access.decide')).toBe(true);
    expect(await publishRefused(worker, '$JS.API.STREAM.DELETE.AUDIT')).toBe(true);
    expect(await publishRefused(worker, '$KV.KERNOS_APPROVALS.apr-1')).toBe(true);
    // Through the audit publisher (what a worker would have to use) it fails too, with a clear error.
    const forged = createAuditPublisher(jetstream(worker), { maxAttempts: 1 });
    await expect(forged.publish({ kind: audit.Kind.LLM_TURN, ref: { tenant: 'acme', jobId: 'job-1', runId: 'run-1' } })).rejects.toThrow();
  });

  it('let a worker append through kernos.audit.append and ask for decisions, and the chain holds', async () => {
    const worker = await as('worker');
    const kernel = createKernelClient(worker, trace.getTracer('identity-test'));
    const ref = { tenant: 'acme', jobId: 'job-1', runId: `run-${Date.now()}`, agentId: 'a' };
    const appended = await kernel.call(contracts.audit.append, { record: { kind: audit.Kind.LLM_TURN, ref, service: 'worker', outcome: 'ok' } });
    expect(appended.seq).toBe(1n);
    const verdict = await kernel.call(contracts.access.check, { ref, governance: { riskLevel: 'minimal' }, action: 'model.use', resource: 'default' });
    expect(verdict.rule).toBe('model-use');
    const access = await as('access');
    const result = await verifyAudit(jetstream(access), { runId: ref.runId });
    expect(result).toMatchObject({ ok: true, records: 2 });
  });

  it('let the access role write audit records directly, and not the cockpit', async () => {
    const access = await as('access');
    expect(await publishRefused(access, 'kernos.audit.acme.job-2.run-2')).toBe(false);
    const cockpit = await as('cockpit');
    expect(await publishRefused(cockpit, 'kernos.audit.acme.job-2.run-2')).toBe(true);
    expect(await publishRefused(cockpit, 'kernos.access.approvals')).toBe(false);
  });
});
