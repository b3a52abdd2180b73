import { z } from 'zod';
import { KernosError } from '@kernos/errors';

/** Settings every kernel process shares; services spread this into their own schema. */
export const natsConfigShape = {
  /** NATS server URL (default nats://127.0.0.1:4222). */
  KERNOS_NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  KERNOS_NATS_USER: z.string().optional(),
  KERNOS_NATS_PASSWORD: z.string().optional(),
  /** How long shutdown may take before the process gives up waiting (default 10000 ms). */
  KERNOS_SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Port of the /healthz and /readyz endpoints (see startHealthServer); unset or empty disables them, so
   * several processes on one machine do not clash; 0 picks a free port (default: disabled; the chart sets 9464).
   */
  KERNOS_HEALTH_PORT: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() === '' ? undefined : value),
    z.coerce.number({ error: 'expected a port number' }).int({ error: 'expected a port number' }).min(0, { error: 'expected a port number from 0 to 65535' }).max(65_535, { error: 'expected a port number from 0 to 65535' }).optional(),
  ),
  /** Interface the health endpoints listen on (default 0.0.0.0, so the kubelet reaches them). */
  KERNOS_HEALTH_HOST: z.string().min(1).optional(),
} as const;

/**
 * Parses an env-like object with a zod schema. Every problem is reported at once, each naming the variable,
 * because a misconfigured pod is fixed faster when it says everything that is wrong in one go.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>, owner: string): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new KernosError('invalid_argument', `invalid ${owner} configuration: ${problems.join('; ')}`);
}
