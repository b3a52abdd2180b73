import { describe, expect, it } from 'vitest';
import { entityId, factId, normaliseName, objectNamesEntity } from './identity.js';

describe('normaliseName', () => {
  it('folds case, trims, collapses whitespace and unifies Unicode forms', () => {
    expect(normaliseName('  Acme \t\n Corp ')).toBe('acme corp');
    // Full-width letters and a decomposed é (e + combining acute) become their plain composed forms.
    expect(normaliseName('ＡＣＭＥ')).toBe('acme');
    expect(normaliseName('Cafe\u0301')).toBe(normaliseName('Café'));
  });
});

describe('entityId', () => {
  it('is the same for names that normalise alike, and 32 hex characters', () => {
    expect(entityId('Acme Corp')).toBe(entityId(' acme   corp'));
    expect(entityId('Acme Corp')).not.toBe(entityId('Acme Corporation'));
    expect(entityId('x')).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('factId', () => {
  it('ignores case and spacing, and is 32 hex characters', () => {
    expect(factId('Alice', 'works at', 'Acme')).toBe(factId(' alice ', 'WORKS  AT', 'acme'));
    expect(factId('Alice', 'works at', 'Acme')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('matches the documented derivation exactly', async () => {
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256').update('alice|works at|acme').digest('hex').slice(0, 32);
    expect(factId(' Alice', 'Works  at', 'ACME ')).toBe(expected);
  });

  it('differs when any part differs, and pipes inside parts cannot forge another fact', () => {
    const base = factId('alice', 'knows', 'bob');
    expect(factId('alice', 'knows', 'carol')).not.toBe(base);
    expect(factId('bob', 'knows', 'alice')).not.toBe(base);
    expect(factId('a|b', 'c', 'd')).not.toBe(factId('a', 'b|c', 'd'));
    expect(factId('a\\', '|b', 'c')).not.toBe(factId('a\\|', 'b', 'c'));
  });
});

describe('objectNamesEntity', () => {
  it('takes names as entities', () => {
    expect(objectNamesEntity('Acme Corp')).toBe(true);
    expect(objectNamesEntity('Berlin')).toBe(true);
    expect(objectNamesEntity('R2-D2')).toBe(true);
  });

  it('takes numbers, booleans, dates and prose as literals', () => {
    for (const literal of ['42', '-3.5', '1,000,000', '12 %', '1e9', 'true', 'No', '2025-11-27', '2025-11-27T10:22:00Z', 'line one\nline two', 'x'.repeat(201), '  ']) {
      expect(objectNamesEntity(literal), literal).toBe(false);
    }
  });
});
