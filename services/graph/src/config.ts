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
  /** OpenAI-compatible base URL for embeddings (default http://127.0.0.1:8400/v1, the emulator's usual port). */
  KERNOS_OPENAI_BASE_URL: z.string().url().default('http://127.0.0.1:8400/v1'),
  /** API key sent to the embeddings endpoint (default "kernos-dev"; the emulator accepts any). */
  KERNOS_OPENAI_API_KEY: z.string().default('kernos-dev'),
  /** Embedding model (default "kernos-emu-small"; e.g. text-embedding-3-small on OpenAI). Vectors have 256 dimensions. */
  KERNOS_GRAPH_EMBEDDING_MODEL: z.string().min(1).default('kernos-emu-small'),
  /**
   * Predicates with one value per subject, comma separated, matched by normalised name (default "works at,lives in,
   * status"). A new fact with another object invalidates the current one; requests can also say so with `functional`.
   */
  KERNOS_GRAPH_FUNCTIONAL_PREDICATES: z.string().default('works at,lives in,status'),
  /** How long a sync write waits for the outbox consumer to apply it (default 8000 ms, below the 10 s client timeout). */
  KERNOS_GRAPH_SYNC_WAIT_MS: z.coerce.number().int().positive().default(8_000),
  /** JetStream stream holding accepted writes until they are in Neo4j (default "KERNOS_GRAPH_OUTBOX"). */
  KERNOS_GRAPH_OUTBOX_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/u, 'letters, digits, _ and - only').default('KERNOS_GRAPH_OUTBOX'),
  /** OTLP/HTTP traces endpoint; unset disables export. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().url().optional(),
});

export type GraphConfig = z.output<typeof graphConfigSchema>;

export function loadGraphConfig(env: Record<string, string | undefined>): GraphConfig {
  return parseConfig(graphConfigSchema, env, 'graph');
}
