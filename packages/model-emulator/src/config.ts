import { z } from 'zod';
import { DEFAULT_MODELS, type EmulatorOptions } from './emulator.js';

/** Fully resolved options, as read from the environment. */
export type EmulatorConfig = Required<Omit<EmulatorOptions, 'apiKey' | 'outputTokens'>> &
  Pick<EmulatorOptions, 'apiKey' | 'outputTokens'>;

// An empty variable (FOO= in a .env file) means "not set", not "the empty string" or 0.
const unsetIfEmpty = (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const num = () => z.preprocess(unsetIfEmpty, z.coerce.number());
const str = () => z.preprocess(unsetIfEmpty, z.string().optional());

const envSchema = z.object({
  KERNOS_EMULATOR_HOST: str().default('127.0.0.1'),
  KERNOS_EMULATOR_PORT: num().pipe(z.number().int().min(0).max(65535)).default(8400),
  KERNOS_EMULATOR_SEED: num().pipe(z.number().int()).default(1),
  KERNOS_EMULATOR_MODELS: str()
    .transform((list) =>
      list === undefined
        ? [...DEFAULT_MODELS]
        : list
            .split(',')
            .map((m) => m.trim())
            .filter((m) => m !== ''),
    )
    .pipe(z.array(z.string()).min(1, 'list at least one model id')),
  KERNOS_EMULATOR_API_KEY: str(),
  KERNOS_EMULATOR_MAX_CONCURRENT: num().pipe(z.number().int().positive()).default(16),
  KERNOS_EMULATOR_MAX_QUEUE: num().pipe(z.number().int().nonnegative()).optional(),
  KERNOS_EMULATOR_TOKENS_PER_SECOND: num().pipe(z.number().nonnegative()).default(1000),
  KERNOS_EMULATOR_REQUEST_TOKENS_PER_SECOND: num().pipe(z.number().nonnegative()).default(0),
  KERNOS_EMULATOR_LATENCY_MS: num().pipe(z.number().nonnegative()).default(50),
  KERNOS_EMULATOR_LATENCY_SIGMA: num().pipe(z.number().nonnegative()).default(0.5),
  KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN: num().pipe(z.number().positive()).optional(),
  KERNOS_EMULATOR_OUTPUT_TOKENS_SIGMA: num().pipe(z.number().nonnegative()).default(0.8),
  KERNOS_EMULATOR_EMBEDDING_DIMENSIONS: num().pipe(z.number().int().min(1).max(4096)).default(256),
  KERNOS_EMULATOR_TIME_SCALE: num().pipe(z.number().positive()).default(1),
  KERNOS_EMULATOR_RETRY_AFTER_MS: num().pipe(z.number().nonnegative()).default(1000),
});

/** Reads the emulator's settings from an environment object (normally process.env, passed in by main.ts). */
export function loadConfig(env: Record<string, string | undefined>): EmulatorConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid model emulator configuration: ${problems}`);
  }
  const e = parsed.data;
  return {
    host: e.KERNOS_EMULATOR_HOST,
    port: e.KERNOS_EMULATOR_PORT,
    seed: e.KERNOS_EMULATOR_SEED,
    models: e.KERNOS_EMULATOR_MODELS,
    apiKey: e.KERNOS_EMULATOR_API_KEY,
    maxConcurrent: e.KERNOS_EMULATOR_MAX_CONCURRENT,
    maxQueue: e.KERNOS_EMULATOR_MAX_QUEUE ?? Infinity,
    tokensPerSecond: e.KERNOS_EMULATOR_TOKENS_PER_SECOND,
    perRequestTokensPerSecond: e.KERNOS_EMULATOR_REQUEST_TOKENS_PER_SECOND,
    latencyMs: e.KERNOS_EMULATOR_LATENCY_MS,
    latencySigma: e.KERNOS_EMULATOR_LATENCY_SIGMA,
    outputTokens:
      e.KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN === undefined
        ? undefined
        : { median: e.KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN, sigma: e.KERNOS_EMULATOR_OUTPUT_TOKENS_SIGMA },
    embeddingDimensions: e.KERNOS_EMULATOR_EMBEDDING_DIMENSIONS,
    timeScale: e.KERNOS_EMULATOR_TIME_SCALE,
    retryAfterMs: e.KERNOS_EMULATOR_RETRY_AFTER_MS,
  };
}
