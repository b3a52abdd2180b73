import { createLognormalSampler } from '@kernos/model-emulator';
import { IndexedHeap } from '../admission/heap.js';
import type { Policy, Waiter } from '../admission/policy.js';
import type { AgentClass, AgentSpec } from './workload.js';

/** The emulator's capacity model (packages/model-emulator README, "Capacity and latency model"). */
export interface CapacityModel {
  /** Requests in service at once; the scheduler's maxConcurrent is set to the same (default 8). */
  maxConcurrent?: number;
  /** Output tokens per second shared by all decoding requests (default 1000). */
  tokensPerSecond?: number;
  /** Ceiling on one request's decode rate, 0 = none (default 0). */
  perRequestTokensPerSecond?: number;
  /** Median first-token latency (default 300 ms). */
  latencyMs?: number;
  /** Sigma of the first-token latency lognormal (default 0.5). */
  latencySigma?: number;
  /** Seed of the latency sequence (default 1, the emulator's default). */
  seed?: number;
  /**
   * Time each turn holds its slot on top of the model's, for the kernel's hops between the grant and the model
   * call and from the reply to the release (default 0: the scheduler's ideal). Benchmark B sets it to what it
   * measured on the real stack, to tell the kernel's cost from the policy's order.
   */
  slotOverheadMs?: number;
  /** Time added before each turn's request outside the slot (enqueue round trip, workflow tasks; default 0). */
  turnGapMs?: number;
}

export interface ClassStats {
  agents: number;
  completionMeanMs: number;
  completionP95Ms: number;
  slowdownMean: number;
  /** Share of this class's agents with a deadline that finished by it (NaN when none has one). */
  deadlineAttainment: number;
  /** p95 over agents of the total time their turns spent queued (the part of completion a policy decides). */
  queuedP95Ms: number;
}

export interface SimResult {
  policy: string;
  byClass: Record<AgentClass, ClassStats>;
  /**
   * Jain's index over the backlogged tenants' normalised service, averaged over 30 s windows: per window, each
   * tenant backlogged (a turn queued) for at least half of it scores the tokens granted to it in the window
   * (input + actual output of each turn, counted at its grant, as the VTC counters charge them) per ms it was
   * backlogged, divided by its weight (all 1 here). Normalising by backlogged time compares service *rates while
   * backlogged*, the quantity fair queuing equalises (VTC, Sheng et al. OSDI'24, compares service over intervals
   * in which the clients are backlogged).
   */
  jain: number;
  /** How many windows had at least two backlogged tenants (the windows the Jain index averages over). */
  jainWindows: number;
  /** The previous definition, kept for comparison: tokens granted per window, not normalised by backlogged time. */
  jainAbsolute: number;
  /**
   * Service *delivered* while backlogged (input over the prefill, output as decoded, only while the tenant still has
   * a turn queued) per ms backlogged. Kept for comparison; it undercounts tenants that queue one turn at a time
   * (their turn is served after they stop being backlogged), so even pure VTC scores low on it.
   */
  jainDelivered: number;
  /** Output tokens decoded while someone was queued, over tokensPerSecond × that time. */
  backloggedUtilisation: number;
  makespanMs: number;
  decisions: number;
}

interface Turn {
  readonly agent: RunState;
  readonly index: number;
  readonly waiter: Waiter;
  remaining: number;
  /** Rate-free progress bookkeeping: service attained so far (tokens). */
}

interface RunState {
  readonly spec: AgentSpec;
  readonly isolatedMs: number;
  next: number;
  doneAt: number;
  queuedMs: number;
}

/** A granted turn in its first-token latency: its input tokens are served at `perMs` until `until`. */
interface Prefill {
  readonly tenant: string;
  readonly perMs: number;
}

type Event = { at: number; order: number; run: () => void };

const windowMs = 30_000;

/**
 * Deterministic discrete-event simulation of one endpoint: agents issue turns one after another; each turn asks
 * the policy for a slot (the real policy object from src/admission, the same code the service runs), holds it
 * for a first-token latency drawn like the emulator's (n-th request into service gets the n-th sample of the
 * seeded lognormal), then decodes its output tokens under processor sharing of `tokensPerSecond`, releases
 * (the policy hears the actual usage) and the agent's tool time passes before its next turn.
 *
 * `makePolicy` receives an oracle of each agent's remaining work so that a clairvoyant policy can be simulated
 * as a ceiling; real policies ignore it.
 */
