import { describe, expect, it } from 'vitest';
import { createFifoPolicy, createPriorityPolicy, policyFactories, type Waiter } from './policy.js';

const waiter = (seq: number, priority: number): Waiter => ({ seq, priority, enqueuedAt: seq, estimatedTokens: 0, deadlineMs: 0, ref: undefined });

describe('policies', () => {
  it('fifo picks the oldest whatever the priority', () => {
    expect(createFifoPolicy().pick([waiter(0, 0), waiter(1, 9)], 0)).toBe(0);
  });

  it('priority picks the highest, and the oldest among equals', () => {
    const policy = createPriorityPolicy();
    expect(policy.pick([waiter(0, 1), waiter(1, 5), waiter(2, 5), waiter(3, 2)], 0)).toBe(1);
    expect(policy.pick([waiter(0, -1), waiter(1, -3)], 0)).toBe(0);
    expect(policy.pick([waiter(0, 0)], 0)).toBe(0);
  });

  it('makes a fresh instance per endpoint', () => {
    expect(policyFactories.priority()).not.toBe(policyFactories.priority());
    expect(Object.keys(policyFactories)).toEqual(['fifo', 'priority']);
  });
});
