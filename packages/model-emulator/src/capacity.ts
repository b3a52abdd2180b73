/**
 * Capacity model of the emulated endpoint: a concurrency gate with a bounded FIFO queue in front of it, and a
 * processor-sharing token pacer for output throughput.
 */

/** A place in the gate: queued first if every slot is busy, then in service until released. */
export interface Ticket {
  /** Resolves true once the request holds a slot, or false if it was released while still queued. */
  readonly ready: Promise<boolean>;
  /** Leaves the queue or frees the slot; safe to call more than once. */
  release(): void;
}

export interface Gate {
  /** Enters the gate, or returns undefined when every slot is busy and the queue is full. */
  tryEnter(): Ticket | undefined;
  readonly inFlight: number;
  readonly queued: number;
  readonly maxObservedConcurrency: number;
  resetMaxObserved(): void;
}

export interface GateOptions {
  /** Requests in service at once. */
  maxConcurrent: number;
  /** Requests allowed to wait for a slot; Infinity for no bound, 0 for none. */
  maxQueue: number;
}

export function createGate(options: GateOptions): Gate {
  interface Waiter {
    state: 'queued' | 'active' | 'released';
    resolve: (admitted: boolean) => void;
  }
  const queue: Waiter[] = [];
  let active = 0;
  let maxObserved = 0;

  const admit = (waiter: Waiter): void => {
    waiter.state = 'active';
    active++;
    maxObserved = Math.max(maxObserved, active);
    waiter.resolve(true);
  };

  const pump = (): void => {
    while (active < options.maxConcurrent && queue.length > 0) admit(queue.shift()!);
  };

  return {
    tryEnter() {
      const free = active < options.maxConcurrent && queue.length === 0;
      if (!free && queue.length >= options.maxQueue) return undefined;
      let resolve!: (admitted: boolean) => void;
      const ready = new Promise<boolean>((r) => (resolve = r));
      const waiter: Waiter = { state: 'queued', resolve };
      if (free) admit(waiter);
      else queue.push(waiter);
      return {
        ready,
        release() {
          if (waiter.state === 'queued') {
            queue.splice(queue.indexOf(waiter), 1);
            waiter.resolve(false);
          } else if (waiter.state === 'active') {
            active--;
            pump();
          }
          waiter.state = 'released';
        },
      };
    },
    get inFlight() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    get maxObservedConcurrency() {
      return maxObserved;
    },
    resetMaxObserved() {
      maxObserved = active;
    },
  };
}

/** One paced output stream. */
export interface PacedStream {
  /** Resolves true when every token was emitted, false if cancelled first. */
  readonly done: Promise<boolean>;
  cancel(): void;
}

export interface TokenPacer {
  /** Emits `count` tokens through `onToken(index)` at the pace the shared throughput allows. */
  stream(count: number, onToken: (index: number) => void): PacedStream;
  /** Streams currently decoding. */
  readonly active: number;
  /** Cancels every stream and its timer. */
  close(): void;
}

export interface TokenPacerOptions {
  /** Total output tokens per wall-clock second, shared equally by the active streams; Infinity = no pacing. */
  tokensPerSecond: number;
  /** Ceiling for one stream, whatever the share; Infinity = none. */
  perStreamTokensPerSecond: number;
  /** Clock in milliseconds. Default: performance.now. */
  now?: () => number;
}

/**
 * Processor sharing: with n streams active, each advances at min(total / n, perStream) tokens per second. All
 * streams progress at the same rate, so a single "virtual time" V (tokens of service each active stream has
 * received since V = 0) describes them all; a stream that joined at V0 has emitted floor(V - V0) tokens. V is
 * advanced from the real clock at every event, so late timers cause a burst of catch-up tokens, never drift: the
 * total throughput stays exact however coarse the timers are.
 */
export function createTokenPacer(options: TokenPacerOptions): TokenPacer {
  const now = options.now ?? (() => performance.now());
  interface Job {
    start: number;
    emitted: number;
    total: number;
    onToken: (index: number) => void;
    finish: (completed: boolean) => void;
  }
  const jobs = new Set<Job>();
  let virtual = 0;
  let lastUpdate = now();
  let timer: NodeJS.Timeout | undefined;
  const unlimited = !Number.isFinite(options.tokensPerSecond) && !Number.isFinite(options.perStreamTokensPerSecond);

  const ratePerMs = (): number => Math.min(options.tokensPerSecond / jobs.size, options.perStreamTokensPerSecond) / 1000;

  const advance = (): void => {
    const t = now();
    if (jobs.size > 0) virtual += (t - lastUpdate) * ratePerMs();
    lastUpdate = t;
  };

  const emitDue = (): void => {
    for (const job of jobs) {
      const due = Math.min(job.total, Math.floor(virtual - job.start + 1e-9));
      while (job.emitted < due) job.onToken(job.emitted++);
      if (job.emitted >= job.total) {
        jobs.delete(job);
        job.finish(true);
      }
    }
  };

  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (jobs.size === 0) return;
    let nextGap = Infinity;
    for (const job of jobs) nextGap = Math.min(nextGap, job.start + job.emitted + 1 - virtual);
    timer = setTimeout(tick, Math.max(0, nextGap / ratePerMs()));
  };

  function tick(): void {
    advance();
    emitDue();
    schedule();
  }

  return {
    stream(count, onToken) {
      if (count <= 0 || unlimited) {
        for (let i = 0; i < count; i++) onToken(i);
        return { done: Promise.resolve(true), cancel: () => undefined };
      }
      let finish!: (completed: boolean) => void;
      const done = new Promise<boolean>((resolve) => (finish = resolve));
      advance();
      const job: Job = { start: virtual, emitted: 0, total: count, onToken, finish };
      jobs.add(job);
      schedule();
      return {
        done,
        cancel() {
          if (!jobs.has(job)) return;
          advance();
          jobs.delete(job);
          job.finish(false);
          schedule();
        },
      };
    },
    get active() {
      return jobs.size;
    },
    close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const job of jobs) job.finish(false);
      jobs.clear();
    },
  };
}
