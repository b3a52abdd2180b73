import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { connectNats, type NatsConnection } from '@kernos/service-kit';
import { audit, create, toBinary } from '@kernos/wire';
import { createAuditPublisher, ensureAuditStream, hashRecord, queryAudit, runSubject, verifyAudit } from '../src/index.js';

// Real nats-server from the integration global setup. Each test file uses its own stream and subject prefix so
// concurrent runs and the kernel's own AUDIT stream never see these records.
const natsUrl = process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const id = nuid.next().slice(-8).toLowerCase();
const stream = `AUDIT_TEST_${id}`;
const subjectPrefix = `kernos.audittest${id}`;
const opts = { stream, subjectPrefix };

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

const governance = { riskLevel: 'high', dataCategories: ['public'], humanOversight: 'on_risk', approver: 'alice' };
const ref = (runId: string, agentId = 'agent-1') => ({ tenant: 'acme', jobId: 'job-a', runId, agentId });

beforeAll(async () => {
  nc = await connectNats({ url: natsUrl, name: 'audit-int-test' });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await ensureAuditStream(jsm, { name: stream, subjectPrefix, storage: 'memory', allowDelete: true, retention: { maxAgeMs: 60 * 60 * 1000 } });
});

afterAll(async () => {
  await jsm?.streams.delete(stream).catch(() => undefined);
  await nc?.drain();
});

describe('audit stream', () => {
  it('is created idempotently and updates retention in place', async () => {
    const again = await ensureAuditStream(jsm, { name: stream, subjectPrefix, storage: 'memory', allowDelete: true, retention: { maxAgeMs: 2 * 60 * 60 * 1000 } });
    expect(again.config.max_age).toBe(2 * 60 * 60 * 1000 * 1_000_000);
    expect(again.config.subjects).toEqual([`${subjectPrefix}.*.*.*`]);
  });

  it('denies deletes by default', async () => {
    const name = `${stream}_LOCKED`;
    const info = await ensureAuditStream(jsm, { name, subjectPrefix: `${subjectPrefix}locked`, storage: 'memory' });
    try {
      expect(info.config.deny_delete).toBe(true);
      expect(info.config.deny_purge).toBe(true);
    } finally {
      await jsm.streams.delete(name);
    }
  });
});

