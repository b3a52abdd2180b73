import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { trace } from '@opentelemetry/api';
import { createAuditPublisher, ensureAuditStream, queryAudit, verifyAudit } from '@kernos/audit';
import { createKernelClient, createLogger } from '@kernos/service-kit';
import { audit, contracts } from '@kernos/wire';
import { openApprovalStore, type ApprovalStore } from '../src/approvals/store.js';
import { devPasswords } from '../src/identity/dev.js';
import { natsAuthorization } from '../src/identity/nats-config.js';
import { natsUser, type KernosRole } from '../src/identity/roles.js';
import { createPolicyEngine } from '../src/policy/engine.js';
import { createAccessService } from '../src/service.js';
import { startPrivateNats, type PrivateNats } from '@kernos/testkit';

// A real nats-server of this file's own (own port and state dir) started with the generated per-role config.
let server: PrivateNats;
const dir = mkdtempSync(join(tmpdir(), 'kernos-identity-'));
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
  const configFile = join(dir, 'nats-auth.conf');
  writeFileSync(configFile, natsAuthorization({ passwords: devPasswords }));
  server = await startPrivateNats({ dir, configFile });
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
  rmSync(dir, { recursive: true, force: true });
});

describe('per-role NATS credentials', () => {
  it('refuse a wrong password', async () => {
    await expect(connect({ servers: server.url, user: natsUser('worker'), pass: 'guess' })).rejects.toThrow(/authorization/i);
  });

  it('refuse a worker publishing audit records, deleting the audit stream, deciding approvals or writing the graph outbox', async () => {
    const worker = await as('worker');
    expect(await publishRefused(worker, 'kernos.audit.acme.job-1.run-1')).toBe(true);
    expect(await publishRefused(worker, 'kernos.access.decide')).toBe(true);
    expect(await publishRefused(worker, '$JS.API.STREAM.DELETE.AUDIT')).toBe(true);
    expect(await publishRefused(worker, '$KV.KERNOS_APPROVALS.apr-1')).toBe(true);
    // The graph's outbox and write confirmations: a worker must go through kernos.graph.write-fact (and its checks).
    expect(await publishRefused(worker, 'kernos.graph.outbox.KERNOS_GRAPH_OUTBOX')).toBe(true);
    expect(await publishRefused(worker, 'kernos.graph.applied.fact-1')).toBe(true);
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

  it('let a worker take a lease by ticket (enqueue, ticket, withdraw, renew) as well as by acquire', async () => {
    const worker = await as('worker');
    for (const subject of ['kernos.scheduler.acquire', 'kernos.scheduler.enqueue', 'kernos.scheduler.ticket', 'kernos.scheduler.withdraw', 'kernos.scheduler.renew', 'kernos.scheduler.release']) {
      expect(await publishRefused(worker, subject), subject).toBe(false);
    }
    expect(await publishRefused(worker, 'kernos.scheduler.control')).toBe(true);
  });

  it('let the access role write audit records directly, and not the cockpit', async () => {
    const access = await as('access');
    expect(await publishRefused(access, 'kernos.audit.acme.job-2.run-2')).toBe(false);
    const cockpit = await as('cockpit');
    expect(await publishRefused(cockpit, 'kernos.audit.acme.job-2.run-2')).toBe(true);
    expect(await publishRefused(cockpit, 'kernos.access.approvals')).toBe(false);
  });

  it('let the model gateway check access and append audit through access, and nothing internal', async () => {
    const gateway = await as('model-gateway');
    const kernel = createKernelClient(gateway, trace.getTracer('identity-test'));
    const ref = { tenant: 'acme', jobId: 'job-3', runId: `run-mg-${Date.now()}`, agentId: 'openai-client:job-3' };
    const verdict = await kernel.call(contracts.access.check, { ref, governance: { riskLevel: 'minimal' }, action: 'model.use', resource: 'default' });
    expect(verdict.rule).toBe('model-use');
    const appended = await kernel.call(contracts.audit.append, { record: { kind: audit.Kind.LLM_TURN, ref, service: 'model-gateway', outcome: 'ok' } });
    expect(appended.seq).toBeGreaterThan(0n);
    // Leases: no scheduler runs here, so only the permission is checked.
    expect(await publishRefused(gateway, 'kernos.scheduler.acquire')).toBe(false);
    expect(await publishRefused(gateway, 'kernos.scheduler.release')).toBe(false);
    for (const subject of [
      'kernos.audit.acme.job-3.run-3',
      '$JS.API.STREAM.DELETE.AUDIT',
      '$JS.API.STREAM.CREATE.AUDIT',
      '$KV.KERNOS_APPROVALS.apr-1',
      'kernos.access.decide',
      'kernos.scheduler.control',
      'kernos.graph.write-fact',
      'kernos.tool-gateway.call',
    ]) {
      expect(await publishRefused(gateway, subject), subject).toBe(true);
    }
    const forged = createAuditPublisher(jetstream(gateway), { maxAttempts: 1 });
    await expect(forged.publish({ kind: audit.Kind.LLM_TURN, ref })).rejects.toThrow();
  });

  it('let the cockpit read the audit stream and decide approvals, but not append, tamper or act as a worker', async () => {
    const worker = await as('worker');
    const ref = { tenant: 'acme', jobId: 'job-4', runId: `run-ck-${Date.now()}`, agentId: 'a' };
    await createKernelClient(worker, trace.getTracer('identity-test')).call(contracts.audit.append, { record: { kind: audit.Kind.LLM_TURN, ref, service: 'worker', outcome: 'ok' } });
    const cockpit = await as('cockpit');
    // What the cockpit's audit view does: an ordered consumer on AUDIT, created, pulled and deleted.
    const read = await queryAudit(jetstream(cockpit), { runId: ref.runId });
    expect(read.map((r) => r.record.service)).toEqual(['worker']);
    const kernel = createKernelClient(cockpit, trace.getTracer('identity-test'));
    const pending = await kernel.call(contracts.access.approvals, {});
    expect(Array.isArray(pending.approvals)).toBe(true);
    expect(await publishRefused(cockpit, 'kernos.access.decide')).toBe(false);
    expect(await publishRefused(cockpit, 'kernos.scheduler.control')).toBe(false);
    for (const subject of [
      'kernos.audit.append',
      '$JS.API.STREAM.PURGE.AUDIT',
      '$JS.API.STREAM.MSG.DELETE.AUDIT',
      '$JS.API.STREAM.DELETE.KV_KERNOS_APPROVALS',
      '$KV.KERNOS_APPROVALS.apr-1',
      'kernos.scheduler.acquire',
      'kernos.graph.write-fact',
      'kernos.tool-gateway.call',
    ]) {
      expect(await publishRefused(cockpit, subject), subject).toBe(true);
    }
  });
});
