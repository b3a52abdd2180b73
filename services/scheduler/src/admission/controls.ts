import { KernosError } from '@kernos/errors';
import type { HolderRef } from './policy.js';

/** Kinds of control state a sink hears of (the same names as the replicated store's keys). */
export type ControlKind = 'pause' | 'cancel' | 'hold' | 'drain' | 'budget.run' | 'budget.job' | 'spent.run' | 'spent.job';

/** What to do when a run or job has used up its token budget. */
export type BudgetAction = 'pause' | 'stop';

export interface Budget {
  readonly maxTokens: number;
  /** `pause`: its turns wait until an operator raises the budget or resumes (pause and ask); `stop`: they fail with `denied`. */
  readonly onExceed: BudgetAction;
}

/** Whether a queued turn may be granted: `go`, `hold` (parked until the reason is lifted), or an error to fail it with. */
export type Gate = 'go' | 'hold' | KernosError;

/**
 * Operator controls and token budgets, shared by all endpoints. Everything acts at turn boundaries (cooperative
 * preemption): a paused run's running turn finishes; its next turn waits. Budgets count the actual usage reported
 * at release (input + output tokens), per run and per job.
 */
export class Controls {
  /**
   * @param sink told of every change (default: none); the replicated scheduler stores them in KV so that a new
   * leader restores holds, pauses, cancellations, budgets and spend (see {@link Controls.restore}).
   */
  constructor(private readonly sink?: (kind: ControlKind, id: string, value: unknown) => void) {}

  private readonly pausedRuns = new Set<string>();
  private readonly cancelledRuns = new Map<string, string>();
  private readonly heldJobs = new Set<string>();
  private readonly runBudgets = new Map<string, Budget>();
  private readonly jobBudgets = new Map<string, Budget>();
  private readonly runSpent = new Map<string, number>();
  private readonly jobSpent = new Map<string, number>();

  gate(ref: HolderRef | undefined): Gate {
    const run = ref?.runId;
    const job = ref?.jobId;
    if (run) {
      const reason = this.cancelledRuns.get(run);
      if (reason !== undefined) return new KernosError('conflict', `run ${run} was cancelled by an operator${reason ? `: ${reason}` : ''}`);
    }
    const overRun = run ? this.over(this.runBudgets.get(run), this.runSpent.get(run) ?? 0) : undefined;
    const overJob = job ? this.over(this.jobBudgets.get(job), this.jobSpent.get(job) ?? 0) : undefined;
    for (const [scope, id, budget] of [['run', run, overRun], ['job', job, overJob]] as const) {
      if (budget?.onExceed === 'stop') {
        const spent = scope === 'run' ? this.runSpent.get(id!) : this.jobSpent.get(id!);
        return new KernosError('denied', `${scope} ${id} has used its token budget (${spent} of ${budget.maxTokens} tokens)`);
      }
    }
    if (overRun || overJob) return 'hold';
    if (run && this.pausedRuns.has(run)) return 'hold';
    if (job && this.heldJobs.has(job)) return 'hold';
    return 'go';
  }

  pauseRun(run: string): void {
    this.pausedRuns.add(run);
    this.sink?.('pause', run, true);
  }

  resumeRun(run: string): void {
    this.pausedRuns.delete(run);
    this.sink?.('pause', run, undefined);
  }

  cancelRun(run: string, reason = ''): void {
    this.cancelledRuns.set(run, reason);
    this.sink?.('cancel', run, reason);
    // Remember a bounded number of cancellations: a cancelled run's workflow stops asking soon after.
    if (this.cancelledRuns.size > 10_000) {
      const oldest = this.cancelledRuns.keys().next().value!;
      this.cancelledRuns.delete(oldest);
      this.sink?.('cancel', oldest, undefined);
    }
  }

  holdJob(job: string): void {
    this.heldJobs.add(job);
    this.sink?.('hold', job, true);
  }

  releaseJob(job: string): void {
    this.heldJobs.delete(job);
    this.sink?.('hold', job, undefined);
  }

  setBudget(scope: 'run' | 'job', id: string, budget: Budget | undefined): void {
    const budgets = scope === 'run' ? this.runBudgets : this.jobBudgets;
    if (budget) budgets.set(id, budget);
    else budgets.delete(id);
    this.sink?.(scope === 'run' ? 'budget.run' : 'budget.job', id, budget);
  }

  spent(scope: 'run' | 'job', id: string): number {
    return (scope === 'run' ? this.runSpent : this.jobSpent).get(id) ?? 0;
  }

  exceeded(scope: 'run' | 'job', id: string): boolean {
    const budget = (scope === 'run' ? this.runBudgets : this.jobBudgets).get(id);
    return this.over(budget, this.spent(scope, id)) !== undefined;
  }

  /** Counts a finished turn's actual usage; returns true when that pushed its run or job over a budget. */
  charge(ref: HolderRef | undefined, tokens: number): boolean {
    let crossed = false;
    for (const [id, spentMap, budgets, kind] of [
      [ref?.runId, this.runSpent, this.runBudgets, 'spent.run'],
      [ref?.jobId, this.jobSpent, this.jobBudgets, 'spent.job'],
    ] as const) {
      if (!id) continue;
      const before = spentMap.get(id) ?? 0;
      spentMap.set(id, before + tokens);
      if (tokens > 0) this.sink?.(kind, id, before + tokens);
      const budget = budgets.get(id);
      if (budget && before < budget.maxTokens && before + tokens >= budget.maxTokens) crossed = true;
    }
    return crossed;
  }

  /** Takes over a predecessor's controls (leader failover), as its sink recorded them; unknown shapes are skipped. */
  restore(entries: readonly { kind: ControlKind; id: string; value: unknown }[]): void {
    for (const { kind, id, value } of entries) {
      switch (kind) {
        case 'pause':
          this.pausedRuns.add(id);
          break;
        case 'cancel':
          this.cancelledRuns.set(id, typeof value === 'string' ? value : '');
          break;
        case 'hold':
          this.heldJobs.add(id);
          break;
        case 'budget.run':
        case 'budget.job':
          if (isBudget(value)) (kind === 'budget.run' ? this.runBudgets : this.jobBudgets).set(id, value);
          break;
        case 'spent.run':
        case 'spent.job':
          if (typeof value === 'number' && value >= 0) (kind === 'spent.run' ? this.runSpent : this.jobSpent).set(id, value);
          break;
        case 'drain':
          // Per endpoint: the admission applies it to its queue.
          break;
      }
    }
  }

  private over(budget: Budget | undefined, spent: number): Budget | undefined {
    return budget && spent >= budget.maxTokens ? budget : undefined;
  }
}

function isBudget(value: unknown): value is Budget {
  const budget = value as Budget | null;
  return typeof budget === 'object' && budget !== null && typeof budget.maxTokens === 'number' && (budget.onExceed === 'pause' || budget.onExceed === 'stop');
}