describe('publisher and hash chain', () => {
  it('chains the records of a run and verifies them', async () => {
    const publisher = createAuditPublisher(js, opts);
    const run = `run-${nuid.next()}`;
    const first = await publisher.publish({ kind: audit.Kind.LLM_TURN, ref: ref(run), governance, service: 'worker', action: 'chat.completions', outcome: 'ok', detail: { tokens: 12 } });
    const second = await publisher.publish({ kind: audit.Kind.TOOL_ATTEMPT, ref: ref(run), governance, service: 'tool-gateway', action: 'tool.call', resource: 'echo', outcome: 'ok' });
    expect(first.record.seq).toBe(1n);
    expect(first.record.prevHash).toBe('');
    expect(second.record.seq).toBe(2n);
    expect(second.record.prevHash).toBe(first.record.hash);
    expect(second.subject).toBe(runSubject(ref(run), subjectPrefix));

    const result = await verifyAudit(js, { runId: run }, opts);
    expect(result).toMatchObject({ ok: true, records: 2, chains: 1, problems: [] });
  });

  it('keeps one chain when independent writers append to the same run concurrently', async () => {
    const run = `run-${nuid.next()}`;
    // Three publishers = three processes with their own head caches; only the expected-sequence header orders them.
    const writers = [createAuditPublisher(js, opts), createAuditPublisher(js, opts), createAuditPublisher(js, opts)];
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        writers[i % 3]!.publish({ kind: audit.Kind.ACCESS_DECISION, ref: ref(run), governance, service: `w${i % 3}`, action: 'tool.call', outcome: 'allow', detail: { i } }),
      ),
    );
    const records = await queryAudit(js, { runId: run }, opts);
    expect(records.map((r) => Number(r.record.seq))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect((await verifyAudit(js, { runId: run }, opts)).ok).toBe(true);
  });

  it('detects a deleted record and a forged one', async () => {
    const publisher = createAuditPublisher(js, opts);
    const run = `run-${nuid.next()}`;
    const published = [];
    for (let i = 0; i < 4; i++) published.push(await publisher.publish({ kind: audit.Kind.LLM_TURN, ref: ref(run), governance, outcome: 'ok', detail: { i } }));

    await jsm.streams.deleteMessage(stream, published[1]!.streamSeq);
    const afterDelete = await verifyAudit(js, { runId: run }, opts);
    expect(afterDelete.ok).toBe(false);
    expect(afterDelete.problems.map((p) => p.problem)).toEqual(['seq-gap', 'prev-hash-mismatch']);

    // A forger with publish rights appends an altered copy of record 4 that keeps the original hash.
    const forged = create(audit.AuditRecordSchema, { ...published[3]!.record, seq: 5n, prevHash: published[3]!.record.hash, outcome: 'deny' });
    forged.hash = published[3]!.record.hash;
    await js.publish(published[3]!.subject, toBinary(audit.AuditRecordSchema, forged));
    const afterForge = await verifyAudit(js, { runId: run }, opts);
    expect(afterForge.problems.map((p) => p.problem)).toContain('hash-mismatch');
    expect(hashRecord(published[2]!.record)).toBe(published[2]!.record.hash);
  });

  it('reports a record stored on another run', async () => {
    const run = `run-${nuid.next()}`;
    const other = create(audit.AuditRecordSchema, { kind: audit.Kind.LLM_TURN, ref: ref('someone-else'), seq: 1n });
    other.hash = hashRecord(other);
    await js.publish(runSubject(ref(run), subjectPrefix), toBinary(audit.AuditRecordSchema, other));
    const result = await verifyAudit(js, { runId: run }, opts);
    expect(result.problems.map((p) => p.problem)).toEqual(['wrong-subject']);
  });
});

describe('queries', () => {
  it('filters by job, run, agent, risk level, kind and time', async () => {
    const publisher = createAuditPublisher(js, opts);
    const runA = `run-${nuid.next()}`;
    const runB = `run-${nuid.next()}`;
    const before = new Date();
    await publisher.publish({ kind: audit.Kind.LLM_TURN, ref: { ...ref(runA, 'agent-x'), jobId: 'job-q' }, governance, outcome: 'ok' });
    await publisher.publish({ kind: audit.Kind.TOOL_ATTEMPT, ref: { ...ref(runA, 'agent-x'), jobId: 'job-q' }, governance, outcome: 'ok' });
    await publisher.publish({ kind: audit.Kind.LLM_TURN, ref: { ...ref(runB, 'agent-y'), jobId: 'job-q' }, governance: { ...governance, riskLevel: 'minimal' }, outcome: 'ok' });

    expect(await queryAudit(js, { jobId: 'job-q', since: before }, opts)).toHaveLength(3);
    expect(await queryAudit(js, { runId: runA }, opts)).toHaveLength(2);
    expect((await queryAudit(js, { jobId: 'job-q', agentId: 'agent-y', since: before }, opts)).map((r) => r.record.ref?.runId)).toEqual([runB]);
    expect(await queryAudit(js, { jobId: 'job-q', riskLevel: 'minimal', since: before }, opts)).toHaveLength(1);
    expect(await queryAudit(js, { jobId: 'job-q', kind: audit.Kind.TOOL_ATTEMPT, since: before }, opts)).toHaveLength(1);
    expect(await queryAudit(js, { jobId: 'job-q', since: new Date(Date.now() + 60_000) }, opts)).toHaveLength(0);
    expect(await queryAudit(js, { jobId: 'job-q', until: before }, opts)).toHaveLength(0);
    expect(await queryAudit(js, { jobId: 'no-such-job' }, opts)).toEqual([]);
  });
});
