import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.js';
import { assertPortFree, LOOPBACK } from './net.js';
import { displayPath, resolveOptions, type ResolvedOptions, type StackOptions } from './options.js';
import { isOurProcess, terminate } from './processes.js';
import { mainPort, SERVERS, type ServerSpec } from './servers.js';
import {
  emptyState,
  liveLeases,
  readState,
  SERVER_NAMES,
  stateFile,
  withStateLock,
  writeState,
  type ServerName,
  type ServerRecord,
  type StackState,
} from './state.js';

/** Where clients reach the stack. */
export interface StackEndpoints {
  natsUrl: string;
  temporalAddress: string;
  temporalNamespace: 'default';
  neo4jUri: string;
  /** Neo4j runs with auth disabled; these are accepted and ignored, so clients need no special case. */
  neo4jUser: string;
  neo4jPassword: string;
}

/** A started (or reused) stack. */
export interface RunningStack {
  readonly endpoints: StackEndpoints;
  readonly stateDir: string;
  /** Servers this handle started and still owns; the rest were reused. */
  readonly started: readonly ServerName[];
  /** Stops every server of the stack (reverse start order) and removes the state file. */
  stop(): Promise<void>;
  /**
   * Lets go of the stack: stops the servers this handle started, unless another live process has since
   * reused them, in which case they stay up (recorded in the state file for the next user or `down`).
   */
  release(): Promise<void>;
  /** Stops one server, e.g. to see how clients cope with NATS going away. */
  stopServer(name: ServerName): Promise<void>;
  /** Starts one server again on its ports and waits until it is ready; a no-op when it is running. */
  startServer(name: ServerName): Promise<void>;
}

export function endpointsFor(o: Pick<ResolvedOptions, 'natsPort' | 'temporalPort' | 'neo4jPort'>): StackEndpoints {
  return {
    natsUrl: `nats://${LOOPBACK}:${o.natsPort}`,
    temporalAddress: `${LOOPBACK}:${o.temporalPort}`,
    temporalNamespace: 'default',
    neo4jUri: `bolt://${LOOPBACK}:${o.neo4jPort}`,
    neo4jUser: 'neo4j',
    neo4jPassword: 'kernos-dev',
  };
}

/**
 * Starts NATS (JetStream), the Temporal dev server and Neo4j on loopback and waits until each is ready.
 * With `reuse` (the default) servers already recorded in the state file and healthy are kept, so a second
 * test run, or a run after `stack up`, starts in well under a second.
 */
export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const o = resolveOptions(options);
  const started = await withStateLock(o.stateDir, async () => {
    const state = readState(o.stateDir) ?? emptyState();
    await keepHealthyServers(state, o);
    const missing = SERVER_NAMES.filter((name) => !state.servers[name]);
    try {
      const launched = await launchAll(missing, state, o);
      state.leases = [...liveLeases(state).filter((pid) => pid !== process.pid), process.pid];
      return launched;
    } finally {
      // Also on failure: the state must forget servers that were found dead or stopped above.
      writeState(o.stateDir, state);
    }
  });
  return new StackHandle(o, started);
}

/** Stops every server recorded in the state dir's state file. Returns the ones it stopped. */
export async function stopStack(options: Pick<StackOptions, 'stateDir' | 'env'> = {}): Promise<ServerName[]> {
  const o = resolveOptions(options);
  return withStateLock(o.stateDir, async () => {
    const state = readState(o.stateDir);
    if (!state) return [];
    const stopped = await stopServers([...SERVER_NAMES].reverse(), state);
    writeState(o.stateDir, emptyState());
    return stopped;
  });
}

/** One server as the state file and a live probe see it. */
export interface ServerStatus {
  name: ServerName;
  pid: number;
  port: number;
  /** The process still runs. */
  running: boolean;
  /** It answers its health check. */
  healthy: boolean;
  log: string;
}

/** The servers recorded in the state dir, probed; `null` when no stack is recorded there. */
export async function stackStatus(options: Pick<StackOptions, 'stateDir' | 'env' | 'cacheDir'> = {}): Promise<{ stateFile: string; servers: ServerStatus[] } | null> {
  const base = resolveOptions(options);
  const state = readState(base.stateDir);
  if (!state) return null;
  const o = optionsFromState(base, state);
  const recorded = SERVER_NAMES.flatMap((name) => {
    const record = state.servers[name];
    return record ? [{ name, record }] : [];
  });
  const servers = await Promise.all(
    recorded.map(async ({ name, record }): Promise<ServerStatus> => {
      const spec = SERVERS[name];
      const running = isOurProcess(record.pid, spec.markers(record.port));
      return { name, pid: record.pid, port: record.port, running, healthy: running && (await spec.healthy(o)), log: record.log };
    }),
  );
  return { stateFile: stateFile(base.stateDir), servers };
}

