import { z } from 'zod';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';

export const accessConfigSchema = z.object({
  ...natsConfigShape,
  /** OTLP/HTTP traces endpoint; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
});

export type AccessConfig = z.output<typeof accessConfigSchema>;

export function loadAccessConfig(env: Record<string, string | undefined>): AccessConfig {
  return parseConfig(accessConfigSchema, env, 'access');
}
