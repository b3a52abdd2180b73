import { z } from 'zod';
import { KernosError } from '@kernos/errors';

/** A job's name: DNS-style, so it is also a valid key in the registry's KV bucket. */
export const jobNameSchema = z
  .string({ error: 'required: a DNS-style name' })
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: 'expected a DNS-style name: lowercase letters, digits, "-" and "."' })
  .max(63, { error: 'expected at most 63 characters' });
const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, { error: 'expected a duration like 30s, 10m, 2h' });
/** Five or six cron fields, or a Temporal "@every 1h"-style shorthand; Temporal checks the rest when the schedule is created. */
const cron = z.string().trim().regex(/^(@\w+( \S+)?|(\S+\s+){4,5}\S+)$/, { error: 'expected a cron expression like "0 2 * * *"' });

/**
 * A job document (DESIGN.md "Jobs and governance"): apiVersion kernos.dev/v1, kind Job. The same shape as the
 * CLI's `kernos apply -f` reads (packages/cli/src/job.ts), so a document the CLI accepts is accepted here.
 */
export const jobDocumentSchema = z
  .strictObject({
    apiVersion: z.literal('kernos.dev/v1', { error: 'expected "kernos.dev/v1"' }),
    kind: z.literal('Job', { error: 'expected "Job"' }),
    metadata: z.strictObject({
      name: jobNameSchema,
      tenant: z.string().min(1).default('default'),
      labels: z.record(z.string(), z.string()).default({}),
    }),
    spec: z.strictObject({
      /** Workflow type each run starts (default agentWorkflow). */
      workflow: z.string().min(1).default('agentWorkflow'),
      agentId: z.string().min(1).optional(),
      goal: z.string({ error: 'required: what each run should do' }).min(1),
      instructions: z.string().optional(),
      /** Cron schedule; the registry keeps a Temporal Schedule starting the runs in sync with it. */
      schedule: cron.optional(),
      priority: z.number().int().min(-100).max(100).default(0),
      deadline: duration.optional(),
      timeouts: z.strictObject({ run: duration.optional(), turn: duration.optional() }).default({}),
      model: z
        .strictObject({
          endpoint: z.string().min(1).default('default'),
          tokenBudget: z.number().int().positive().optional(),
          maxOutputTokens: z.number().int().positive().max(32_768).optional(),
          maxTurns: z.number().int().positive().max(100).optional(),
        })
        .default({ endpoint: 'default' }),
      tools: z.array(z.string().min(1)).default([]),
      capabilities: z.array(z.string().min(1)).default([]),
      data: z.strictObject({
        subject: z.string().min(1),
        writes: z.string().min(1),
        reads: z.array(z.string().min(1)).default([]),
      }),
      governance: z.strictObject({
        riskLevel: z.enum(['minimal', 'limited', 'high', 'unacceptable']),
        dataCategories: z.array(z.string().min(1)).min(1),
        humanOversight: z.enum(['none', 'on_risk', 'always']),
        approver: z.string().min(1),
      }),
    }),
  })
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

/** Parses a job document from JSON; every problem is reported at once, each naming its field (`spec.governance.riskLevel: ...`). */
export function parseJobDocument(json: string): JobDocument {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new KernosError('invalid_argument', `document_json: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = jobDocumentSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new KernosError('invalid_argument', parsed.error.issues.map((issue) => `${issue.path.join('.') || '(document)'}: ${issue.message}`).join('; '));
}

/** The agent workflow input of one run of the job (the shape of AgentInput in workflows/src/types.ts). */
export function runInputOf(job: JobDocument): Record<string, unknown> {
  const { spec, metadata } = job;
  return {
    tenant: metadata.tenant,
    jobId: metadata.name,
    agentId: spec.agentId ?? metadata.name,
    goal: spec.goal,
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

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a validated duration ("30s", "10m", "2h"). */
export function durationMs(duration: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(duration);
  if (!match) throw new KernosError('invalid_argument', `expected a duration like 30s, 10m, 2h, got "${duration}"`);
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
}

/**
 * How each run of the job is started, besides its input: `spec.timeouts.run` becomes the workflow execution
 * timeout (Temporal ends a run that outlives it), and the deadline and turn timeout travel in the memo, where
 * workflows/src/workflows/lease.ts reads them: every turn is enqueued with `deadline_ms` = run start +
 * `spec.deadline` (so edf and composite order it by the job's deadline) and runs under `spec.timeouts.turn`.
 * The memo keys are those of lease.ts (`deadlineMemoKey`, `turnTimeoutMemoKey`).
 */
export function runOptionsOf(job: JobDocument): { workflowExecutionTimeoutMs?: number; memo: Record<string, number | string> } {
  const { spec, metadata } = job;
  return {
    ...(spec.timeouts.run ? { workflowExecutionTimeoutMs: durationMs(spec.timeouts.run) } : {}),
    memo: {
      tenant: metadata.tenant,
      job: metadata.name,
      ...(spec.deadline ? { 'kernos.deadlineAfterMs': durationMs(spec.deadline) } : {}),
      ...(spec.timeouts.turn ? { 'kernos.turnTimeoutMs': durationMs(spec.timeouts.turn) } : {}),
    },
  };
}
