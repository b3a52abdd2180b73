import { describe, expect, it } from 'vitest';
import { policyFactories } from '../admission/policy.js';
import { createClairvoyantPolicy } from './clairvoyant.js';
import { measureDecisions } from './decisions.js';
import { jain, simulate } from './simulate.js';
import { generateWorkload, type AgentSpec } from './workload.js';

const turn = (outputTokens: number, toolMs = 0) => ({ inputTokens: 100, outputTokens, maxOutputTokens: outputTokens, toolMs });

describe('generateWorkload', () => {
  it('is a function of its seed', () => {
    expect(generateWorkload({ seed: 3, durationMs: 60_000 })).toEqual(generateWorkload({ seed: 3, durationMs: 60_000 }));
    expect(generateWorkload({ seed: 3, durationMs: 60_000 })).not.toEqual(generateWorkload({ seed: 4, durationMs: 60_000 }));
  });

  it('mixes short triage agents with deadlines and long research agents with growing context, and a heavy hitter', () => {
    const agents = generateWorkload({ seed: 1 });
    const triage = agents.filter((a) => a.cls === 'triage');
    const research = agents.filter((a) => a.cls === 'research');
    expect(triage.every((a) => a.turns.length <= 4 && a.deadlineMs > a.arrivalMs && a.priority > research[0]!.priority)).toBe(true);
    expect(research.every((a) => a.turns.length >= 10 && a.deadlineMs === 0)).toBe(true);
    expect(research.every((a) => a.turns.every((t, k) => k === 0 || t.inputTokens > a.turns[k - 1]!.inputTokens))).toBe(true);
    const heavy = agents.filter((a) => a.tenant === 't0').length / agents.length;
    expect(heavy).toBeGreaterThan(0.4);
  });
});

describe('simulate', () => {
  it('is deterministic and conserves work', () => {
    const agents = generateWorkload({ seed: 5, durationMs: 120_000 });
    const a = simulate(agents, () => policyFactories.composite(), { seed: 5 });
    const b = simulate(agents, () => policyFactories.composite(), { seed: 5 });
    expect(a).toEqual(b);
    expect(a.byClass.triage.agents + a.byClass.research.agents).toBe(agents.length);
    expect(a.byClass.triage.slowdownMean).toBeGreaterThanOrEqual(0.5);
  });

  it('decodes under processor sharing: two equal turns admitted together finish together at twice the solo time', () => {
    const agents: AgentSpec[] = ['a', 'b'].map((id) => ({ id, tenant: 't', cls: 'research', arrivalMs: 0, priority: 0, deadlineMs: 0, turns: [turn(1_000)] }));
    const result = simulate(agents, () => policyFactories.fifo(), { maxConcurrent: 2, tokensPerSecond: 1_000, latencyMs: 0 });
    expect(result.makespanMs).toBeCloseTo(2_000, 6);
    expect(result.byClass.research.completionMeanMs).toBeCloseTo(2_000, 6);
  });

  it('holds the slot for the kernel overhead and delays each request by the turn gap', () => {
    const agents: AgentSpec[] = ['a', 'b'].map((id) => ({ id, tenant: 't', cls: 'research', arrivalMs: 0, priority: 0, deadlineMs: 0, turns: [turn(1_000)] }));
    const capacity = { maxConcurrent: 1, tokensPerSecond: 1_000, latencyMs: 0 };
    expect(simulate(agents, () => policyFactories.fifo(), capacity).makespanMs).toBeCloseTo(2_000, 6);
    // Each turn holds the only slot 200 ms longer, and both requests come 100 ms after arrival.
    expect(simulate(agents, () => policyFactories.fifo(), { ...capacity, slotOverheadMs: 200, turnGapMs: 100 }).makespanMs).toBeCloseTo(2_500, 6);
  });

  it('lets a priority policy serve the urgent agent before a backlog that fifo makes it wait behind', () => {
    const agents: AgentSpec[] = [
      ...Array.from({ length: 5 }, (_, i): AgentSpec => ({ id: `r${i}`, tenant: 't', cls: 'research', arrivalMs: 0, priority: 1, deadlineMs: 0, turns: [turn(1_000)] })),
      { id: 'x', tenant: 't', cls: 'triage', arrivalMs: 1, priority: 9, deadlineMs: 3_000, turns: [turn(100)] },
    ];
    const capacity = { maxConcurrent: 1, tokensPerSecond: 1_000, latencyMs: 0 };
    const fifo = simulate(agents, () => policyFactories.fifo(), capacity);
    const priority = simulate(agents, () => policyFactories.priority(), capacity);
    expect(fifo.byClass.triage.completionMeanMs).toBeCloseTo(5_099, 0);
    expect(fifo.byClass.triage.deadlineAttainment).toBe(0);
    expect(priority.byClass.triage.completionMeanMs).toBeCloseTo(1_099, 0);
    expect(priority.byClass.triage.deadlineAttainment).toBe(1);
    // The clairvoyant ceiling runs the shortest program first too.
    expect(simulate(agents, (oracle) => createClairvoyantPolicy(oracle), capacity).byClass.triage.completionMeanMs).toBeCloseTo(1_099, 0);
  });
});

describe('fairness metric', () => {
  // Two tenants each queue 40 one-turn agents of 1 s at t=0 on one slot: both are backlogged for the first 40 s.
  const agents: AgentSpec[] = ['a', 'b'].flatMap((tenant) =>
    Array.from({ length: 40 }, (_, i): AgentSpec => ({ id: `${tenant}${i}`, tenant, cls: 'research', arrivalMs: 0, priority: 0, deadlineMs: 0, turns: [turn(1_000)] })),
  );
  const capacity = { maxConcurrent: 1, tokensPerSecond: 1_000, latencyMs: 0 };

  it('scores fifo, which serves all of one tenant first, as unfair while both are backlogged', () => {
    const result = simulate(agents, () => policyFactories.fifo(), capacity);
    // First window: tenant a got every grant, b none.
    expect(result.jainWindows).toBeGreaterThanOrEqual(1);
    expect(result.jain).toBeLessThan(0.8);
  });

  it('scores VTC, which alternates the tenants, as fair', () => {
    const result = simulate(agents, () => policyFactories.fair(), capacity);
    expect(result.jain).toBeGreaterThan(0.99);
    expect(result.byClass.research.queuedP95Ms).toBeGreaterThan(70_000);
  });
});

describe('jain', () => {
  it('is 1 for equal shares and 1/n when one gets everything', () => {
    expect(jain([3, 3, 3])).toBe(1);
    expect(jain([5, 0, 0, 0])).toBe(0.25);
  });
});

describe('measureDecisions', () => {
  it('keeps the queue depth steady and returns a positive rate', () => {
    const policy = policyFactories.fair();
    expect(measureDecisions(policy, { queued: 100, decisions: 500 })).toBeGreaterThan(0);
    expect(policy.size).toBe(100);
  });
});