/** The recorded ports win over defaults when probing a stack someone else started. */
function optionsFromState(o: ResolvedOptions, state: StackState): ResolvedOptions {
  const { nats, temporal, neo4j } = state.servers;
  return {
    ...o,
    natsPort: nats?.port ?? o.natsPort,
    natsMonitorPort: nats?.monitorPort ?? o.natsMonitorPort,
    temporalPort: temporal?.port ?? o.temporalPort,
    neo4jPort: neo4j?.port ?? o.neo4jPort,
  };
}

/**
 * Sorts the recorded servers: healthy ones on the requested ports stay; dead ones are forgotten; running
 * but unhealthy ones (ours, by pid and command line) are stopped so they can be started afresh.
 */
async function keepHealthyServers(state: StackState, o: ResolvedOptions): Promise<void> {
  for (const name of SERVER_NAMES) {
    const record = state.servers[name];
    if (!record) continue;
    const spec = SERVERS[name];
    if (!isOurProcess(record.pid, spec.markers(record.port))) {
      delete state.servers[name];
      continue;
    }
    if (!o.reuse) {
      throw new StackError(
        'port_in_use',
        `kernos: port ${record.port} (${spec.label}) is already in use by this state dir's stack (pid ${record.pid}); run: npm run stack down, or allow reuse`,
      );
    }
    const wanted = spec.ports(o).map((claim) => claim.port);
    const recorded = [record.port, ...(record.monitorPort === undefined ? [] : [record.monitorPort])];
    if (wanted.join() !== recorded.join()) {
      throw new StackError(
        'invalid_config',
        `kernos: ${displayPath(stateFile(o.stateDir))} has ${spec.label} on port ${recorded.join('/')}, not ${wanted.join('/')}; run: npm run stack down, or use another stateDir`,
      );
    }
    if (!(await spec.healthy(o))) {
      await terminate(record.pid, spec.stopGraceMs);
      delete state.servers[name];
    }
  }
}

/**
 * Starts the named servers in parallel (Neo4j's JVM dominates; the others are ready long before it).
 * Every binary and port is checked before anything is spawned so a setup problem costs no startup. If
 * one fails the others started here are stopped again and the first error (in start order) is thrown.
 */
async function launchAll(names: readonly ServerName[], state: StackState, o: ResolvedOptions): Promise<ServerName[]> {
  const commands = names.map((name) => ({ spec: SERVERS[name], command: SERVERS[name].command(o) }));
  for (const { spec } of commands) {
    for (const claim of spec.ports(o)) await assertPortFree(claim);
  }
  // When one server fails the others stop waiting: nobody should sit out Neo4j's startup for nothing.
  const abort = new AbortController();
  const results = await Promise.allSettled(
    commands.map(({ spec, command }) =>
      launch(spec, command, o, abort.signal).catch((error: unknown) => {
        abort.abort();
        throw error;
      }),
    ),
  );
  const failure = results
    .flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
    .find((reason) => !(reason instanceof LaunchAborted));
  const records = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  if (failure) {
    await Promise.all(records.map(({ spec, record }) => terminate(record.pid, spec.stopGraceMs)));
    throw failure;
  }
  for (const { spec, record } of records) state.servers[spec.name] = record;
  return records.map(({ spec }) => spec.name);
}

/** Spawns one server with its output appended to `<stateDir>/logs/<name>.log` and waits until it is ready. */
async function launch(
  spec: ServerSpec,
  command: { file: string; args: string[] },
  o: ResolvedOptions,
  signal: AbortSignal,
): Promise<{ spec: ServerSpec; record: ServerRecord }> {
  const logDir = join(o.stateDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  // Each server keeps its data in <stateDir>/<name>; Temporal does not create its SQLite file's folder.
  mkdirSync(join(o.stateDir, spec.name), { recursive: true });
  const log = join(logDir, `${spec.name}.log`);
  const fd = openSync(log, 'a');
  const logStart = statSync(log).size;
  writeSync(fd, `--- kernos: ${new Date().toISOString()} ${command.file} ${command.args.join(' ')}\n`);

  // The log file, not a pipe, takes the output: a detached server must not die of SIGPIPE once the
  // process that started it has exited.
  const child = spawn(command.file, command.args, { detached: o.detached, stdio: ['ignore', fd, fd], cwd: o.stateDir });
  closeSync(fd);
  child.unref();
  let exit: string | undefined;
  child.once('error', (error) => (exit = `failed to start (${error.message})`));
  child.once('exit', (code, signal) => (exit = `exited with ${signal ?? `code ${code}`}`));

  const where = displayPath(log, o.env);
  const deadline = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    if (exit) throw new StackError('not_ready', `kernos: ${spec.label} ${exit} before it was ready; see ${where}`);
    if (await spec.ready(o, () => readFrom(log, logStart))) break;
    if (signal.aborted) {
      if (child.pid !== undefined) await terminate(child.pid, spec.stopGraceMs);
      throw new LaunchAborted();
    }
    if (Date.now() > deadline) {
      if (child.pid !== undefined) await terminate(child.pid, spec.stopGraceMs);
      throw new StackError('not_ready', `kernos: ${spec.label} was not ready within ${spec.readyTimeoutMs / 1000}s; see ${where}`);
    }
    await sleep(200);
  }
  const [main, monitor] = spec.ports(o).map((claim) => claim.port);
  return {
    spec,
    record: {
      pid: child.pid!,
      port: main!,
      ...(monitor === undefined ? {} : { monitorPort: monitor }),
      log,
      startedAt: new Date().toISOString(),
      detached: o.detached,
    },
  };
}

