import { parseAllDocuments } from 'yaml';
import { jobDocumentSchema, runInputOf, type JobDocument } from '@kernos/scheduler/jobs';
// How a job's run is started besides its input (run timeout; deadline and turn timeout in the memo).
export { runOptionsOf } from '@kernos/scheduler/jobs';
import { KernosError } from '@kernos/errors';
import type { AgentInput } from '@kernos/workflows';

/** The agent workflow's input as it crosses Temporal (plain JSON). */
export type AgentInputDoc = AgentInput;

// One schema for job documents, the scheduler's: a document the CLI accepts is one the registry accepts.
export { jobDocumentSchema };
export type { JobDocument };

/**
 * Parses one or more YAML job documents. Every problem of every document is reported at once, each with its
 * document number and field path, e.g. `document 1: spec.governance.riskLevel: Invalid option...`.
 */
export function parseJobDocuments(text: string, source = 'input'): JobDocument[] {
  const docs = parseAllDocuments(text);
  const problems: string[] = [];
  const out: JobDocument[] = [];
  docs.forEach((doc, index) => {
    const where = docs.length > 1 ? `${source} document ${index + 1}` : source;
    if (doc.errors.length > 0) {
      problems.push(...doc.errors.map((e) => `${where}: YAML: ${e.message.split('\n')[0]}`));
      return;
    }
    let value: unknown;
    try {
      // toJS() throws on what the parser lets through, e.g. an alias with no anchor ("*x") or an alias bomb.
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push(`${where}: YAML: ${(error as Error).message.split('\n')[0]}`);
      return;
    }
    const parsed = jobDocumentSchema.safeParse(value);
    if (!parsed.success) {
      problems.push(...parsed.error.issues.map((i) => `${where}: ${i.path.join('.') || '(document)'}: ${i.message}`));
      return;
    }
    out.push(parsed.data);
  });
  if (docs.length === 0) problems.push(`${source}: no YAML document`);
  if (problems.length > 0) throw new KernosError('invalid_argument', problems.join('\n'));
  return out;
}

/** The agent workflow input a job's run starts with. */
export function agentInputFor(job: JobDocument, overrides: { goal?: string } = {}): AgentInputDoc {
  return { ...(runInputOf(job) as unknown as AgentInputDoc), goal: overrides.goal ?? job.spec.goal };
}
