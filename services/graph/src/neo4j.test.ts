import neo4j, { Neo4jError } from 'neo4j-driver';
import { KernosError } from '@kernos/errors';
import { describe, expect, it } from 'vitest';
import { toGraphError, toMillis } from './neo4j.js';

describe('toMillis', () => {
  it('converts the driver Integer beyond 2^31 without loss', () => {
    const ms = 1_764_238_920_123;
    expect(toMillis(neo4j.int(ms))).toBe(ms);
    expect(toMillis(ms)).toBe(ms);
    expect(toMillis(null)).toBe(0);
  });

  it('refuses a value that is not a time', () => {
    expect(() => toMillis('yesterday')).toThrow(KernosError);
  });
});

describe('toGraphError', () => {
  const neo4jError = (code: string) => new Neo4jError('boom', code, '50N42', 'error');

  it('makes an unreachable or transient database unavailable and retryable, naming the URI', () => {
    for (const code of ['ServiceUnavailable', 'SessionExpired', 'Neo.TransientError.Transaction.DeadlockDetected']) {
      const error = toGraphError(neo4jError(code), 'bolt://127.0.0.1:7687');
      expect(error.code, code).toBe('unavailable');
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('bolt://127.0.0.1:7687');
    }
  });

  it('makes anything else internal and not retryable, keeping a KernosError as it is', () => {
    const error = toGraphError(neo4jError('Neo.ClientError.Statement.SyntaxError'), 'bolt://x');
    expect(error.code).toBe('internal');
    expect(error.retryable).toBe(false);
    const own = new KernosError('invalid_argument', 'subject is required');
    expect(toGraphError(own, 'bolt://x')).toBe(own);
    expect(toGraphError(new TypeError('nope'), 'bolt://x').code).toBe('internal');
  });
});
