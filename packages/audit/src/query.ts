import type { JetStreamClient } from '@nats-io/jetstream';
import { audit, fromBinary } from '@kernos/wire';
import { verifyChain, type ChainProblem, type StoredRecord } from './hash.js';
import { AUDIT_STREAM } from './stream.js';
import { AUDIT_SUBJECT_PREFIX, filterSubject, runSubject } from './subject.js';

/** Which records to read. Tenant, job and run narrow the subject (cheap); the rest is filtered as records stream by. */
export interface AuditQuery {
  tenant?: string;
  jobId?: string;
  runId?: string;
  agentId?: string;
  /** Governance risk level the record was written under, e.g. `high`. */
  riskLevel?: string;
  kind?: audit.Kind;
  /** Records at or after this time (the stream starts reading here). */
  since?: Date;
  /** Records before this time. */
  until?: Date;
  /** At most this many records (the first ones). Default 10 000. */
  limit?: number;
}

export interface QueryOptions {
  /** Default `AUDIT`. */
  stream?: string;
  /** Default `kernos.audit`. */
  subjectPrefix?: string;
}

/** Reads matching records in stream order, with an ordered consumer (no state left on the server). */
export async function queryAudit(js: JetStreamClient, query: AuditQuery, options: QueryOptions = {}): Promise<StoredRecord[]> {
  const records = await readSubject(js, filterSubject(query, options.subjectPrefix ?? AUDIT_SUBJECT_PREFIX), options.stream ?? AUDIT_STREAM, query.since);
  const limit = query.limit ?? 10_000;
  const out: StoredRecord[] = [];
  for (const stored of records) {
    if ('error' in stored) continue;
    const r = stored.record;
    if (query.agentId !== undefined && r.ref?.agentId !== query.agentId) continue;
    if (query.riskLevel !== undefined && r.governance?.riskLevel !== query.riskLevel) continue;
    if (query.kind !== undefined && r.kind !== query.kind) continue;
    if (query.until !== undefined && Number(r.timeUnixMs) >= query.until.getTime()) continue;
    out.push(stored);
    if (out.length >= limit) break;
  }
  return out;
}

export interface VerifyResult {
  ok: boolean;
  /** Records read. */
  records: number;
  /** Subjects (runs) checked. */
  chains: number;
  problems: (ChainProblem & { subject: string })[];
}

/**
 * Verifies the hash chain of every run matching the filter (usually one run, or every run of a job). A record
 * that does not decode, or that sits on another run's subject, is a problem too.
 */
export async function verifyAudit(
  js: JetStreamClient,
  filter: Pick<AuditQuery, 'tenant' | 'jobId' | 'runId'>,
  options: QueryOptions = {},
): Promise<VerifyResult> {
  const prefix = options.subjectPrefix ?? AUDIT_SUBJECT_PREFIX;
  const stored = await readSubject(js, filterSubject(filter, prefix), options.stream ?? AUDIT_STREAM);
  const bySubject = new Map<string, StoredRecord[]>();
  const problems: VerifyResult['problems'] = [];
  for (const item of stored) {
    if ('error' in item) {
      problems.push({ subject: item.subject, streamSeq: item.streamSeq, seq: 0, problem: 'undecodable', message: `stream seq ${item.streamSeq} is not an AuditRecord: ${item.error}` });
      continue;
    }
    const expected = runSubject({ tenant: item.record.ref?.tenant ?? '', jobId: item.record.ref?.jobId ?? '', runId: item.record.ref?.runId ?? '' }, prefix);
    if (expected !== item.subject) {
      problems.push({ subject: item.subject, streamSeq: item.streamSeq, seq: Number(item.record.seq), problem: 'wrong-subject', message: `stream seq ${item.streamSeq} names run ${expected} but was stored on ${item.subject}` });
      continue;
    }
    const list = bySubject.get(item.subject) ?? [];
    list.push(item);
    bySubject.set(item.subject, list);
  }
  for (const [subject, list] of bySubject) {
    for (const problem of verifyChain(list)) problems.push({ subject, ...problem });
  }
  return { ok: problems.length === 0, records: stored.length, chains: bySubject.size, problems };
}

type ReadItem = StoredRecord | { subject: string; streamSeq: number; error: string };

async function readSubject(js: JetStreamClient, subject: string, stream: string, since?: Date): Promise<ReadItem[]> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    ...(since === undefined ? {} : { opt_start_time: since.toISOString() }),
  });
  const out: ReadItem[] = [];
  try {
    const info = await consumer.info(false);
    if (info.num_pending === 0) return out;
    const messages = await consumer.consume({ max_messages: 512 });
    for await (const m of messages) {
      try {
        out.push({ streamSeq: m.seq, subject: m.subject, record: fromBinary(audit.AuditRecordSchema, m.data) });
      } catch (error) {
        out.push({ streamSeq: m.seq, subject: m.subject, error: (error as Error).message });
      }
      if (m.info.pending === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}