export function simulate(
  agents: readonly AgentSpec[],
  makePolicy: (remainingTokens: (waiter: Waiter) => number) => Policy,
  capacity: CapacityModel = {},
): SimResult {
  const maxConcurrent = capacity.maxConcurrent ?? 8;
  const tps = (capacity.tokensPerSecond ?? 1_000) / 1_000; // per ms
  const perRequestCap = (capacity.perRequestTokensPerSecond ?? 0) / 1_000;
  const latencyMedian = capacity.latencyMs ?? 300;
  const latency = createLognormalSampler({ median: latencyMedian, sigma: capacity.latencySigma ?? 0.5, seed: capacity.seed ?? 1 });
  const rateAlone = perRequestCap > 0 ? Math.min(tps, perRequestCap) : tps;
  const slotOverheadMs = capacity.slotOverheadMs ?? 0;
  const turnGapMs = capacity.turnGapMs ?? 0;

  const runs = agents.map<RunState>((spec) => ({
    spec,
    next: 0,
    doneAt: 0,
    queuedMs: 0,
    isolatedMs: spec.turns.reduce((sum, turn) => sum + latencyMedian + turn.outputTokens / rateAlone + turn.toolMs, 0),
  }));
  const byRunId = new Map(runs.map((run) => [run.spec.id, run]));
  const turnOf = new Map<Waiter, Turn>();
  const remainingTokens = (waiter: Waiter) => {
    const run = byRunId.get(waiter.ref!.runId!)!;
    let sum = 0;
    for (let k = run.next; k < run.spec.turns.length; k++) sum += run.spec.turns[k]!.inputTokens + run.spec.turns[k]!.outputTokens;
    return sum;
  };
  const policy = makePolicy(remainingTokens);

  const events = new IndexedHeap<Event>((a, b) => (a.at !== b.at ? a.at < b.at : a.order < b.order));
  let order = 0;
  const at = (time: number, run: () => void) => events.push({ at: time, order: order++, run });

  let now = 0;
  let seq = 0;
  let active = 0;
  let decisions = 0;
  const decoding = new Set<Turn>();
  let wakeScheduled = Number.POSITIVE_INFINITY;

  // Backlog and service accounting for utilisation and fairness.
  let backloggedMs = 0;
  let decodedWhileBacklogged = 0;
  const windowService = new Map<number, Map<string, number>>();
  const windowBacklog = new Map<number, Map<string, number>>();
  const queuedPerTenant = new Map<string, number>();
  const prefilling = new Set<Prefill>();
  const grantService = new Map<number, Map<string, number>>();
  /** Adds `perMs` × the time of [from, to) to the tenant's entry of each 30-s window it overlaps. */
  const spread = (windows: Map<number, Map<string, number>>, tenant: string, from: number, to: number, perMs: number) => {
    let t = from;
    while (t < to) {
      const w = Math.floor(t / windowMs);
      const end = Math.min(to, (w + 1) * windowMs);
      const m = windows.get(w) ?? new Map<string, number>();
      m.set(tenant, (m.get(tenant) ?? 0) + perMs * (end - t));
      windows.set(w, m);
      t = end;
    }
  };
  const backloggedTenant = (tenant: string) => (queuedPerTenant.get(tenant) ?? 0) > 0;

  const advance = (to: number) => {
    const dt = to - now;
    if (dt <= 0) return;
    if (decoding.size > 0) {
      const rate = perRequestCap > 0 ? Math.min(tps / decoding.size, perRequestCap) : tps / decoding.size;
      for (const turn of decoding) {
        turn.remaining -= rate * dt;
        // Service while backlogged: only a tenant that is waiting for more counts what it gets meanwhile.
        const tenant = turn.agent.spec.tenant;
        if (backloggedTenant(tenant)) spread(windowService, tenant, now, to, rate);
      }
      if (policy.size > 0) decodedWhileBacklogged += rate * dt * decoding.size;
    }
    for (const prefill of prefilling) if (backloggedTenant(prefill.tenant)) spread(windowService, prefill.tenant, now, to, prefill.perMs);
    if (policy.size > 0) backloggedMs += dt;
    // Backlog time per tenant per window (a tenant with a queued turn for a whole window is fully backlogged).
    for (const [tenant, count] of queuedPerTenant) if (count > 0) spread(windowBacklog, tenant, now, to, 1);
    now = to;
  };

  const nextDecodeEnd = (): { at: number; turn: Turn } | undefined => {
    if (decoding.size === 0) return undefined;
    const rate = perRequestCap > 0 ? Math.min(tps / decoding.size, perRequestCap) : tps / decoding.size;
    let first: Turn | undefined;
    for (const turn of decoding) if (!first || turn.remaining < first.remaining) first = turn;
    return { at: now + Math.max(0, first!.remaining) / rate, turn: first! };
  };

  const request = (run: RunState) => {
    const spec = run.spec;
    const turn = spec.turns[run.next]!;
    const waiter: Waiter = {
      seq: seq++,
      priority: spec.priority,
      enqueuedAt: now,
      estimatedTokens: turn.inputTokens + turn.maxOutputTokens,
      deadlineMs: spec.deadlineMs,
      ref: { tenant: spec.tenant, runId: spec.id },
    };
    turnOf.set(waiter, { agent: run, index: run.next, waiter, remaining: turn.outputTokens });
    queuedPerTenant.set(spec.tenant, (queuedPerTenant.get(spec.tenant) ?? 0) + 1);
    policy.add(waiter, now);
    dispatch();
  };

  const dispatch = () => {
    while (active < maxConcurrent && policy.size > 0) {
      const waiter = policy.take(now);
      decisions++;
      if (!waiter) {
        const wake = policy.nextEligibleAt?.(now);
        if (wake !== undefined && wake < wakeScheduled) {
          wakeScheduled = wake;
          at(wake, () => {
            wakeScheduled = Number.POSITIVE_INFINITY;
            dispatch();
          });
        }
        return;
      }
      policy.onGrant?.(waiter, now);
      active++;
      const turn = turnOf.get(waiter)!;
      const tenant = turn.agent.spec.tenant;
      queuedPerTenant.set(tenant, queuedPerTenant.get(tenant)! - 1);
      const spec = turn.agent.spec.turns[turn.index]!;
      turn.agent.queuedMs += now - waiter.enqueuedAt;
      const w = Math.floor(now / windowMs);
      const granted = grantService.get(w) ?? new Map<string, number>();
      granted.set(tenant, (granted.get(tenant) ?? 0) + spec.inputTokens + spec.outputTokens);
      grantService.set(w, granted);
      // The input tokens are served over the first-token latency (the prefill), output tokens as they decode.
      const firstToken = latency() + slotOverheadMs;
      const prefill: Prefill = { tenant, perMs: firstToken > 0 ? spec.inputTokens / firstToken : 0 };
      if (firstToken > 0) prefilling.add(prefill);
      else if (queuedPerTenant.get(tenant)! > 0) spread(windowService, tenant, now, now + 1, spec.inputTokens);
      at(now + firstToken, () => {
        prefilling.delete(prefill);
        decoding.add(turn);
      });
    }
  };

  const finish = (turn: Turn) => {
    decoding.delete(turn);
    turnOf.delete(turn.waiter);
    active--;
    const run = turn.agent;
    const spec = run.spec.turns[turn.index]!;
    policy.onFinish?.({ ref: turn.waiter.ref, estimatedTokens: turn.waiter.estimatedTokens }, spec.inputTokens + spec.outputTokens, now);
    run.next++;
    if (run.next >= run.spec.turns.length) run.doneAt = now;
    else at(now + spec.toolMs + turnGapMs, () => request(run));
    dispatch();
  };

  for (const run of runs) at(run.spec.arrivalMs + turnGapMs, () => request(run));

  for (;;) {
    const top = events.peek();
    const decode = nextDecodeEnd();
    if (!top && !decode) break;
    if (decode && (!top || decode.at <= top.at)) {
      advance(decode.at);
      finish(decode.turn);
    } else {
      events.pop();
      advance(top!.at);
      top!.run();
    }
  }

  const byClass = {} as Record<AgentClass, ClassStats>;
  for (const cls of ['triage', 'research'] as const) {
    const mine = runs.filter((run) => run.spec.cls === cls);
    const completions = mine.map((run) => run.doneAt - run.spec.arrivalMs).sort((a, b) => a - b);
    const withDeadline = mine.filter((run) => run.spec.deadlineMs > 0);
    byClass[cls] = {
      agents: mine.length,
      completionMeanMs: mean(completions),
      completionP95Ms: percentile(completions, 0.95),
      slowdownMean: mean(mine.map((run) => (run.doneAt - run.spec.arrivalMs) / run.isolatedMs)),
      deadlineAttainment: withDeadline.length === 0 ? Number.NaN : withDeadline.filter((run) => run.doneAt <= run.spec.deadlineMs).length / withDeadline.length,
      queuedP95Ms: percentile(mine.map((run) => run.queuedMs).sort((a, b) => a - b), 0.95),
    };
  }

  // Fairness: in each 30 s window, the tenants that had a queued turn for at least half of it wanted more than
  // they got; among them the service rate while backlogged should be equal. Jain's index per window, averaged over
  // windows with >= 2 such tenants.
  const indices: number[] = [];
  const absolute: number[] = [];
  const delivered: number[] = [];
  for (const [w, backlog] of windowBacklog) {
    const tenants = [...backlog].filter(([, ms]) => ms >= windowMs / 2);
    if (tenants.length < 2) continue;
    const granted = grantService.get(w) ?? new Map<string, number>();
    const served = windowService.get(w) ?? new Map<string, number>();
    indices.push(jain(tenants.map(([tenant, ms]) => (granted.get(tenant) ?? 0) / ms)));
    absolute.push(jain(tenants.map(([tenant]) => granted.get(tenant) ?? 0)));
    delivered.push(jain(tenants.map(([tenant, ms]) => (served.get(tenant) ?? 0) / ms)));
  }

  return {
    policy: policy.name,
    byClass,
    jain: indices.length === 0 ? 1 : mean(indices),
    jainWindows: indices.length,
    jainAbsolute: absolute.length === 0 ? 1 : mean(absolute),
    jainDelivered: delivered.length === 0 ? 1 : mean(delivered),
    backloggedUtilisation: backloggedMs === 0 ? 1 : decodedWhileBacklogged / (tps * backloggedMs),
    makespanMs: now,
    decisions,
  };
}

/** Jain's fairness index: (Σx)² / (n·Σx²); 1 when all equal, 1/n when one gets everything. */
export function jain(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
