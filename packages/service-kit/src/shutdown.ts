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
