/** Limits on what one agent run may spend, across every continue-as-new of the run. Unset means unlimited. */
export interface BudgetLimits {
  /** Input plus output tokens over the whole run, summaries included (default unlimited). */
  maxTotalTokens?: number;
  /** LLM turns over the whole run, summaries excluded (default unlimited). */
  maxTurns?: number;
  /** Tool calls over the whole run (default unlimited). */
  maxToolCalls?: number;
}

/** What a run has spent so far; carried in snapshots so a continued run keeps counting. */
export interface BudgetUsage {
  turns: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Summarisation turns (they spend tokens but are not the agent's own turns). */
  summaryTurns: number;
}

export type BudgetVerdict = { ok: true } | { ok: false; limit: keyof BudgetLimits; reason: string };

export const emptyUsage = (): BudgetUsage => ({ turns: 0, toolCalls: 0, inputTokens: 0, outputTokens: 0, summaryTurns: 0 });

/**
 * A run's budget. The kernel checks it before every turn and tool call, so an author cannot overspend by
 * forgetting a check; `check()` lets the author stop cleanly before the kernel refuses.
 */
export class Budget {
  readonly limits: Readonly<BudgetLimits>;
  readonly #usage: BudgetUsage;

  constructor(limits: BudgetLimits = {}, usage: BudgetUsage = emptyUsage()) {
    for (const [name, value] of Object.entries(limits)) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new TypeError(`budget.${name}: expected a non-negative integer, got ${String(value)}`);
      }
    }
    this.limits = { ...limits };
    this.#usage = { ...usage };
  }

  get usage(): Readonly<BudgetUsage> {
    return { ...this.#usage };
  }

  get totalTokens(): number {
    return this.#usage.inputTokens + this.#usage.outputTokens;
  }

  /** Whether one more LLM turn (or tool call, with `kind: 'tool'`) is within the limits. */
  check(kind: 'turn' | 'tool' | 'summary' = 'turn'): BudgetVerdict {
    const { maxTotalTokens, maxTurns, maxToolCalls } = this.limits;
    if (maxTotalTokens !== undefined && this.totalTokens >= maxTotalTokens) {
      return { ok: false, limit: 'maxTotalTokens', reason: `token budget spent: ${this.totalTokens} of ${maxTotalTokens}` };
    }
    if (kind === 'turn' && maxTurns !== undefined && this.#usage.turns >= maxTurns) {
      return { ok: false, limit: 'maxTurns', reason: `turn budget spent: ${this.#usage.turns} of ${maxTurns}` };
    }
    if (kind === 'tool' && maxToolCalls !== undefined && this.#usage.toolCalls >= maxToolCalls) {
      return { ok: false, limit: 'maxToolCalls', reason: `tool call budget spent: ${this.#usage.toolCalls} of ${maxToolCalls}` };
    }
    return { ok: true };
  }

  /** Tokens a turn may still ask for, so the last turn is cut to fit rather than overspend. */
  outputAllowance(wanted: number): number {
    const { maxTotalTokens } = this.limits;
    return maxTotalTokens === undefined ? wanted : Math.max(1, Math.min(wanted, maxTotalTokens - this.totalTokens));
  }

  chargeTurn(inputTokens: number, outputTokens: number, kind: 'turn' | 'summary' = 'turn'): void {
    if (kind === 'turn') this.#usage.turns += 1;
    else this.#usage.summaryTurns += 1;
    this.#usage.inputTokens += inputTokens;
    this.#usage.outputTokens += outputTokens;
  }

  chargeToolCall(): void {
    this.#usage.toolCalls += 1;
  }
}
