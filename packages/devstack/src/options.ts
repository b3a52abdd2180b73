import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from './errors.js';

/** The repository root, found from this file (packages/devstack/src). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Options for {@link startStack}; every field has a default, most can also come from the environment. */
export interface StackOptions {
  /** Where the state file, logs and server data live. @default `<repo>/.kernos` (or `KERNOS_STATE_DIR`) */
  stateDir?: string;
  /** Cache filled by scripts/setup.sh (binaries, Neo4j launcher). @default `KERNOS_CACHE` or `~/.cache/kernos` */
  cacheDir?: string;
  /** NATS client port. @default 4222 (or `KERNOS_NATS_PORT`) */
  natsPort?: number;
  /** NATS HTTP monitoring port, used for the health check. @default 8222 (or `KERNOS_NATS_MONITOR_PORT`) */
  natsMonitorPort?: number;
  /** Temporal frontend gRPC port. @default 7233 (or `KERNOS_TEMPORAL_PORT`) */
  temporalPort?: number;
  /** Neo4j Bolt port. @default 7687 (or `KERNOS_NEO4J_PORT`) */
  neo4jPort?: number;
  /**
   * Reuse servers that the state file records as running and that pass their health check, instead of
   * failing on their ports. @default true
   */
  reuse?: boolean;
  /** Spawn servers in their own session so they outlive the caller (what `stack up` does). @default false */
  detached?: boolean;
  /**
   * A nats-server config file passed with `-c`, e.g. the per-role users and permissions that
   * `services/access/src/identity/cli.ts nats-conf` writes. The command-line flags (port, JetStream, state dir)
   * still apply. @default none (or `KERNOS_NATS_CONFIG`): an open server, as before
   */
  natsConfigFile?: string;
  /**
   * Environment read for the defaults above and for binary lookup (`KERNOS_NATS_SERVER_BIN`,
   * `KERNOS_TEMPORAL_BIN`, `KERNOS_JAVA_BIN`, `JAVA_HOME`, `PATH`). @default process.env
   */
  env?: Record<string, string | undefined>;
}

/** {@link StackOptions} with every default applied. */
export interface ResolvedOptions {
  stateDir: string;
  cacheDir: string;
  natsPort: number;
  natsMonitorPort: number;
  temporalPort: number;
  neo4jPort: number;
  reuse: boolean;
  detached: boolean;
  natsConfigFile: string | undefined;
  env: Record<string, string | undefined>;
}

export function resolveOptions(options: StackOptions = {}): ResolvedOptions {
  const env = options.env ?? process.env;
  return {
    stateDir: resolve(options.stateDir ?? env.KERNOS_STATE_DIR ?? join(repoRoot, '.kernos')),
    cacheDir: resolve(options.cacheDir ?? defaultCacheDir(env)),
    natsPort: options.natsPort ?? portFromEnv(env, 'KERNOS_NATS_PORT', 4222),
    natsMonitorPort: options.natsMonitorPort ?? portFromEnv(env, 'KERNOS_NATS_MONITOR_PORT', 8222),
    temporalPort: options.temporalPort ?? portFromEnv(env, 'KERNOS_TEMPORAL_PORT', 7233),
    neo4jPort: options.neo4jPort ?? portFromEnv(env, 'KERNOS_NEO4J_PORT', 7687),
    reuse: options.reuse ?? true,
    detached: options.detached ?? false,
    natsConfigFile: options.natsConfigFile ?? (env.KERNOS_NATS_CONFIG || undefined),
    env,
  };
}

/** Same rule as scripts/setup.sh: `${KERNOS_CACHE:-$HOME/.cache/kernos}`. */
export function defaultCacheDir(env: Record<string, string | undefined>): string {
  return env.KERNOS_CACHE || join(env.HOME || homedir(), '.cache', 'kernos');
}

function portFromEnv(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StackError('invalid_config', `kernos: ${name}=${raw} is not a port (1-65535); fix or unset it`);
  }
  return port;
}

/**
 * Shortens a path for a one-line message: relative when under the working directory, `~/...` when under
 * the home directory, else as is.
 */
export function displayPath(path: string, env: Record<string, string | undefined> = process.env): string {
  const cwd = process.cwd();
  const home = env.HOME || homedir();
  const cwdCoversHome = cwd === home || `${home}/`.startsWith(`${cwd}/`);
  const fromCwd = relative(cwd, path);
  if (!cwdCoversHome && fromCwd && !fromCwd.startsWith('..') && !isAbsolute(fromCwd)) return fromCwd;
  return home && (path === home || path.startsWith(`${home}/`)) ? `~${path.slice(home.length)}` : path;
}
