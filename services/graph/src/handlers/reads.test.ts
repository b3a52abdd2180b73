import { create, graph } from '@kernos/wire';
import { describe, expect, it } from 'vitest';
import { timeScope, validateNeighbours, validateProvenance, validateSearch } from './reads.js';

describe('timeScope', () => {
  it('defaults to currently true, and needs the instant for as-of', () => {
    expect(timeScope(graph.TimeMode.UNSPECIFIED, 0n)).toEqual({ mode: 'current' });
    expect(timeScope(graph.TimeMode.HISTORY, 0n)).toEqual({ mode: 'history' });
    expect(timeScope(graph.TimeMode.AS_OF, 1_700_000_000_000n)).toEqual({ mode: 'as_of', atMs: 1_700_000_000_000 });
    expect(() => timeScope(graph.TimeMode.AS_OF, 0n)).toThrow(/^as_of_ms is required/);
    expect(() => timeScope(42 as graph.TimeMode, 0n)).toThrow(/not a TimeMode/);
  });
});

describe('validateSearch', () => {
  it('defaults the limit and expands unless told not to', () => {
    expect(validateSearch(create(graph.SearchRequestSchema, { query: ' where is Alice ' }))).toEqual({
      text: 'where is Alice',
      limit: 10,
      time: { mode: 'current' },
      categories: [],
      expand: true,
    });
    expect(validateSearch(create(graph.SearchRequestSchema, { query: 'x', noExpansion: true, dataCategories: ['public'] }))).toMatchObject({ expand: false, categories: ['public'] });
  });

  it('names the bad field', () => {
    expect(() => validateSearch(create(graph.SearchRequestSchema, { query: ' ' }))).toThrow('query is required');
    expect(() => validateSearch(create(graph.SearchRequestSchema, { query: 'x', limit: 101 }))).toThrow(/^limit must be between 0 .* and 100, got 101/);
    expect(() => validateSearch(create(graph.SearchRequestSchema, { query: 'x', dataCategories: ['ok', ''] }))).toThrow('data_categories[1] is required');
  });
});

describe('validateNeighbours and validateProvenance', () => {
  it('name the bad field', () => {
    expect(() => validateNeighbours(create(graph.NeighboursRequestSchema, {}))).toThrow('entity is required');
    expect(validateNeighbours(create(graph.NeighboursRequestSchema, { entity: 'Acme' })).limit).toBe(100);
    expect(() => validateProvenance(create(graph.ProvenanceRequestSchema, { factId: 'nope' }))).toThrow(/^fact_id must be 32/);
    expect(validateProvenance(create(graph.ProvenanceRequestSchema, { factId: 'a'.repeat(32) }))).toEqual({ factId: 'a'.repeat(32) });
  });
});
