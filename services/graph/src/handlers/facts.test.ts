import { create, graph } from '@kernos/wire';
import { describe, expect, it } from 'vitest';
import { validateFacts } from './facts.js';

describe('validateFacts', () => {
  it('defaults the limit and trims the subject', () => {
    expect(validateFacts(create(graph.FactsRequestSchema, { subject: ' Alice ' }))).toEqual({ subject: 'Alice', limit: 100 });
    expect(validateFacts(create(graph.FactsRequestSchema, { subject: 'Alice', limit: 5 })).limit).toBe(5);
  });

  it('names the bad field', () => {
    expect(() => validateFacts(create(graph.FactsRequestSchema, { subject: ' ' }))).toThrow('subject is required');
    expect(() => validateFacts(create(graph.FactsRequestSchema, { subject: 'a', limit: -1 }))).toThrow(/^limit must be/);
    expect(() => validateFacts(create(graph.FactsRequestSchema, { subject: 'a', limit: 1001 }))).toThrow(/^limit must be/);
  });
});
