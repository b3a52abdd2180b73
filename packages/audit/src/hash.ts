import { createHash } from 'node:crypto';
import { audit, create, toBinary } from '@kernos/wire';

type AuditRecord = audit.AuditRecord;

/**
 * The record's hash: hex sha256 over its protobuf encoding with `hash` empty. protobuf-es writes fields in
 * field-number order and `detail_json` is an opaque string, so the encoding is stable for a given record.
 */
export function hashRecord(record: AuditRecord): string {
  const bytes = toBinary(audit.AuditRecordSchema, create(audit.AuditRecordSchema, { ...record, hash: '' }));
  return createHash('sha256').update(bytes).digest('hex');
}

/** One way a chain is broken. */
export interface ChainProblem {
  /** JetStream sequence of the offending message (0 when the problem is a missing one). */
  streamSeq: number;
  /** Chain position the record claims (0 when unknown). */
  seq: number;
  problem: 'hash-mismatch' | 'prev-hash-mismatch' | 'seq-gap' | 'head-missing' | 'undecodable' | 'wrong-subject';
  message: string;
}

/** A record as read back from the stream. */
export interface StoredRecord {
  streamSeq: number;
  subject: string;
  record: AuditRecord;
}

/**
 * Checks one run's records, in stream order: each hash recomputes, each prev_hash is the previous hash, chain
 * positions count up from 1 with no gap. A deleted, altered, inserted or reordered record breaks one of these.
 */
export function verifyChain(records: readonly StoredRecord[]): ChainProblem[] {
  const problems: ChainProblem[] = [];
  let previous: AuditRecord | undefined;
  for (const { streamSeq, record } of records) {
    const seq = Number(record.seq);
    if (hashRecord(record) !== record.hash) {
      problems.push({ streamSeq, seq, problem: 'hash-mismatch', message: `record ${seq} (stream seq ${streamSeq}) does not match its hash: its content was altered` });
    }
    if (previous === undefined) {
      if (seq !== 1 || record.prevHash !== '') {
        problems.push({ streamSeq, seq, problem: 'head-missing', message: `the chain starts at record ${seq}, not 1: earlier records were deleted (or expired by retention)` });
      }
    } else {
      const expected = Number(previous.seq) + 1;
      if (seq !== expected) {
        problems.push({ streamSeq, seq, problem: 'seq-gap', message: `record ${seq} follows record ${Number(previous.seq)}: ${seq > expected ? 'records are missing' : 'a record was replayed or inserted'}` });
      }
      if (record.prevHash !== previous.hash) {
        problems.push({ streamSeq, seq, problem: 'prev-hash-mismatch', message: `record ${seq} (stream seq ${streamSeq}) does not point at the hash of the record before it` });
      }
    }
    previous = record;
  }
  return problems;
}
