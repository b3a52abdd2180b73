import { z } from 'zod';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';

export const graphConfigSchema = z.object({
  ...natsConfigShape,
  /** Bolt URI of Neo4j (default bolt://127.0.0.1:7687). */
  KERNOS_NEO4J_URI: z.string().url().default('bolt://127.0.0.1:7687'),
  /** Neo4j user (default "neo4j"); only used when a password is set. */
  KERNOS_NEO4J_USER: z.string().default('neo4j'),
  /** Neo4j password; unset or empty connects without auth (the dev stack runs with auth disabled). */
  KERNOS_NEO4J_PASSWORD: z.string().optional(),
  /** The database holding the graph (default "neo4j", the only user database of Community edition). */
  KERNOS_NEO4J_DATABASE: z.string().min(1).default('neo4j'),
  /**
   * How long one request may wait on Neo4j, covering connecting, pool acquisition and the driver's own retries
   * (default 5000 ms). Kept below the 10 s kernel client timeout so callers see "unavailable", not "timeout".
   */
  KERNOS_NEO4J_TIMEOUT_MS: z.coerce.number().int().positive().default(5_000),
  /** OTLP/HTTP traces endpoint; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
});

export type GraphConfig = z.output<typeof graphConfigSchema>;

export function loadGraphConfig(env: Record<string, string | undefined>): GraphConfig {
  return parseConfig(graphConfigSchema, env, 'graph');
}
