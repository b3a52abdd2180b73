import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.js';
import { isAlive } from './processes.js';

export type ServerName = 'nats' | 'temporal' | 'neo4j';

/** Start order; stop runs it backwards. */
export const SERVER_NAMES: readonly ServerName[] = ['nats', 'temporal', 'neo4j'];

/** What the state file remembers about one running server. */
export interface ServerRecord {
  pid: number;
  port: number;
  /** NATS only: the HTTP monitoring port. */
  monitorPort?: number;
  log: string;
  startedAt: string;
  detached: boolean;
}

/** `<stateDir>/stack.json`: the servers of the stack that lives in this state dir. */
export interface StackState {
  version: 1;
  servers: Partial<Record<ServerName, ServerRecord>>;
  /**
   * Pids of processes currently using the stack. A process that started servers leaves them running on
   * release while another live process still holds a lease, so concurrent test runs do not pull the
   * stack out from under each other.
   */
  leases: number[];
}

export function stateFile(stateDir: string): string {
  return join(stateDir, 'stack.json');
}

export function emptyState(): StackState {
  return { version: 1, servers: {}, leases: [] };
}

/** Reads the state file; `null` when there is none. A file that is not ours is an error, not a reset. */
export function readState(stateDir: string): StackState | null {
  const file = stateFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const state = JSON.parse(text) as StackState;
    if (state.version !== 1 || typeof state.servers !== 'object' || !Array.isArray(state.leases)) throw new Error('unknown shape');
    return state;
  } catch {
    throw new StackError(
      'invalid_config',
      `kernos: ${file} is not a stack state file; stop any servers it lists and delete it`,
    );
  }
}

/** Writes atomically (temp file + rename) so a crash never leaves half a file; no servers means no file. */
export function writeState(stateDir: string, state: StackState): void {
  const file = stateFile(stateDir);
  if (Object.keys(state.servers).length === 0) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(stateDir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, file);
}

/** Drops leases held by processes that have exited. */
export function liveLeases(state: StackState): number[] {
  return state.leases.filter((pid) => isAlive(pid));
}

/**
 * Runs `fn` holding `<stateDir>/stack.lock`, so two processes (say two test runs, or a test run and
 * `stack up`) never start the same servers at once; the second waits and then reuses. A lock whose
 * holder has died is taken over.
 */
export async function withStateLock<T>(stateDir: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  mkdirSync(stateDir, { recursive: true });
  const lock = join(stateDir, 'stack.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lock, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSafe(lock));
    // An empty lock older than a few seconds was left by a process killed between creating and writing it:
    // no pid to check, and nobody would ever remove it.
    if ((holder > 0 && !isAlive(holder)) || (holder === 0 && lockAgeMs(lock) > 5_000)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new StackError('not_ready', `kernos: ${lock} is held by pid ${holder} for over ${timeoutMs / 1000}s; stop that process or delete the file`);
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function lockAgeMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
