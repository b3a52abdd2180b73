import { z } from 'zod';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';
import { KernosError } from '@kernos/errors';

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).trim().min(1, { error: `expected ${what}` });

/** The governance a job declares (the same fields as a Job document's governance). */
export const governanceSchema = z.strictObject({
  riskLevel: z.enum(['minimal', 'limited', 'high', 'unacceptable'], { error: 'expected one of: minimal, limited, high, unacceptable' }),
  dataCategories: z.array(nonEmpty('a data category')).default([]),
  humanOversight: z.enum(['none', 'on_risk', 'always'], { error: 'expected one of: none, on_risk, always' }).default('none'),
  approver: z.string().default(''),
});

/**
 * One Kernos API key: which job a client that presents it runs as, and what that job may spend. A framework's
 * unchanged OpenAI client sends it as its API key; everything else follows from it.
 */
export const apiKeySchema = z.strictObject({
  /** The secret the client sends as `Authorization: Bearer <key>` (at least 16 characters). */
  key: z.string({ error: 'expected the API key' }).min(16, { error: 'expected at least 16 characters' }),
  tenant: nonEmpty('a tenant'),
  jobId: nonEmpty('a job id'),
  /** Who the calls are attributed to in leases and audit (default "openai-client:<jobId>"). */
  agentId: z.string().optional(),
  /** Scheduler endpoints the job may use; the request's `model` names one (default ["default"]). */
  endpoints: z.array(nonEmpty('an endpoint name')).min(1, { error: 'expected at least one endpoint' }).default(['default']),
  /** Scheduling priority of the job's turns, higher first (default 0). */
  priority: z.number({ error: 'expected an integer' }).int({ error: 'expected an integer' }).default(0),
  /** Output tokens a request may ask for; larger max_tokens are cut to this (default 1024). */
  maxOutputTokens: z.number().int().positive({ error: 'expected a positive integer' }).default(1024),
  /** Input plus output tokens the job may spend through this gateway process (default unlimited). */
  tokenBudget: z.number().int().positive({ error: 'expected a positive integer' }).optional(),
  governance: governanceSchema,
});

export type ApiKeyConfig = z.output<typeof apiKeySchema>;

export const apiKeysSchema = z.array(apiKeySchema, { error: 'expected a JSON list of keys' }).superRefine((keys, ctx) => {
  const seen = new Set<string>();
  keys.forEach((entry, index) => {
    if (seen.has(entry.key)) ctx.addIssue({ code: 'custom', path: [index, 'key'], message: 'duplicate key' });
    seen.add(entry.key);
  });
});

export const modelGatewayConfigSchema = z.object({
  ...natsConfigShape,
  /** OTLP/HTTP traces endpoint; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /** Address the HTTP endpoint listens on (default 127.0.0.1). */
  KERNOS_MODEL_GATEWAY_HOST: z.string().default('127.0.0.1'),
  /** Port of the HTTP endpoint; 0 picks a free one (default 8480). */
  KERNOS_MODEL_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8480),
  /** The API keys as a JSON list (see apiKeySchema); main.ts reads KERNOS_MODEL_GATEWAY_KEYS_FILE into it. Default: none. */
  KERNOS_MODEL_GATEWAY_KEYS: z.string().default('[]'),
  /** API key the gateway sends to the real model endpoints (default "kernos-dev"; the emulator accepts any). */
  KERNOS_OPENAI_API_KEY: z.string().default('kernos-dev'),
  /** How long a request may wait for a lease in the scheduler's queue (default 120000 ms). */
  KERNOS_MODEL_GATEWAY_LEASE_WAIT_MS: z.coerce.number().int().positive().default(120_000),
});

export type ModelGatewayConfig = z.output<typeof modelGatewayConfigSchema> & { keys: ApiKeyConfig[] };

/** Parses the environment and the key list; every problem is reported at once, each naming its field. */
export function loadModelGatewayConfig(env: Record<string, string | undefined>): ModelGatewayConfig {
  const config = parseConfig(modelGatewayConfigSchema, env, 'model-gateway');
  return { ...config, keys: parseApiKeys(config.KERNOS_MODEL_GATEWAY_KEYS) };
}

export function parseApiKeys(text: string): ApiKeyConfig[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new KernosError('invalid_argument', `invalid model-gateway configuration: KERNOS_MODEL_GATEWAY_KEYS: not JSON (${(error as Error).message})`);
  }
  const parsed = apiKeysSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${['KERNOS_MODEL_GATEWAY_KEYS', ...issue.path].join('.')}: ${issue.message}`);
  throw new KernosError('invalid_argument', `invalid model-gateway configuration: ${problems.join('; ')}`);
}
