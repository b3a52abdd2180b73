import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJobDocuments } from '@kernos/cli';
import { KernosError } from '@kernos/errors';

// Job documents (DESIGN.md "Jobs and governance") as people write them: YAML junk, arbitrary YAML/JSON, and a
// valid Job with fields replaced by anything. parseJobDocuments accepts it or throws one KernosError whose
// every line says which document and which field (or that the YAML itself is broken).
const runs = { numRuns: 300, seed: 20_261_127 };

const validJob = {
  apiVersion: 'kernos.dev/v1',
  kind: 'Job',
  metadata: { name: 'triage', tenant: 'acme' },
  spec: {
    goal: 'Triage the new tickets.',
    priority: 5,
    deadline: '10m',
    model: { endpoint: 'default', maxTurns: 4 },
    tools: ['everything.echo'],
    data: { subject: 'tickets', writes: 'internal' },
    governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
  },
};

const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Sets `value` at a dotted path of a copy of `doc` (or deletes the field when value is undefined). */
function withField(doc: unknown, path: readonly string[], value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

const paths = [
  ['apiVersion'], ['kind'], ['metadata'], ['metadata', 'name'], ['metadata', 'labels'], ['spec', 'goal'], ['spec', 'priority'],
  ['spec', 'deadline'], ['spec', 'timeouts'], ['spec', 'model'], ['spec', 'model', 'maxTurns'], ['spec', 'tools'], ['spec', 'data', 'writes'],
  ['spec', 'governance', 'riskLevel'], ['spec', 'governance', 'dataCategories'], ['spec', 'unknownField'],
].map((p) => p as readonly string[]);

const mutatedJob = fc
  .array(fc.tuple(fc.constantFrom(...paths), fc.oneof(anyJson, fc.constant(undefined))), { minLength: 1, maxLength: 3 })
  .map((edits) => edits.reduce<unknown>((doc, [path, value]) => withField(doc, path, value), validJob));

// JSON is YAML, so documents are written as JSON; several documents are joined with "---".
const text = fc.oneof(
  mutatedJob.map((doc) => JSON.stringify(doc, null, 2)),
  fc.array(fc.oneof(mutatedJob, fc.constant(validJob)), { minLength: 2, maxLength: 3 }).map((docs) => docs.map((d) => JSON.stringify(d)).join('\n---\n')),
  anyJson.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 60 }),
  fc.constantFrom('', '---', 'a: [', 'spec:\n\t- x', '{', 'kind: Job\nkind: Job', '*alias', '!!binary x'),
);

describe('job document parser', () => {
  it('accepts the valid document', () => {
    const [job] = parseJobDocuments(JSON.stringify(validJob));
    expect(job?.metadata.name).toBe('triage');
  });

  it('accepts a document or refuses it with every problem named by document and field', () => {
    let refused = 0;
    fc.assert(
      fc.property(text, (input) => {
        try {
          parseJobDocuments(input, 'job.yaml');
        } catch (error) {
          refused += 1;
          expect(error).toBeInstanceOf(KernosError);
          expect((error as KernosError).code).toBe('invalid_argument');
          for (const line of (error as Error).message.split('\n')) {
            // "job.yaml: spec.priority: ...", "job.yaml document 2: (document): ...", "job.yaml: YAML: ..."
            expect(line).toMatch(/^job\.yaml( document \d+)?: (YAML: .+|\(document\): .+|.+: .+|no YAML document)$/);
          }
        }
      }),
      runs,
    );
    expect(refused).toBeGreaterThan(runs.numRuns / 2);
  });
});
