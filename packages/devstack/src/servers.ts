import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { findLauncherLib, findTool, javaTool, natsServerTool, temporalTool } from './binaries.js';
import { boltHandshakeOk, httpOk, LOOPBACK, natsInfoOk, type PortClaim } from './net.js';
import type { ResolvedOptions } from './options.js';
import type { ServerName } from './state.js';

/** Printed once by the launcher (tools/neo4j-launcher) when Bolt accepts work. */
export const NEO4J_READY_MARKER = 'KERNOS_NEO4J_READY';

/** How to run, recognise and health-check one server of the stack. */
export interface ServerSpec {
  name: ServerName;
  /** Name in messages, e.g. `nats-server`. */
  label: string;
  /** Upper bound on startup; the message then points at the log. */
  readyTimeoutMs: number;
  /** SIGTERM grace before SIGKILL. Neo4j gets longer: it checkpoints the store on the way down. */
  stopGraceMs: number;
  ports(options: ResolvedOptions): PortClaim[];
  /** Resolves binaries (throwing `missing_binary`) into the command line. */
  command(options: ResolvedOptions): { file: string; args: string[] };
  /** Substrings of the command line that identify this server on this port. */
  markers(port: number): string[];
  /** One readiness probe after spawn; `logSinceStart` is what the server has logged so far. */
  ready(options: ResolvedOptions, logSinceStart: () => string): Promise<boolean>;
  /** One health probe for a server found running (reuse, status). */
  healthy(options: ResolvedOptions): Promise<boolean>;
}

const nats: ServerSpec = {
  name: 'nats',
  label: 'nats-server',
  readyTimeoutMs: 20_000,
  stopGraceMs: 10_000,
  ports: (o) => [
    { port: o.natsPort, owner: 'nats-server', envVar: 'KERNOS_NATS_PORT' },
    { port: o.natsMonitorPort, owner: 'nats-server monitor', envVar: 'KERNOS_NATS_MONITOR_PORT' },
  ],
  command: (o) => ({
    file: findTool(natsServerTool, o),
    args: [
      '-js', '-a', LOOPBACK, '-p', String(o.natsPort), '-sd', join(o.stateDir, 'nats'), '-m', String(o.natsMonitorPort),
      ...(o.natsConfigFile ? ['-c', o.natsConfigFile] : []),
    ],
  }),
  markers: (port) => ['nats-server', `-p ${port}`],
  ready: (o) => natsHealthy(o),
  healthy: (o) => natsHealthy(o),
};

// /healthz says the server (JetStream included) is up; the INFO line proves the client port speaks NATS.
async function natsHealthy(o: ResolvedOptions): Promise<boolean> {
  return (await httpOk(`http://${LOOPBACK}:${o.natsMonitorPort}/healthz`)) && (await natsInfoOk(o.natsPort));
}

/**
 * Dynamic config every Temporal dev server of ours runs with (the dev stack, the fault and load benchmarks' private
 * stacks).
 * - The history service's queue readers poll at most 20 times a second per shard by default, and a dev server has
 *   one shard: once the first burst is spent, every transfer task (a scheduled activity or workflow task going to
 *   matching) waits for the next 50 ms tick, so a no-op activity round trip costs ~100 ms instead of ~15 ms
 *   (measured on this machine: the history's task-started events land on a 50 ms grid). Production clusters run
 *   hundreds of shards, so the per-shard limit does not bind there.
 * - The timer queue may fire a timer up to `history.timerProcessorMaxTimeShift` (1 s) late; measured here, every
 *   300 ms durable sleep (and every activity retry backoff, which is a server timer too) fired ~700 ms late, and
 *   ~11 ms late with the shift at 10 ms.
 * - Eager activity dispatch: the activity a workflow task schedules comes back in the reply to that task instead
 *   of through the transfer queue and matching. Production clusters have the same switch (helm/kernos/README.md).
 */
