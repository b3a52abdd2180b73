export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * Runs shutdown steps one after another (stop taking work, drain NATS, close clients, flush telemetry last),
 * each bounded by what is left of the grace period, so one stuck step cannot keep a pod alive forever.
 * Returns the names of steps that failed or timed out.
 */
export async function shutdownInOrder(steps: readonly ShutdownStep[], graceMs: number): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  const failed: string[] = [];
  for (const step of steps) {
    const left = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), left);
    });
    try {
      const outcome = await Promise.race([Promise.resolve(step.run()).then(() => 'done' as const), timeout]);
      if (outcome === 'timeout') failed.push(step.name);
    } catch {
      failed.push(step.name);
    } finally {
      clearTimeout(timer);
    }
  }
  return failed;
}

/** The part of `process` the shutdown helper uses; tests pass an EventEmitter with an `exit` that records the code. */
export interface ShutdownProcess {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
}

/** The logger calls the shutdown helper makes (a subset of service-kit's Logger). */
export interface ShutdownLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface InstallShutdownOptions {
  /** Usually `process`; main.ts is the only file that passes it (STYLE.md rule 1). */
  process: ShutdownProcess;
  logger: ShutdownLogger;
  /** Total time the ordered steps may take, in ms (config: KERNOS_SHUTDOWN_GRACE_MS). */
  graceMs: number;
  /** Run in order, each bounded by what is left of the grace period (see {@link shutdownInOrder}). */
  steps: readonly ShutdownStep[];
  /** Marked not ready before anything else, so /readyz fails and no new work is routed here (default none). */
  health?: { setReady(ready: boolean): void };
  /**
   * Runs after health goes not-ready and before the steps, NOT bounded by the grace period: for a component that
   * bounds its own drain, such as the Temporal worker whose shutdown() lets running activities finish within its
   * own shutdownGraceTime (default none).
   */
  drain?: () => Promise<void> | void;
}

export interface Shutdown {
  /**
   * Starts the ordered shutdown (what a signal does) and ends the process: exit code 0 when every step finished,
   * 1 when one failed or timed out. A second call returns the first call's promise.
   */
  stop(reason: string): Promise<void>;
  /** True once a signal or `stop` began the shutdown. */
  readonly stopping: boolean;
}

/**
 * The one signal + ordered-shutdown block of every kernel process: installs SIGTERM and SIGINT handlers, and on
 * the first of them marks the process not ready, logs, runs `drain`, runs the steps within the grace period, and
 * exits. Further signals while stopping are ignored (the handlers stay installed, so Node's default of dying at
 * once does not cut the ordered shutdown short).
 */
export function installShutdown(options: InstallShutdownOptions): Shutdown {
  const { process: proc, logger, graceMs, steps, health, drain } = options;
  let running: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    running ??= (async () => {
      health?.setReady(false);
      logger.info('shutting down', { signal: reason });
      if (drain) await drain();
      const failed = await shutdownInOrder(steps, graceMs);
      if (failed.length > 0) logger.error('shutdown steps failed', { failed });
      proc.exit(failed.length === 0 ? 0 : 1);
    })();
    return running;
  };
  proc.on('SIGTERM', () => void stop('SIGTERM'));
  proc.on('SIGINT', () => void stop('SIGINT'));
  return {
    stop,
    get stopping() {
      return running !== undefined;
    },
  };
}
