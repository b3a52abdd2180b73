import { describe, expect, it } from 'vitest';
import { fulltextQuery, fuse, rrfK } from './search.js';

describe('fuse', () => {
  it('ranks a fact found by both retrievers above facts found by one, and keeps who found it', () => {
    const fused = fuse([
      { factId: 'a', retriever: 'fulltext', rank: 1 },
      { factId: 'b', retriever: 'fulltext', rank: 2 },
      { factId: 'b', retriever: 'vector', rank: 2 },
      { factId: 'c', retriever: 'vector', rank: 1 },
    ]);
    expect(fused.map((f) => f.factId)).toEqual(['b', 'a', 'c']);
    expect(fused[0]).toEqual({ factId: 'b', score: 2 / (rrfK + 2), matchedBy: ['fulltext', 'vector'] });
  });

  it('weighs neighbourhood hits at half, counts a retriever once per fact, and breaks ties by id', () => {
    const fused = fuse([
      { factId: 'n', retriever: 'neighbourhood', rank: 1 },
      { factId: 'z', retriever: 'vector', rank: 3 },
      { factId: 'z', retriever: 'vector', rank: 1 },
      { factId: 'y', retriever: 'fulltext', rank: 3 },
    ]);
    expect(fused.map((f) => f.factId)).toEqual(['y', 'z', 'n']);
    expect(fused.find((f) => f.factId === 'n')!.score).toBeCloseTo(0.5 / (rrfK + 1));
  });
});

describe('fulltextQuery', () => {
  it('quotes each word so Lucene syntax in the query cannot widen or break it', () => {
    expect(fulltextQuery('Where does Alice work?')).toBe('"where" OR "does" OR "alice" OR "work"');
    expect(fulltextQuery('a* AND b:c "d')).toBe('"a" OR "and" OR "b" OR "c" OR "d"');
    expect(fulltextQuery('  ?!  ')).toBe('');
  });
});
