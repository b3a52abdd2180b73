import { createLognormalSampler, mulberry32 } from '@kernos/model-emulator';

/** One LLM turn of an agent and the tool time that follows it. */
export interface TurnSpec {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** What the agent announces as max output tokens (the estimate policies charge before the real usage is known). */
  readonly maxOutputTokens: number;
  /** Tool calls and thinking between this turn's end and the next turn's request (ms). */
  readonly toolMs: number;
}

export type AgentClass = 'triage' | 'research';

export interface AgentSpec {
  readonly id: string;
  readonly tenant: string;
  readonly cls: AgentClass;
  readonly arrivalMs: number;
  readonly priority: number;
  /** Absolute ms by which the agent should be done; 0 means none. */
  readonly deadlineMs: number;
  readonly turns: readonly TurnSpec[];
}

/** Shape of the mixed trace. Every field has a default; the defaults are the trace the README reports on. */
export interface WorkloadOptions {
  /** PRNG seed (default 42). */
  seed?: number;
  /** How long arrivals go on (default 600000 ms). */
  durationMs?: number;
  /** Number of tenants; tenant "t0" is the heavy hitter (default 5). */
  tenants?: number;
  /** Share of all agents that belong to the heavy hitter (default 0.5). */
  heavyShare?: number;
  /** Mean arrivals per second outside bursts (default 0.25). */
  baseRatePerSec?: number;
  /** Arrival rate multiplier inside a burst (default 6). */
  burstFactor?: number;
  /** Share of time spent in bursts (default 0.15). */
  burstFraction?: number;
  /** Share of agents that are triage agents (default 0.75). */
  triageShare?: number;
  /** Triage deadline after arrival (default 30000 ms). */
  triageDeadlineMs?: number;
}

/**
 * A seeded mixed trace: short high-priority triage agents with deadlines (2–4 turns, small contexts) and long
 * low-priority research agents (10–24 turns whose context grows by each turn's output plus tool results),
 * several tenants with one heavy hitter, and bursty arrivals (a Poisson process whose rate jumps by
 * `burstFactor` in bursts). Same options, same trace, on every machine.
 */
export function generateWorkload(options: WorkloadOptions = {}): AgentSpec[] {
  const seed = options.seed ?? 42;
  const durationMs = options.durationMs ?? 600_000;
  const tenants = options.tenants ?? 5;
  const heavyShare = options.heavyShare ?? 0.5;
  const baseRate = options.baseRatePerSec ?? 0.3;
  const burstFactor = options.burstFactor ?? 8;
  const burstFraction = options.burstFraction ?? 0.15;
  const triageShare = options.triageShare ?? 0.75;
  const triageDeadlineMs = options.triageDeadlineMs ?? 30_000;

  const random = mulberry32(seed);
  const tool = createLognormalSampler({ median: 800, sigma: 0.6, seed: seed + 1 });
  const triageOut = createLognormalSampler({ median: 120, sigma: 0.4, seed: seed + 2 });
  const researchOut = createLognormalSampler({ median: 350, sigma: 0.5, seed: seed + 3 });
  const toolResult = createLognormalSampler({ median: 600, sigma: 0.7, seed: seed + 4 });

  // Bursts: 10 s periods, each a burst with probability burstFraction.
  const periodMs = 10_000;
  const agents: AgentSpec[] = [];
  let t = 0;
  let n = 0;
  while (t < durationMs) {
    const inBurst = Math.floor(t / periodMs) % Math.round(1 / burstFraction) === 3;
    const rate = baseRate * (inBurst ? burstFactor : 1);
    t += (-Math.log(1 - random()) / rate) * 1_000;
    if (t >= durationMs) break;
    const tenant = random() < heavyShare ? 't0' : `t${1 + Math.floor(random() * (tenants - 1))}`;
    const triage = random() < triageShare;
    const turns: TurnSpec[] = [];
    if (triage) {
      const count = 2 + Math.floor(random() * 3);
      let context = 600 + Math.floor(random() * 600);
      for (let k = 0; k < count; k++) {
        const out = Math.max(16, Math.round(triageOut()));
        turns.push({ inputTokens: context, outputTokens: out, maxOutputTokens: 512, toolMs: k === count - 1 ? 0 : Math.round(tool()) });
        context += out + Math.round(toolResult() / 4);
      }
    } else {
      const count = 10 + Math.floor(random() * 15);
      let context = 1_500 + Math.floor(random() * 1_000);
      for (let k = 0; k < count; k++) {
        const out = Math.max(32, Math.round(researchOut()));
        turns.push({ inputTokens: context, outputTokens: out, maxOutputTokens: 1_024, toolMs: k === count - 1 ? 0 : Math.round(tool()) });
        context += out + Math.round(toolResult());
      }
    }
    agents.push({
      id: `a${n++}`,
      tenant,
      cls: triage ? 'triage' : 'research',
      arrivalMs: Math.round(t),
      priority: triage ? 8 : 2,
      deadlineMs: triage ? Math.round(t) + triageDeadlineMs : 0,
      turns,
    });
  }
  return agents;
}
