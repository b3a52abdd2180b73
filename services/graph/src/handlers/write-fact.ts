import type { graph } from '@kernos/wire';
import { KernosError } from '@kernos/errors';
import type { NewFact, Provenance } from '../store.js';
import { textField } from './validate.js';

/** Limits of a fact's parts, in characters. */
export const factLimits = { name: 1_000, text: 10_000, label: 200 } as const;

/**
 * Checks a write-fact request and returns it trimmed, or throws invalid_argument naming the first bad field.
 * A run id is required: the graph is provenance-tracked memory, and every fact records the run that asserted it.
 */
export function validateWriteFact(request: graph.WriteFactRequest): { fact: NewFact; provenance: Provenance } {
  const ref = request.ref;
  const runId = textField('ref.run_id', ref?.runId ?? '', { required: false, max: factLimits.label });
  if (runId === '') throw new KernosError('invalid_argument', 'ref.run_id is required: every fact records the run that asserted it');
  if (request.validAtMs < 0n) throw new KernosError('invalid_argument', `valid_at_ms must be epoch millis (0: now), got ${request.validAtMs}`);
  return {
    fact: {
      subject: textField('subject', request.subject, { required: true, max: factLimits.name }),
      predicate: textField('predicate', request.predicate, { required: true, max: factLimits.name }),
      object: textField('object', request.object, { required: true, max: factLimits.name }),
      text: textField('text', request.text, { required: false, max: factLimits.text }),
      // Required: access to facts is scoped by category, and an uncategorised fact could never be read.
      dataCategory: textField('data_category', request.dataCategory, { required: true, max: factLimits.label }),
      sourceToolCallId: textField('source_tool_call_id', request.sourceToolCallId, { required: false, max: factLimits.label }),
    },
    provenance: {
      runId,
      jobId: textField('ref.job_id', ref?.jobId ?? '', { required: false, max: factLimits.label }),
      agentId: textField('ref.agent_id', ref?.agentId ?? '', { required: false, max: factLimits.label }),
      tenant: textField('ref.tenant', ref?.tenant ?? '', { required: false, max: factLimits.label }),
    },
  };
}
