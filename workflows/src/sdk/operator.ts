import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

/** Where a run is, as the `state` query reports it. */
export type AgentStatus = 'running' | 'paused' | 'cancelled' | 'completed' | 'budget_exhausted';

/** The `state` query's answer: operator controls plus whatever the agent reports about itself. */
export interface AgentState {
  status: AgentStatus;
  /** Why the run is paused or was cancelled, as the operator said. */
  reason: string;
  /** Operator messages received and not yet given to the model. */
  pendingMessages: number;
  /** The agent's own counters (turns, tokens, context size...); see `OperatorControls.report`. */
  details: Record<string, unknown>;
}

/** Operator controls carried over continue-as-new, so a paused run stays paused and no injected message is lost. */
export interface OperatorSnapshot {
  paused: boolean;
  cancelled: boolean;
  reason: string;
  pending: string[];
}

// Signal and query names are the operator's API (cockpit, CLI, `temporal workflow signal`); they never change.
/** Pause at the next turn boundary (a turn in flight finishes: a turn cannot be suspended mid-token). */
export const pauseSignal = defineSignal<[reason?: string]>('pause');
/** Resume a paused run. */
export const resumeSignal = defineSignal<[]>('resume');
/** Stop at the next turn boundary; the run completes with status "cancelled" and keeps what it did. */
export const cancelSignal = defineSignal<[reason?: string]>('cancel');
/** Add a user message; the model sees it at its next turn. */
export const injectSignal = defineSignal<[message: string]>('inject');
/** The run's current state. */
export const stateQuery = defineQuery<AgentState>('state');

export interface OperatorControls {
  /**
   * The turn boundary: waits while the run is paused, and says whether to go on. Call it before every turn.
   * Returns "cancel" once the operator cancelled (also when cancelled while paused).
   */
  checkpoint(): Promise<'continue' | 'cancel'>;
  /** Operator messages to add to the conversation before the next turn (each returned once). */
  takeInjected(): string[];
  /** Sets the details the `state` query shows; called by the agent as it goes. */
  report(details: Record<string, unknown>): void;
  /** Marks the run finished, so the query says so while the result is collected. */
  finish(status: Exclude<AgentStatus, 'running' | 'paused'>): void;
  readonly cancelled: boolean;
  snapshot(): OperatorSnapshot;
  /**
   * Carries the previous run's operator state into this one (after continue-as-new): a cancel still holds, a
   * pause holds unless a signal in this run already changed it, and undelivered messages come first.
   */
  restore(previous: OperatorSnapshot): void;
}

/**
 * Registers the operator signals and the `state` query on the current workflow. Call it once, first thing in the
 * workflow function, so signals sent right after start are not dropped before the handlers exist.
 */
export function installOperatorControls(): OperatorControls {
  let paused = false;
  let cancelled = false;
  let reason = '';
  let signalled = false;
  let finished: AgentStatus | undefined;
  const pending: string[] = [];
  let details: Record<string, unknown> = {};

  setHandler(pauseSignal, (why?: string) => {
    signalled = true;
    if (cancelled) return;
    paused = true;
    reason = why ?? 'paused by operator';
  });
  setHandler(resumeSignal, () => {
    signalled = true;
    paused = false;
    if (!cancelled) reason = '';
  });
  setHandler(cancelSignal, (why?: string) => {
    cancelled = true;
    paused = false;
    reason = why ?? 'cancelled by operator';
  });
  setHandler(injectSignal, (message: string) => {
    // A signal payload is operator input: anything but a non-empty string is ignored rather than failing the run.
    if (typeof message === 'string' && message.trim() !== '') pending.push(message);
  });
  setHandler(stateQuery, () => ({
    status: finished ?? (cancelled ? 'cancelled' : paused ? 'paused' : 'running'),
    reason,
    pendingMessages: pending.length,
    details,
  }));

  return {
    async checkpoint() {
      await condition(() => !paused || cancelled);
      return cancelled ? 'cancel' : 'continue';
    },
    takeInjected: () => pending.splice(0, pending.length),
    report(next) {
      details = { ...details, ...next };
    },
    finish(status) {
      finished = status;
    },
    get cancelled() {
      return cancelled;
    },
    snapshot: () => ({ paused, cancelled, reason, pending: [...pending] }),
    restore(previous) {
      if (previous.cancelled && !cancelled) {
        cancelled = true;
        paused = false;
        reason = previous.reason;
      } else if (!signalled && !cancelled && previous.paused) {
        paused = true;
        reason = previous.reason;
      }
      pending.unshift(...previous.pending);
    },
  };
}
