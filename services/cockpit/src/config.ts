import { z } from 'zod';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';

/** One person who may use the cockpit. */
export const userSchema = z
  .object({
    /** Display name. */
    name: z.string().min(1),
    /** Identity used for decisions (the approver named in a job's governance, e.g. lead@example.com). */
    identity: z.string().min(1),
    /** operator: sees and steers (pause, resume, cancel, approve, deny); viewer: sees only. */
    role: z.enum(['operator', 'viewer']),
    /** Bearer token (at least 16 characters); the login form takes it too. */
    token: z.string().min(16, 'tokens must be at least 16 characters'),
    /**
     * Data categories this person may see: facts in the graph explorer, and audit records of jobs (or graph writes)
     * handling only these categories (default: ["public", "internal"]).
     */
    dataCategories: z.array(z.string().min(1)).default(['public', 'internal']),
  })
  .strict();

export type CockpitUser = z.output<typeof userSchema>;

const usersFromJson = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` });
    return z.NEVER;
  }
});

export const cockpitConfigSchema = z.object({
  ...natsConfigShape,
  /** HTTP port (default 8470; 0 picks a free port). */
  KERNOS_COCKPIT_PORT: z.coerce.number().int().min(0).max(65_535).default(8470),
  /** Interface to listen on (default 127.0.0.1). */
  KERNOS_COCKPIT_HOST: z.string().min(1).default('127.0.0.1'),
  /** JSON array of users: [{name, identity, role: operator|viewer, token, dataCategories?}]. Required. */
  KERNOS_COCKPIT_USERS: usersFromJson.pipe(z.array(userSchema).min(1, 'configure at least one user')),
  /** Temporal frontend (default 127.0.0.1:7233). */
  KERNOS_TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  /** Temporal namespace (default "default"). */
  KERNOS_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Task queue runs are started on (default kernos-agents). */
  KERNOS_TASK_QUEUE: z.string().min(1).default('kernos-agents'),
  /** Show only runs on this task queue (default: every run in the namespace). */
  KERNOS_COCKPIT_ONLY_TASK_QUEUE: z.string().min(1).optional(),
  /** JetStream stream holding the audit records (default AUDIT). */
  KERNOS_AUDIT_STREAM: z.string().min(1).default('AUDIT'),
  /** How often live views are refreshed over SSE, in ms (default 2000). */
  KERNOS_COCKPIT_REFRESH_MS: z.coerce.number().int().min(200).default(2_000),
  /**
   * Port of the cockpit's own OTLP/HTTP JSON trace receiver; point the kernel's OTEL_EXPORTER_OTLP_TRACES_ENDPOINT at
   * http://host:port/v1/traces to see each run's trace in the run view. Unset: no receiver (default).
   */
  KERNOS_COCKPIT_OTLP_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  /** Link template for a trace in an external viewer, `{traceId}` is replaced (default: none). */
  KERNOS_TRACE_URL: z.string().min(1).optional(),
  /** Price per million tokens by model, JSON {"model": {"input": 0.15, "output": 0.6}} (default: none; cost not shown). */
  KERNOS_COCKPIT_PRICES: usersFromJson.pipe(z.record(z.string(), z.object({ input: z.number().min(0), output: z.number().min(0) }).strict())).optional(),
  /** OTLP/HTTP traces endpoint for the cockpit's own spans; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
  /** OTLP/HTTP metrics endpoint (scheduler queue depth and utilisation gauges); unset disables export. */
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: z.string().url().optional(),
});

export type CockpitConfig = z.output<typeof cockpitConfigSchema>;

export function loadCockpitConfig(env: Record<string, string | undefined>): CockpitConfig {
  return parseConfig(cockpitConfigSchema, env, 'cockpit');
}
