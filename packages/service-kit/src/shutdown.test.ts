import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { installShutdown, shutdownInOrder } from './shutdown.js';

/** A stand-in for `process`: signals are events, and exit records its code instead of ending the test run. */
class FakeProcess extends EventEmitter {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

const recorder = () => {
  const events: string[] = [];
  return {
    events,
    logger: {
      info: (message: string, fields?: Record<string, unknown>) => events.push(`info ${message} ${JSON.stringify(fields)}`),
      error: (message: string, fields?: Record<string, unknown>) => events.push(`error ${message} ${JSON.stringify(fields)}`),
    },
    health: { setReady: (ready: boolean) => events.push(`ready ${ready}`) },
    step: (name: string, run: () => Promise<void> | void = () => undefined) => ({
      name,
      run: async () => {
        events.push(`step ${name}`);
        await run();
      },
    }),
  };
};

describe('shutdownInOrder', () => {
  it('runs steps in order and names the ones that failed or outlived the grace period', async () => {
    const seen: string[] = [];
    const failed = await shutdownInOrder(
      [
        { name: 'a', run: () => void seen.push('a') },
        { name: 'b', run: () => Promise.reject(new Error('boom')) },
        { name: 'stuck', run: () => new Promise<void>(() => undefined) },
        { name: 'c', run: () => void seen.push('c') },
      ],
      50,
    );
    expect(seen).toEqual(['a', 'c']);
    expect(failed).toEqual(['b', 'stuck']);
  });
});

describe('installShutdown', () => {
  it('on SIGTERM goes not-ready first, then logs, runs the steps in order and exits 0', async () => {
    const proc = new FakeProcess();
    const { events, logger, health, step } = recorder();
    const shutdown = installShutdown({ process: proc, logger, health, graceMs: 1_000, steps: [step('service'), step('nats'), step('telemetry')] });
    expect(shutdown.stopping).toBe(false);

    proc.emit('SIGTERM');
    expect(shutdown.stopping).toBe(true);
    await shutdown.stop('ignored: already stopping');

    expect(events).toEqual(['ready false', 'info shutting down {"signal":"SIGTERM"}', 'step service', 'step nats', 'step telemetry']);
    expect(proc.exits).toEqual([0]);
  });

  it('handles SIGINT the same way and ignores every later signal', async () => {
    const proc = new FakeProcess();
    const { events, logger, step } = recorder();
    const shutdown = installShutdown({ process: proc, logger, graceMs: 1_000, steps: [step('http')] });

    proc.emit('SIGINT');
    proc.emit('SIGTERM');
    proc.emit('SIGINT');
    await shutdown.stop('again');

    expect(events).toEqual(['info shutting down {"signal":"SIGINT"}', 'step http']);
    expect(proc.exits).toEqual([0]);
    // The handlers stay installed, so a second Ctrl-C does not fall back to Node's immediate exit.
    expect(proc.listenerCount('SIGINT')).toBe(1);
    expect(proc.listenerCount('SIGTERM')).toBe(1);
  });

  it('exits 1 and names the failed and timed-out steps, still running the ones after them', async () => {
    const proc = new FakeProcess();
    const { events, logger, step } = recorder();
    const shutdown = installShutdown({
      process: proc,
      logger,
      graceMs: 100,
      steps: [step('service', () => Promise.reject(new Error('boom'))), step('nats', () => new Promise<void>(() => undefined)), step('telemetry')],
    });

    await shutdown.stop('SIGTERM');

    expect(events).toEqual([
      'info shutting down {"signal":"SIGTERM"}',
      'step service',
      'step nats',
      'step telemetry',
      'error shutdown steps failed {"failed":["service","nats"]}',
    ]);
    expect(proc.exits).toEqual([1]);
  });

  it('waits for drain, unbounded by the grace period, before the steps get their full grace', async () => {
    const proc = new FakeProcess();
    const { events, logger, health, step } = recorder();
    let finishDrain!: () => void;
    const shutdown = installShutdown({
      process: proc,
      logger,
      health,
      graceMs: 20,
      drain: () => {
        events.push('drain');
        return new Promise<void>((resolve) => (finishDrain = resolve));
      },
      steps: [step('nats', () => new Promise<void>((resolve) => setTimeout(resolve, 5)))],
    });

    proc.emit('SIGTERM');
    // Longer than the grace period: the drain is still running and no step has started.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(events).toEqual(['ready false', 'info shutting down {"signal":"SIGTERM"}', 'drain']);
    expect(proc.exits).toEqual([]);

    finishDrain();
    await shutdown.stop('SIGTERM');
    expect(events.at(-1)).toBe('step nats');
    expect(proc.exits).toEqual([0]);
  });
});
