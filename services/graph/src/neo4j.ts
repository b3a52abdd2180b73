import neo4j, { Neo4jError, type AuthToken, type Driver } from 'neo4j-driver';
import { KernosError } from '@kernos/errors';

export interface Neo4jOptions {
  /** Bolt URI, e.g. bolt://127.0.0.1:7687. */
  uri: string;
  /** User for basic auth (default "neo4j"); ignored without a password. */
  user?: string;
  /** Password; unset or empty means no auth, as in the dev stack. */
  password?: string;
  /** Bound on connecting, pool acquisition and the driver's transaction retries (default 5000 ms). */
  timeoutMs?: number;
}

/**
 * Creates the driver without touching the network (the first query connects). The driver's retry budget is
 * bounded by timeoutMs so a dead Neo4j surfaces as "unavailable" before the caller's NATS request times out.
 */
export function createNeo4jDriver(options: Neo4jOptions): Driver {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const auth = options.password ? neo4j.auth.basic(options.user ?? 'neo4j', options.password) : noAuth.none();
  return neo4j.driver(options.uri, auth, {
    connectionTimeout: timeoutMs,
    connectionAcquisitionTimeout: timeoutMs,
    maxTransactionRetryTime: timeoutMs,
    userAgent: 'kernos-graph/0.1.0',
  });
}

// auth.none() exists at run time in neo4j-driver 6 but is missing from its type declarations.
const noAuth = neo4j.auth as typeof neo4j.auth & { none(): AuthToken };

/** Neo4j error codes that mean the database could not be reached or lost the connection, not that we erred. */
const unreachableCodes = new Set(['ServiceUnavailable', 'SessionExpired']);

/**
 * Decides once, at the boundary, what a Neo4j failure means to a caller: unreachable or transient is
 * "unavailable" (retryable, nothing was committed); anything else is our bug or a broken database, "internal".
 */
export function toGraphError(error: unknown, uri: string): KernosError {
  if (error instanceof KernosError) return error;
  if (error instanceof Neo4jError) {
    if (unreachableCodes.has(error.code) || error.retryable || error.code.startsWith('Neo.TransientError.')) {
      return new KernosError('unavailable', `Neo4j at ${uri} is unavailable (${error.code}): ${error.message}; start it with: npm run stack -- up`, {
        cause: error,
      });
    }
    return new KernosError('internal', `Neo4j at ${uri} failed (${error.code}): ${error.message}`, { cause: error });
  }
  return new KernosError('internal', `graph store failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

/**
 * Neo4j integers arrive as the driver's Integer (64-bit safe); times are stored as epoch millis, which fit a JS
 * number until the year 287396, so converting is safe. Null (never set) becomes 0, the proto's "unset".
 */
export function toMillis(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (neo4j.isInt(value)) return value.toNumber();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new KernosError('internal', `expected epoch millis, got ${typeof value}`);
}