export const temporalDevServerTuning = [
  '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
  '--dynamic-config-value', 'history.transferProcessorMaxPollRPS=10000',
  '--dynamic-config-value', 'history.timerProcessorMaxPollRPS=10000',
  '--dynamic-config-value', 'history.visibilityProcessorMaxPollRPS=10000',
  '--dynamic-config-value', 'history.timerProcessorMaxTimeShift="10ms"',
];

const temporal: ServerSpec = {
  name: 'temporal',
  label: 'temporal',
  readyTimeoutMs: 60_000,
  stopGraceMs: 10_000,
  ports: (o) => [{ port: o.temporalPort, owner: 'temporal', envVar: 'KERNOS_TEMPORAL_PORT' }],
  command: (o) => ({
    file: findTool(temporalTool, o),
    args: [
      'server', 'start-dev', '--headless',
      '--ip', LOOPBACK,
      '--port', String(o.temporalPort),
      // SQLite in the state dir: cheap, and workflows survive a restart of the server (fault tests).
      '--db-filename', join(o.stateDir, 'temporal', 'temporal.db'),
      // Write-ahead log, fsync at checkpoints: survives a killed server (what the fault tests do), and a round
      // trip costs ~30 ms instead of ~42 ms with the default rollback journal (4 workflows at once on 2 cores).
      '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
      '--log-level', 'warn',
      ...temporalDevServerTuning,
    ],
  }),
  markers: (port) => ['start-dev', `--port ${port}`],
  ready: (o) => defaultNamespaceExists(o),
  healthy: (o) => defaultNamespaceExists(o),
};

/** The frontend answering for the `default` namespace is what clients and workers need. */
function defaultNamespaceExists(o: ResolvedOptions): Promise<boolean> {
  let file: string;
  try {
    file = findTool(temporalTool, o);
  } catch {
    return Promise.resolve(false);
  }
  // TEMPORAL_* variables (TLS, API key, profile) from the caller's shell would point the CLI elsewhere.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TEMPORAL_')));
  const args = ['operator', 'namespace', 'describe', '--namespace', 'default', '--address', `${LOOPBACK}:${o.temporalPort}`, '--command-timeout', '3s', '--output', 'none'];
  return new Promise((resolvePromise) => {
    execFile(file, args, { env, timeout: 5_000 }, (error) => resolvePromise(error === null));
  });
}

/** JVM flags Neo4j's own launcher passes on Java 17+: its page cache and Netty reach into these packages. */
export const NEO4J_JVM_FLAGS = [
  '-Xms128m',
  '-Xmx512m',
  '-XX:+ExitOnOutOfMemoryError',
  '--add-opens', 'java.base/java.nio=ALL-UNNAMED',
  '--add-opens', 'java.base/java.io=ALL-UNNAMED',
  '--add-opens', 'java.base/sun.nio.ch=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true',
];

const neo4j: ServerSpec = {
  name: 'neo4j',
  label: 'neo4j',
  readyTimeoutMs: 90_000,
  stopGraceMs: 30_000,
  ports: (o) => [{ port: o.neo4jPort, owner: 'neo4j', envVar: 'KERNOS_NEO4J_PORT' }],
  command: (o) => {
    const java = findTool(javaTool, o);
    const lib = findLauncherLib(o);
    return {
      file: java,
      // `lib/*` is expanded by java itself (no shell involved).
      args: [...NEO4J_JVM_FLAGS, '-cp', join(lib, '*'), 'dev.kernos.neo4j.Launcher', '--port', String(o.neo4jPort), '--data-dir', join(o.stateDir, 'neo4j')],
    };
  },
  markers: (port) => ['dev.kernos.neo4j.Launcher', `--port ${port}`],
  ready: async (o, logSinceStart) => logSinceStart().includes(NEO4J_READY_MARKER) && (await boltHandshakeOk(o.neo4jPort)),
  healthy: (o) => boltHandshakeOk(o.neo4jPort),
};

export const SERVERS: Readonly<Record<ServerName, ServerSpec>> = { nats, temporal, neo4j };

/** The port a server is recorded under in the state file. */
export function mainPort(name: ServerName, o: ResolvedOptions): number {
  return SERVERS[name].ports(o)[0]!.port;
}
