import { z } from 'zod';
import { KernosError } from '@kernos/errors';
import { natsConfigShape } from '@kernos/service-kit';
import { policyNames } from './admission/policy.js';

const positiveInt = (what = 'a positive integer') =>
  z
    .number({ error: (issue) => (issue.input === undefined ? `required: ${what}` : `expected ${what}`) })
    .int({ error: `expected ${what}` })
    .positive({ error: `expected ${what}` });

const nonEmpty = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `required: ${what}` : `expected ${what}`) }).trim().min(1, { error: `expected ${what}` });

const positiveMs = z.number({ error: 'expected a positive number of ms' }).positive({ error: 'expected a positive number of ms' });

/** Mirrors PolicyOptions; strict so a misspelt knob is an error, not silently ignored. */
const policyOptionsSchema = z.strictObject({
  batchIntervalMs: positiveMs.optional(),
  starvationMs: positiveMs.optional(),
  agingMsPerLevel: positiveMs.optional(),
  urgencyMs: positiveMs.optional(),
  fairnessTokensPerLevel: z.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' }).optional(),
  tenantWeights: z.record(z.string(), z.number({ error: 'expected a positive weight' }).positive({ error: 'expected a positive weight' })).optional(),
});

/** One model endpoint the scheduler admits turns to. */
export const endpointConfigSchema = z.strictObject({
  /** The name callers put in AcquireRequest.endpoint. */
  name: nonEmpty('a non-empty endpoint name'),
  /** OpenAI-compatible base URL handed to the caller with each grant, e.g. http://127.0.0.1:8400/v1. */
  baseUrl: z.url({ error: 'expected an absolute URL such as http://127.0.0.1:8400/v1' }),
  /** Model id handed to the caller with each grant. */
  model: nonEmpty('a non-empty model id'),
  /** Turns that may run on this endpoint at once. */
  maxConcurrent: positiveInt(),
  /** Input + output tokens per rolling minute; a grant books its estimate and the release corrects it (default: unlimited). */
  tokensPerMinute: positiveInt().optional(),
  /** Grants per rolling minute (default: unlimited). */
  requestsPerMinute: positiveInt().optional(),
  /** How long a lease on this endpoint lives without a release or renewal (default: KERNOS_LEASE_TTL_MS); slow models want a longer one. */
  leaseTtlMs: positiveInt().optional(),
  /** Which waiter gets the next free slot; see src/admission/policy.ts (default "composite"). */
  policy: z.enum(policyNames, { error: `expected one of: ${policyNames.join(', ')}` }).default('composite'),
  /** Tuning of the chosen policy (PolicyOptions in src/admission/policy.ts); every knob optional. */
  policyOptions: policyOptionsSchema.optional(),
});

export type EndpointConfig = z.output<typeof endpointConfigSchema>;

const endpointListSchema = z
  .array(endpointConfigSchema, { error: 'expected a JSON list of endpoints' })
  .min(1, { error: 'expected at least one endpoint' })
  .superRefine((endpoints, ctx) => {
    const seen = new Set<string>();
    endpoints.forEach((endpoint, index) => {
      if (seen.has(endpoint.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate endpoint name "${endpoint.name}"` });
      seen.add(endpoint.name);
    });
  });

/** Default endpoint when KERNOS_ENDPOINTS is unset: the local model emulator. */
const defaultEndpoint = (baseUrl: string): EndpointConfig => ({
  name: 'default',
  baseUrl,
  model: 'kernos-emu-small',
  maxConcurrent: 4,
  policy: 'composite',
});

export const schedulerConfigSchema = z
  .object({
    ...natsConfigShape,
    /** OTLP/HTTP traces endpoint; unset disables export. */
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
    /** Base URL of the default endpoint, used only when KERNOS_ENDPOINTS is unset (default http://127.0.0.1:8400/v1). */
    KERNOS_OPENAI_BASE_URL: z.url().default('http://127.0.0.1:8400/v1'),
    /**
     * JSON list of `{ name, baseUrl, model, maxConcurrent, tokensPerMinute?, requestsPerMinute?, policy?, policyOptions? }`
     * (default: one endpoint "default" at KERNOS_OPENAI_BASE_URL, model kernos-emu-small, maxConcurrent 4).
     */
    KERNOS_ENDPOINTS: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined || raw.trim() === '') return undefined;
        try {
          return JSON.parse(raw) as unknown;
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `not valid JSON: ${(error as Error).message}` });
          return z.NEVER;
        }
      })
      .pipe(endpointListSchema.optional()),
    /**
     * How long a granted lease lives without a release before the scheduler takes the slot back (default 60000 ms).
     * It bounds the damage of a holder that died or a grant nobody received, so keep it above the longest turn.
     */
    KERNOS_LEASE_TTL_MS: z.coerce.number().int().positive().default(60_000),
    /** Temporal frontend (host:port) used to signal grants to waiting workflows; unset means workflows poll (default unset). */
    KERNOS_TEMPORAL_ADDRESS: z.string().trim().min(1).optional(),
    /** Temporal namespace of the agent workflows (default "default"). */
    KERNOS_TEMPORAL_NAMESPACE: z.string().trim().min(1).default('default'),
    /**
     * JetStream KV bucket for replicated operation: set it on every replica of one deployment and they elect a
     * leader, keep active leases and tickets in it and take over from a dead leader (default unset: one replica, in memory).
     */
    KERNOS_SCHEDULER_STATE_BUCKET: z
      .string()
      .trim()
      .regex(/^[-\w]+$/, { error: 'expected a bucket name of letters, digits, - and _' })
      .optional(),
    /** JetStream KV bucket of the jobs registry (default "kernos-jobs"). */
    KERNOS_JOBS_BUCKET: z.string().trim().regex(/^[-\w]+$/, { error: 'expected a bucket name of letters, digits, - and _' }).default('kernos-jobs'),
    /** Task queue the jobs' scheduled runs start on (default "kernos-agents", the agent worker's). */
    KERNOS_JOBS_TASK_QUEUE: z.string().trim().min(1).default('kernos-agents'),
    /** This replica's id in the election (default: host name and process id). */
    KERNOS_SCHEDULER_REPLICA_ID: z.string().trim().min(1).optional(),
    /** Leader term; a dead leader is replaced within it (default 3000 ms). */
    KERNOS_SCHEDULER_TERM_MS: z.coerce.number().int().min(300).default(3_000),
  })
  .transform(({ KERNOS_ENDPOINTS, ...rest }) => ({
    ...rest,
    KERNOS_ENDPOINTS: KERNOS_ENDPOINTS ?? [defaultEndpoint(rest.KERNOS_OPENAI_BASE_URL)],
  }));

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;

/**
 * Parses the scheduler's env. Like parseConfig from the service kit it reports every problem at once, but it
 * writes list positions as `KERNOS_ENDPOINTS[0].maxConcurrent`, because the endpoint list is JSON inside one
 * variable and a person fixes it faster when the path reads like the JSON.
 */
export function loadSchedulerConfig(env: Record<string, string | undefined>): SchedulerConfig {
  const result = schedulerConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  throw new KernosError('invalid_argument', `invalid scheduler configuration: ${problems.join('; ')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : `${index === 0 ? '' : '.'}${String(key)}`)).join('');
}
