import { create, graph, type common, type MessageInitShape } from '@kernos/wire';
import { KernosError } from '@kernos/errors';
import { describe, expect, it } from 'vitest';
import { validateWriteFact } from './write-fact.js';

type RequestInit = Partial<Omit<graph.WriteFactRequest, '$typeName' | '$unknown' | 'ref'>> & {
  ref?: MessageInitShape<typeof common.RunRefSchema> | undefined;
};

const request = (init: RequestInit = {}) =>
  create(graph.WriteFactRequestSchema, {
    ref: { tenant: 't1', jobId: 'job-1', runId: 'run-1', agentId: 'agent-1' },
    subject: 'Alice',
    predicate: 'works at',
    object: 'Acme',
    dataCategory: 'public',
    ...init,
  });

/** The invalid_argument message a request is rejected with. */
function rejection(init: RequestInit): string {
  try {
    validateWriteFact(request(init));
  } catch (error) {
    expect(error).toBeInstanceOf(KernosError);
    expect((error as KernosError).code).toBe('invalid_argument');
    return (error as KernosError).message;
  }
  throw new Error('expected the request to be rejected');
}

describe('validateWriteFact', () => {
  it('accepts a fact, trimmed, with its provenance', () => {
    const { fact, provenance } = validateWriteFact(request({ subject: '  Alice ', text: 'Alice joined Acme in 2024.', dataCategory: 'public' }));
    expect(fact).toMatchObject({ subject: 'Alice', predicate: 'works at', object: 'Acme', text: 'Alice joined Acme in 2024.', dataCategory: 'public' });
    expect(provenance).toEqual({ runId: 'run-1', jobId: 'job-1', agentId: 'agent-1', tenant: 't1' });
  });

  it('names an empty subject, predicate, object or data category, and a negative valid time', () => {
    expect(rejection({ subject: '' })).toBe('subject is required');
    expect(rejection({ dataCategory: ' ' })).toBe('data_category is required');
    expect(rejection({ validAtMs: -1n })).toMatch(/^valid_at_ms must be epoch millis/);
    expect(rejection({ predicate: '   ' })).toBe('predicate is required');
    expect(rejection({ object: '' })).toBe('object is required');
  });

  it('names a part that is too long, counting characters not bytes', () => {
    expect(rejection({ subject: 'x'.repeat(1001) })).toBe('subject is 1001 characters long; at most 1000 are allowed');
    expect(rejection({ object: 'y'.repeat(1001) })).toMatch(/^object is 1001 characters/);
    expect(rejection({ text: 'z'.repeat(10_001) })).toBe('text is 10001 characters long; at most 10000 are allowed');
    expect(() => validateWriteFact(request({ subject: '😀'.repeat(1000), text: 'é'.repeat(10_000) }))).not.toThrow();
  });

  it('requires the run that asserts the fact', () => {
    expect(rejection({ ref: { agentId: 'a' } })).toMatch(/^ref\.run_id is required/);
    expect(rejection({ ref: undefined })).toMatch(/^ref\.run_id is required/);
  });
});
