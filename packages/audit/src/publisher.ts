import { trace } from '@opentelemetry/api';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nuid } from '@nats-io/nats-core';
import { KernosError } from '@kernos/errors';
import { audit, create, fromBinary, toBinary, type common, type MessageInitShape } from '@kernos/wire';
import { hashRecord } from './hash.js';
import { AUDIT_STREAM } from './stream.js';
import { AUDIT_SUBJECT_PREFIX, runSubject } from './subject.js';

type AuditRecord = audit.AuditRecord;

/** What a caller gives: everything but the chain fields (seq, prev_hash, hash), which the publisher fills. */
export interface AuditInput {
  kind: audit.Kind;
  /** Tenant, job and run pick the chain; agent is carried along. */
  ref: MessageInitShape<typeof common.RunRefSchema>;
  governance?: MessageInitShape<typeof common.GovernanceSchema>;
  /** Default: the trace id of the active OpenTelemetry span, or empty. */
  traceId?: string;
  service?: string;
  action?: string;
  resource?: string;
  outcome?: string;
  /** A JSON object as text; `detail` is the same as an object. */
  detailJson?: string;
  detail?: Record<string, unknown>;
  /** Default: now. */
  timeUnixMs?: bigint;
  /** Default: a fresh nuid. */
  id?: string;
}

export interface AuditPublisherOptions {
  /** Stream the records go to (it must exist: {@link ensureAuditStream}). Default `AUDIT`. */
  stream?: string;
  /** Subject prefix. Default `kernos.audit`. */
  subjectPrefix?: string;
  /** Attempts when another writer appended to the same run first. Default 20. */
  maxAttempts?: number;
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number;
}

export interface PublishedAudit {
  record: AuditRecord;
  subject: string;
  /** JetStream sequence of the stored record. */
  streamSeq: number;
}

export interface AuditPublisher {
  /** Appends a record to its run's chain; resolves once JetStream has stored it. */
  publish(input: AuditInput): Promise<PublishedAudit>;
}

interface ChainHead {
  streamSeq: number;
  seq: bigint;
  hash: string;
}

const WRONG_LAST_SEQUENCE = 10071;
const HEAD_CACHE_LIMIT = 10_000;

/**
 * A publisher that keeps a per-run hash chain without a central writer. Each run has its own subject; a record is
 * published with `Nats-Expected-Last-Subject-Sequence` = the stream sequence of the head it chained to, so if
 * another process appended first JetStream refuses it, and the publisher re-reads the head and tries again.
 * Heads are cached, so a process that writes most of a run's records pays one round trip per record.
 */
export function createAuditPublisher(js: JetStreamClient, options: AuditPublisherOptions = {}): AuditPublisher {
  const stream = options.stream ?? AUDIT_STREAM;
  const prefix = options.subjectPrefix ?? AUDIT_SUBJECT_PREFIX;
  const maxAttempts = options.maxAttempts ?? 20;
  const now = options.now ?? Date.now;
  const heads = new Map<string, ChainHead>();
  // Records of one run from this process are appended one after another, so they never conflict with each other.
  const tails = new Map<string, Promise<unknown>>();
  let jsm: Promise<JetStreamManager> | undefined;

  async function readHead(subject: string): Promise<ChainHead | undefined> {
    jsm ??= js.jetstreamManager(false);
    const stored = await (await jsm).streams.getMessage(stream, { last_by_subj: subject });
    if (!stored) return undefined;
    const record = fromBinary(audit.AuditRecordSchema, stored.data);
    return { streamSeq: stored.seq, seq: record.seq, hash: record.hash };
  }

  function remember(subject: string, head: ChainHead): void {
    heads.delete(subject);
    heads.set(subject, head);
    if (heads.size > HEAD_CACHE_LIMIT) heads.delete(heads.keys().next().value as string);
  }

  async function append(input: AuditInput): Promise<PublishedAudit> {
    const { detail, ...fields } = input;
    const base = create(audit.AuditRecordSchema, {
      ...fields,
      detailJson: fields.detailJson ?? (detail === undefined ? '' : JSON.stringify(detail)),
      traceId: fields.traceId ?? trace.getActiveSpan()?.spanContext().traceId ?? '',
      timeUnixMs: fields.timeUnixMs ?? BigInt(now()),
      id: fields.id || nuid.next(),
    });
    const subject = runSubject({ tenant: base.ref?.tenant ?? '', jobId: base.ref?.jobId ?? '', runId: base.ref?.runId ?? '' }, prefix);
    let head = heads.get(subject) ?? (await readHead(subject));
    for (let attempt = 1; ; attempt++) {
      const record = create(audit.AuditRecordSchema, { ...base, seq: (head?.seq ?? 0n) + 1n, prevHash: head?.hash ?? '', hash: '' });
      record.hash = hashRecord(record);
      try {
        const ack = await js.publish(subject, toBinary(audit.AuditRecordSchema, record), {
          // The id changes with the chain position: a retry after a lost ack is de-duplicated, a re-chained record is not.
          msgID: `${record.id}:${record.seq}`,
          expect: { lastSubjectSequence: head?.streamSeq ?? 0, streamName: stream },
        });
        remember(subject, { streamSeq: ack.seq, seq: record.seq, hash: record.hash });
        return { record, subject, streamSeq: ack.seq };
      } catch (error) {
        if (!(error instanceof JetStreamApiError) || error.code !== WRONG_LAST_SEQUENCE) {
          throw new KernosError('unavailable', `audit: cannot append to ${subject} in stream ${stream}: ${(error as Error).message}`, { cause: error });
        }
        if (attempt >= maxAttempts) {
          throw new KernosError('unavailable', `audit: ${subject} kept moving; gave up after ${attempt} attempts`, { cause: error });
        }
        heads.delete(subject);
        head = await readHead(subject);
      }
    }
  }

  return {
    publish(input) {
      const subject = runSubject({ tenant: input.ref.tenant ?? '', jobId: input.ref.jobId ?? '', runId: input.ref.runId ?? '' }, prefix);
      const result = (tails.get(subject) ?? Promise.resolve()).then(() => append(input));
      const tail = result.catch(() => undefined);
      tails.set(subject, tail);
      void tail.then(() => {
        if (tails.get(subject) === tail) tails.delete(subject);
      });
      return result;
    },
  };
}
