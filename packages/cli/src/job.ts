import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { KernosError } from '@kernos/errors';
import type { AgentInput } from '@kernos/workflows';

/** The agent workflow's input as it crosses Temporal (plain JSON). */
export type AgentInputDoc = AgentInput;

const name = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'expected a DNS-style name: lowercase letters, digits, "-" and "."').max(63);
const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 30s, 10m, 2h');

/** A job document (DESIGN.md "Jobs and governance"): apiVersion kernos.dev/v1, kind Job. */
export const jobDocumentSchema = z
  .object({
    apiVersion: z.literal('kernos.dev/v1'),
    kind: z.literal('Job'),
    metadata: z
      .object({
        name,
        tenant: z.string().min(1).default('default'),
        labels: z.record(z.string(), z.string()).default({}),
      })
      .strict(),
    spec: z
      .object({
        /** Workflow type to start (default agentWorkflow). */
        workflow: z.string().min(1).default('agentWorkflow'),
        /** Agent identity the runs act as (default: the job's name). */
        agentId: z.string().min(1).optional(),
        goal: z.string().min(1),
        instructions: z.string().optional(),
        /** Cron schedule; runs are started by the scheduler's job registry when there is one. */
        schedule: z.string().min(1).optional(),
        priority: z.number().int().min(-100).max(100).default(0),
        deadline: duration.optional(),
        timeouts: z.object({ run: duration.optional(), turn: duration.optional() }).strict().default({}),
        model: z
          .object({
            endpoint: z.string().min(1).default('default'),
            tokenBudget: z.number().int().positive().optional(),
            maxOutputTokens: z.number().int().positive().max(32_768).optional(),
            maxTurns: z.number().int().positive().max(100).optional(),
          })
          .strict()
          .default({ endpoint: 'default' }),
        tools: z.array(z.string().min(1)).default([]),
        capabilities: z.array(z.string().min(1)).default([]),
        data: z
          .object({
            /** What the conclusion is about: the fact's subject in the graph. */
            subject: z.string().min(1),
            /** The category the conclusion is written under; must be one of governance.dataCategories. */
            writes: z.string().min(1),
            reads: z.array(z.string().min(1)).default([]),
          })
          .strict(),
        governance: z
          .object({
            riskLevel: z.enum(['minimal', 'limited', 'high', 'unacceptable']),
            dataCategories: z.array(z.string().min(1)).min(1),
            humanOversight: z.enum(['none', 'on_risk', 'always']),
            approver: z.string().min(1),
          })
          .strict(),
      })
      .strict(),
  })
  .strict()
  .superRefine((doc, ctx) => {
    if (!doc.spec.governance.dataCategories.includes(doc.spec.data.writes)) {
      ctx.addIssue({
        code: 'custom',
        path: ['spec', 'data', 'writes'],
        message: `"${doc.spec.data.writes}" is not in spec.governance.dataCategories (${doc.spec.governance.dataCategories.join(', ')})`,
      });
    }
    if (doc.spec.governance.riskLevel === 'unacceptable') {
      ctx.addIssue({ code: 'custom', path: ['spec', 'governance', 'riskLevel'], message: 'an "unacceptable" risk job cannot be applied' });
    }
  });

export type JobDocument = z.output<typeof jobDocumentSchema>;

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
  const { spec, metadata } = job;
  return {
    tenant: metadata.tenant,
    jobId: metadata.name,
    agentId: spec.agentId ?? metadata.name,
    goal: overrides.goal ?? spec.goal,
    ...(spec.instructions ? { instructions: spec.instructions } : {}),
    endpoint: spec.model.endpoint,
    priority: spec.priority,
    tools: spec.tools,
    governance: { ...spec.governance, dataCategories: [...spec.governance.dataCategories] },
    subject: spec.data.subject,
    dataCategory: spec.data.writes,
    ...(spec.model.maxTurns ? { maxTurns: spec.model.maxTurns } : {}),
    ...(spec.model.maxOutputTokens ? { maxOutputTokens: spec.model.maxOutputTokens } : {}),
  };
}
