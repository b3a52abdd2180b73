import { describe, expect, it } from 'vitest';
import { audit, create } from '@kernos/wire';
import { hashRecord, verifyChain, type StoredRecord } from './hash.js';
import { parseDuration } from './duration.js';

function chain(n: number): StoredRecord[] {
  const out: StoredRecord[] = [];
  let prev = '';
  for (let i = 1; i <= n; i++) {
    const record = create(audit.AuditRecordSchema, { kind: audit.Kind.LLM_TURN, ref: { runId: 'r' }, seq: BigInt(i), prevHash: prev, detailJson: `{"i":${i}}` });
    record.hash = hashRecord(record);
    prev = record.hash;
    out.push({ streamSeq: i * 10, subject: 's', record });
  }
  return out;
}

describe('verifyChain', () => {
  it('accepts an intact chain', () => {
    expect(verifyChain(chain(5))).toEqual([]);
  });

  it('ignores the stored hash when hashing', () => {
    const [first] = chain(1);
    expect(hashRecord({ ...first!.record, hash: 'anything' })).toBe(first!.record.hash);
  });

  it('flags an altered record', () => {
    const records = chain(3);
    records[1]!.record.outcome = 'allow';
    expect(verifyChain(records).map((p) => [p.problem, p.seq])).toEqual([['hash-mismatch', 2]]);
  });

  it('flags a missing middle record and a missing head', () => {
    const records = chain(4);
    expect(verifyChain([records[0]!, records[2]!, records[3]!]).map((p) => p.problem)).toEqual(['seq-gap', 'prev-hash-mismatch']);
    expect(verifyChain(records.slice(1)).map((p) => p.problem)).toEqual(['head-missing']);
  });

  it('flags reordered records', () => {
    const records = chain(3);
    expect(verifyChain([records[0]!, records[2]!, records[1]!]).map((p) => p.problem)).toEqual(['seq-gap', 'prev-hash-mismatch', 'seq-gap', 'prev-hash-mismatch']);
  });
});

describe('parseDuration', () => {
  it('reads units and rejects junk', () => {
    expect(parseDuration('180d')).toBe(180 * 86_400_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('soon')).toBeUndefined();
  });
});
