import { KernosError } from '@kernos/errors';
import type { HolderRef } from './policy.js';

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
  }

  resumeRun(run: string): void {
    this.pausedRuns.delete(run);
  }

  cancelRun(run: string, reason = ''): void {
    this.cancelledRuns.set(run, reason);
    // Remember a bounded number of cancellations: a cancelled run's workflow stops asking soon after.
    if (this.cancelledRuns.size > 10_000) this.cancelledRuns.delete(this.cancelledRuns.keys().next().value!);
  }

  holdJob(job: string): void {
    this.heldJobs.add(job);
  }

  releaseJob(job: string): void {
    this.heldJobs.delete(job);
  }

  setBudget(scope: 'run' | 'job', id: string, budget: Budget | undefined): void {
    const budgets = scope === 'run' ? this.runBudgets : this.jobBudgets;
    if (budget) budgets.set(id, budget);
    else budgets.delete(id);
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
    for (const [id, spentMap, budgets] of [
      [ref?.runId, this.runSpent, this.runBudgets],
      [ref?.jobId, this.jobSpent, this.jobBudgets],
    ] as const) {
      if (!id) continue;
      const before = spentMap.get(id) ?? 0;
      spentMap.set(id, before + tokens);
      const budget = budgets.get(id);
      if (budget && before < budget.maxTokens && before + tokens >= budget.maxTokens) crossed = true;
    }
    return crossed;
  }

  private over(budget: Budget | undefined, spent: number): Budget | undefined {
    return budget && spent >= budget.maxTokens ? budget : undefined;
  }
}
