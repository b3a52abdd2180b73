import { KernosError } from '@kernos/errors';
import { graph } from '@kernos/wire';
import type { TimeScope } from '../store.js';
import { factLimits } from './write-fact.js';
import { textField } from './validate.js';

/** Hits a search returns when it does not say (10), and the most it may ask for (100). */
export const searchPage = { default: 10, max: 100 } as const;
/** Neighbours returned when a request does not say (100), and the most (1000). */
export const neighboursPage = { default: 100, max: 1_000 } as const;

/** The time scope of a read; as-of needs its instant. */
export function timeScope(mode: graph.TimeMode, asOfMs: bigint): TimeScope {
  switch (mode) {
    case graph.TimeMode.UNSPECIFIED:
    case graph.TimeMode.CURRENT:
      return { mode: 'current' };
    case graph.TimeMode.HISTORY:
      return { mode: 'history' };
    case graph.TimeMode.AS_OF:
      if (asOfMs <= 0n) throw new KernosError('invalid_argument', 'as_of_ms is required with TIME_MODE_AS_OF (epoch millis)');
      return { mode: 'as_of', atMs: Number(asOfMs) };
    default:
      throw new KernosError('invalid_argument', `mode ${String(mode)} is not a TimeMode`);
  }
}

function limitOf(limit: number, page: { default: number; max: number }): number {
  if (limit < 0 || limit > page.max) throw new KernosError('invalid_argument', `limit must be between 0 (the default, ${page.default}) and ${page.max}, got ${limit}`);
  return limit === 0 ? page.default : limit;
}

function categoriesOf(categories: readonly string[]): string[] {
  return categories.map((c, i) => textField(`data_categories[${i}]`, c, { required: true, max: factLimits.label }));
}

export function validateSearch(request: graph.SearchRequest) {
  return {
    text: textField('query', request.query, { required: true, max: factLimits.text }),
    limit: limitOf(request.limit, searchPage),
    time: timeScope(request.mode, request.asOfMs),
    categories: categoriesOf(request.dataCategories),
    expand: !request.noExpansion,
  };
}

export function validateNeighbours(request: graph.NeighboursRequest) {
  return {
    entity: textField('entity', request.entity, { required: true, max: factLimits.name }),
    limit: limitOf(request.limit, neighboursPage),
    time: timeScope(request.mode, request.asOfMs),
    categories: categoriesOf(request.dataCategories),
  };
}

export function validateProvenance(request: graph.ProvenanceRequest) {
  const factId = textField('fact_id', request.factId, { required: true, max: factLimits.label });
  if (!/^[0-9a-f]{32}$/u.test(factId)) throw new KernosError('invalid_argument', `fact_id must be 32 lower-case hex characters, got "${factId}"`);
  return { factId };
}
