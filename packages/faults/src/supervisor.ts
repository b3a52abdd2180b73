import { copyFileSync, existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedProcess } from '@kernos/launcher';

/** One process the supervisor keeps running. */
export interface SupervisedProcess {
  name: string;
  /** The running instance, if any. */
  current(): ManagedProcess | undefined;
  /** Starts a new instance (resolves once it is ready). */
  start(): Promise<ManagedProcess>;
  /** Its log file: saved beside itself as `<log>.exit-<n>` when the process dies, so the crash's output survives. */
  logFile?: string;
}

/** A process that died on its own and was started again. */
export interface Restart {
  name: string;
  /** Exit code or signal name. */
  exit: number | string;
  /** Unix ms of the death. */
  at: number;
  /** Copy of the log at the time of death (undefined without a log file). */
  savedLog?: string;
  /** How long the new instance took to be ready, ms (undefined if it never was). */
  restartMs?: number;
}

/** Options of {@link superviseProcesses}. */
export interface SupervisorOptions {
  /** First wait before restarting a dead process, ms, doubled on each further death of it (default 1000). */
  backoffMs?: number;
  /** Longest wait between restarts, ms (default 10000, as Kubernetes' crash-loop back-off starts). */
  maxBackoffMs?: number;
  /** Told of each death and restart (default: nothing). */
  onEvent?: (line: string) => void;
}

export interface Supervisor {
  /** Every death so far. */
  readonly restarts: readonly Restart[];
  /** Stops restarting: call before stopping the processes on purpose. */
  stop(): void;
}

/**
 * Restarts any of `processes` that exits while supervised, as a Kubernetes restart policy would for a pod whose
 * container died: after a back-off, with the dead instance's log kept. A benchmark of a thousand runs otherwise
 * loses a whole service to one crash and measures nothing but retries from then on.
 */
export function superviseProcesses(processes: readonly SupervisedProcess[], options: SupervisorOptions = {}): Supervisor {
  const restarts: Restart[] = [];
  const deaths = new Map<string, number>();
  let stopped = false;
  const backoff = options.backoffMs ?? 1_000;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  const say = options.onEvent ?? (() => undefined);

  const watch = (proc: SupervisedProcess, instance: ManagedProcess | undefined) => {
    if (!instance) return;
    void instance.exited.then(async (exit) => {
      if (stopped) return;
      const n = (deaths.get(proc.name) ?? 0) + 1;
      deaths.set(proc.name, n);
      let savedLog: string | undefined;
      if (proc.logFile && existsSync(proc.logFile)) {
        savedLog = `${proc.logFile}.exit-${n}`;
        copyFileSync(proc.logFile, savedLog);
      }
      const restart: Restart = { name: proc.name, exit, at: Date.now(), ...(savedLog ? { savedLog } : {}) };
      restarts.push(restart);
      say(`supervisor: ${proc.name} exited (${exit})${savedLog ? `, log saved to ${savedLog}` : ''}; restarting`);
      for (let attempt = 0; !stopped; attempt += 1) {
        await sleep(Math.min(maxBackoff, backoff * 2 ** (n - 1 + attempt)));
        if (stopped) return;
        const began = Date.now();
        try {
          const next = await proc.start();
          restart.restartMs = Date.now() - began;
          say(`supervisor: ${proc.name} ready again after ${restart.restartMs} ms`);
          watch(proc, next);
          return;
        } catch (error) {
          say(`supervisor: restarting ${proc.name} failed (${(error as Error).message}); trying again`);
        }
      }
    });
  };

  for (const proc of processes) watch(proc, proc.current());
  return {
    restarts,
    stop: () => {
      stopped = true;
    },
  };
}