/** A launch given up because a sibling failed; never surfaces, the sibling's error does. */
class LaunchAborted extends Error {}

function readFrom(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Stops the recorded servers in the given order and drops them from the state. */
async function stopServers(names: readonly ServerName[], state: StackState): Promise<ServerName[]> {
  const stopped: ServerName[] = [];
  for (const name of names) {
    const record = state.servers[name];
    if (!record) continue;
    const spec = SERVERS[name];
    if (isOurProcess(record.pid, spec.markers(record.port))) {
      await terminate(record.pid, spec.stopGraceMs);
      stopped.push(name);
    }
    delete state.servers[name];
  }
  return stopped;
}

class StackHandle implements RunningStack {
  readonly endpoints: StackEndpoints;
  readonly stateDir: string;
  readonly #options: ResolvedOptions;
  readonly #owned: Set<ServerName>;
  // A stack that is not detached must not outlive its owner, even one that forgot to stop it or crashed.
  readonly #onExit = () => this.#killOwnedSync();

  constructor(options: ResolvedOptions, started: readonly ServerName[]) {
    this.#options = options;
    this.#owned = new Set(started);
    this.endpoints = endpointsFor(options);
    this.stateDir = options.stateDir;
    this.#syncExitHook();
  }

  get started(): readonly ServerName[] {
    return SERVER_NAMES.filter((name) => this.#owned.has(name));
  }

  async stop(): Promise<void> {
    await stopStack({ stateDir: this.stateDir, env: this.#options.env });
    this.#owned.clear();
    this.#syncExitHook();
  }

  async release(): Promise<void> {
    await withStateLock(this.stateDir, async () => {
      const state = readState(this.stateDir) ?? emptyState();
      state.leases = liveLeases(state).filter((pid) => pid !== process.pid);
      if (state.leases.length === 0) {
        const mine = [...SERVER_NAMES].reverse().filter((name) => this.#owned.has(name));
        await stopServers(mine, state);
      }
      writeState(this.stateDir, state);
    });
    this.#owned.clear();
    this.#syncExitHook();
  }

  async stopServer(name: ServerName): Promise<void> {
    await withStateLock(this.stateDir, async () => {
      const state = readState(this.stateDir) ?? emptyState();
      await stopServers([name], state);
      writeState(this.stateDir, state);
    });
    this.#owned.delete(name);
    this.#syncExitHook();
  }

  async startServer(name: ServerName): Promise<void> {
    await withStateLock(this.stateDir, async () => {
      const state = readState(this.stateDir) ?? emptyState();
      const record = state.servers[name];
      if (record && isOurProcess(record.pid, SERVERS[name].markers(mainPort(name, this.#options)))) return;
      delete state.servers[name];
      await launchAll([name], state, this.#options);
      writeState(this.stateDir, state);
      this.#owned.add(name);
    });
    this.#syncExitHook();
  }

  #syncExitHook(): void {
    process.off('exit', this.#onExit);
    if (!this.#options.detached && this.#owned.size > 0) process.on('exit', this.#onExit);
  }

  /** Runs inside process 'exit', where only synchronous work happens: signal, then forget. */
  #killOwnedSync(): void {
    try {
      const state = readState(this.stateDir);
      if (!state) return;
      state.leases = liveLeases(state).filter((pid) => pid !== process.pid);
      // Same rule as release(): servers another live process reuses stay up.
      if (state.leases.length > 0) {
        writeState(this.stateDir, state);
        return;
      }
      for (const name of this.#owned) {
        const record = state.servers[name];
        if (!record) continue;
        if (isOurProcess(record.pid, SERVERS[name].markers(record.port))) process.kill(record.pid, 'SIGTERM');
        delete state.servers[name];
      }
      writeState(this.stateDir, state);
    } catch {
      // Exiting anyway; a stale state file is cleaned up by the next start.
    }
  }
}
