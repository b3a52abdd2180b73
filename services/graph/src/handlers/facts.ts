import type { graph } from '@kernos/wire';
import { KernosError } from '@kernos/errors';
import { factLimits } from './write-fact.js';
import { textField } from './validate.js';

/** How many facts a facts request returns when it does not say (100), and the most it may ask for (1000). */
export const factsPage = { default: 100, max: 1_000 } as const;

/** Checks a facts request; returns the subject (trimmed) and the effective limit, or throws invalid_argument. */
export function validateFacts(request: graph.FactsRequest): { subject: string; limit: number } {
  const subject = textField('subject', request.subject, { required: true, max: factLimits.name });
  if (request.limit < 0 || request.limit > factsPage.max) {
    throw new KernosError('invalid_argument', `limit must be between 0 (the default, ${factsPage.default}) and ${factsPage.max}, got ${request.limit}`);
  }
  return { subject, limit: request.limit === 0 ? factsPage.default : request.limit };
}
