import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * True while `pid` runs. A zombie counts as gone: in containers PID 1 may never reap the servers that a
 * detached `stack up` left behind, and `kill(pid, 0)` still succeeds on those.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which sits in parentheses and may itself contain spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // No /proc (macOS): fall back to the signal probe.
    try {
      process.kill(pid, 0);
      return true;
    } catch (probeError) {
      return (probeError as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/**
 * True when `pid` is alive and its command line contains every marker. Guards against signalling an
 * unrelated process that got a recorded pid after the server died.
 */
export function isOurProcess(pid: number, markers: readonly string[]): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return true; // No /proc: trust the recorded pid.
  }
  return markers.every((marker) => cmdline.includes(marker));
}

/** Sends SIGTERM, waits up to `graceMs` for the exit, then SIGKILLs. Resolves once the process is gone. */
export async function terminate(pid: number, graceMs: number): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
