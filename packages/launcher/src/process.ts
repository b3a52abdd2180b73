import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** Both output streams are appended here. */
  logFile: string;
  /** A line matching this on stdout or stderr means the process is ready. */
  readyWhen: RegExp;
  /** How long to wait for readiness (default 60000 ms). */
  readyTimeoutMs?: number;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after graceMs (default 10000). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once: a crash, for fault tests. */
  kill(): Promise<void>;
}

/**
 * Starts a process and resolves once it prints its ready line. If it exits first, or never gets ready, the
 * error names the process and its log file, which is where the reason is.
 */
export async function startProcess(spec: ProcessSpec): Promise<ManagedProcess> {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  void exited.then(() => log.end());

  const timeoutMs = spec.readyTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    let tail = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      // Only the tail is kept: enough to see a ready line split across chunks, without growing forever.
      tail = (tail + chunk.toString('utf8')).slice(-4096);
      if (spec.readyWhen.test(tail)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    timer = setTimeout(() => reject(new Error(`kernos: ${spec.name} was not ready after ${timeoutMs} ms; see ${spec.logFile}`)), timeoutMs);
    void exited.then((code) => reject(new Error(`kernos: ${spec.name} exited (${code}) before it was ready; see ${spec.logFile}`)));
    child.once('error', (error) => reject(new Error(`kernos: cannot start ${spec.name} (${spec.command}): ${error.message}`)));
  }).finally(() => clearTimeout(timer));

  const terminate = async (signal: NodeJS.Signals, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  try {
    await ready;
  } catch (error) {
    await terminate('SIGKILL', 0);
    throw error;
  }
  return {
    name: spec.name,
    pid: child.pid ?? -1,
    exited,
    stop: (graceMs = 10_000) => terminate('SIGTERM', graceMs),
    kill: () => terminate('SIGKILL', 0),
  };
}
