import type { ApiKeyConfig } from './config.js';

/**
 * Tokens each job has spent through this gateway process, against its key's `tokenBudget`. In memory: a restart
 * starts counting again (the scheduler's own job budgets are the durable, fleet-wide ones).
 */
export interface JobBudgets {
  /** Tokens the job may still spend, or undefined when it has no budget. */
  remaining(job: ApiKeyConfig): number | undefined;
  charge(job: ApiKeyConfig, tokens: number): void;
  spent(jobId: string): number;
}

export function createJobBudgets(): JobBudgets {
  const spent = new Map<string, number>();
  return {
    remaining: (job) => (job.tokenBudget === undefined ? undefined : job.tokenBudget - (spent.get(job.jobId) ?? 0)),
    charge: (job, tokens) => {
      if (tokens > 0) spent.set(job.jobId, (spent.get(job.jobId) ?? 0) + tokens);
    },
    spent: (jobId) => spent.get(jobId) ?? 0,
  };
}
