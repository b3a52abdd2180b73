/** What retrieved a candidate. */
export type Retriever = 'fulltext' | 'vector' | 'neighbourhood';

export interface Candidate {
  factId: string;
  retriever: Retriever;
  /** 1-based rank within its retriever's list. */
  rank: number;
}

export interface Fused {
  factId: string;
  score: number;
  matchedBy: Retriever[];
}

/** The usual RRF constant: dampens the difference between rank 1 and rank 2 so no single retriever dominates. */
export const rrfK = 60;

/** Neighbourhood hits are context, not answers; they count half as much as a direct match at the same rank. */
const weights: Record<Retriever, number> = { fulltext: 1, vector: 1, neighbourhood: 0.5 };

/**
 * Reciprocal-rank fusion (Cormack et al. 2009): score = Σ weight / (k + rank) over the retrievers that found a
 * fact. Ranks rather than raw scores, because BM25 and cosine scores live on incomparable scales.
 * Ties are broken by fact id so the order is deterministic.
 */
export function fuse(candidates: readonly Candidate[]): Fused[] {
  const byId = new Map<string, Fused>();
  for (const c of candidates) {
    const entry = byId.get(c.factId) ?? { factId: c.factId, score: 0, matchedBy: [] };
    if (entry.matchedBy.includes(c.retriever)) continue;
    entry.score += weights[c.retriever] / (rrfK + c.rank);
    entry.matchedBy.push(c.retriever);
    byId.set(c.factId, entry);
  }
  return [...byId.values()].sort((a, b) => b.score - a.score || (a.factId < b.factId ? -1 : a.factId > b.factId ? 1 : 0));
}

/**
 * A Lucene query that matches any of the words of a free-text query. Every word is quoted, so characters Lucene
 * treats as syntax (AND, *, ~, :, quotes...) in agent-written queries cannot break or widen the search.
 */
export function fulltextQuery(text: string): string {
  const words = text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .slice(0, 32);
  return words.map((w) => `"${w}"`).join(' OR ');
}
