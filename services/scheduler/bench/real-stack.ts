/**
 * Benchmarks B and C (kernel overhead) on the real stack: a private nats-server and Temporal dev server on 2xxxx
 * ports (never the shared dev stack's; Temporal with its default in-memory store and the dev stack's dynamic config,
 * @kernos/devstack temporalDevServerTuning), the model emulator and the scheduler as their own processes (started
 * with @kernos/launcher), and a Temporal worker in this process running the benchmark's agent workflow
 * (bench/real-stack/workflows.ts: each turn's activity enqueues with kernos.scheduler.enqueue and, granted at once,
 * calls the emulator and releases the lease; a queued turn waits suspended for the kernos.scheduler.leaseGranted
 * signal and then runs).
 *
 *   npx tsx services/scheduler/bench/real-stack.ts [--seed 42] [--slice-ms 180000] [--speedup 2]
 *       [--policies fifo,composite] [--overhead-turns 200] [--overhead-agents 1,4] [--skip-trace] [--skip-overhead]
 *
 * B: the first `--slice-ms` of the mixed trace (src/sim/workload.ts), time-compressed by `--speedup` (arrivals,
 *    tool times, deadlines and the policies' time knobs divided by it; the emulator runs with
 *    KERNOS_EMULATOR_TIME_SCALE = speedup), run once per policy on the real stack, next to Benchmark A's
 *    simulation of the same compressed trace. Printed per policy: triage mean/p95, research mean/p95, deadline
 *    attainment in both, their ratio, and whether the policies come out in the same order.
 * C: kernel overhead per turn. The same emulator settings (fixed 100 ms first-token latency, unlimited token
 *    rate) called directly over HTTP; from a plain Temporal activity, one per turn with no kernel (what an agent on
 *    Temporal pays anyway); and through the kernel (workflow task, turn activity: enqueue over NATS, grant, the
 *    emulator call, release over NATS; next workflow task), with fewer agents than slots so nothing queues: one
 *    agent alone (the kernel's cost on an idle machine) and four at once (`--overhead-agents`).
 *    Per-turn time on Temporal is the interval between consecutive turns' activities in the history; overhead =
 *    that minus the direct call, and the kernel's own share = kernel minus plain Temporal. Plain Temporal's own
 *    time is split by the server's event times (dispatch, workflow task, activity start to completion).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { trace } from '@opentelemetry/api';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporalDevServerTuning } from '@kernos/devstack';
import { startKernel, type Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient } from '@kernos/service-kit';
import type { PolicyName, PolicyOptions } from '../src/admission/policy.js';
import { simulate, type SimResult } from '../src/sim/simulate.js';
import { generateWorkload, type AgentSpec } from '../src/sim/workload.js';
import { policyFactories } from '../src/admission/policy.js';
import { callEmulator, createBenchActivities } from './real-stack/activities.js';
import type { BenchAgent, BenchAgentResult } from './real-stack/workflows.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    'slice-ms': { type: 'string', default: '180000' },
    speedup: { type: 'string', default: '2' },
    policies: { type: 'string', default: 'fifo,composite' },
    'overhead-turns': { type: 'string', default: '200' },
    'overhead-agents': { type: 'string', default: '1,4' },
    'skip-trace': { type: 'boolean', default: false },
    'skip-overhead': { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const sliceMs = Number(values['slice-ms']);
const speedup = Number(values.speedup);
const policies = values.policies.split(',') as PolicyName[];
for (const name of policies) if (!(name in policyFactories)) throw new Error(`--policies: unknown policy "${name}"`);
if (!(speedup > 0)) throw new Error(`--speedup must be a positive number, got ${values.speedup}`);

// Private ports below Linux's ephemeral range (32768-60999) and away from the dev stack, the fault suite (24222...)
// and the load benchmark (24322...).
const ports = { nats: 24522, natsMonitor: 28522, temporal: 27533, emulator: 25540, overheadEmulator: 25541 };
const slots = 8;
const overheadAgents = values['overhead-agents'].split(',').map(Number);
for (const n of overheadAgents) if (!Number.isInteger(n) || n < 1 || n >= slots) throw new Error(`--overhead-agents: each count must be an integer from 1 to ${slots - 1} (fewer than the ${slots} slots), got "${values['overhead-agents']}"`);
const taskQueue = 'scheduler-bench';
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const stateDir = mkdtempSync(join(tmpdir(), 'kernos-sched-bench-'));
const children: ChildProcess[] = [];

function binary(name: string): string {
  const envVar = { 'nats-server': 'KERNOS_NATS_SERVER_BIN', temporal: 'KERNOS_TEMPORAL_BIN' }[name]!;
  const candidates = [process.env[envVar], join(process.env.KERNOS_CACHE ?? join(homedir(), '.cache', 'kernos'), 'bin', name)];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) throw new Error(`${name} not found (set ${envVar} or run scripts/setup.sh)`);
  return found;
}

function server(file: string, args: string[]): ChildProcess {
  const child = spawn(file, args, { stdio: 'ignore', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  children.push(child);
  return child;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** The trace slice with time divided by `speedup`; token counts unchanged. */
function compress(agents: readonly AgentSpec[]): AgentSpec[] {
  return agents.map((agent) => ({
    ...agent,
    arrivalMs: agent.arrivalMs / speedup,
    deadlineMs: agent.deadlineMs === 0 ? 0 : agent.arrivalMs / speedup + (agent.deadlineMs - agent.arrivalMs) / speedup,
    turns: agent.turns.map((turn) => ({ ...turn, toolMs: turn.toolMs / speedup })),
  }));
}

/** The policies' time knobs scaled like the trace (the defaults of composite and las are in wall ms). */
const policyOptions: PolicyOptions = { agingMsPerLevel: 15_000 / speedup, urgencyMs: 15_000 / speedup, starvationMs: 30_000 / speedup };

interface Outcome {
  triageMean: number;
  triageP95: number;
  researchMean: number;
  researchP95: number;
  deadlineMet: number;
}

const fromSim = (r: SimResult): Outcome => ({
  triageMean: r.byClass.triage.completionMeanMs,
  triageP95: r.byClass.triage.completionP95Ms,
  researchMean: r.byClass.research.completionMeanMs,
  researchP95: r.byClass.research.completionP95Ms,
  deadlineMet: r.byClass.triage.deadlineAttainment,
});

let temporalConnection: Connection | undefined;
let workerConnection: NativeConnection | undefined;
let worker: Worker | undefined;
let workerRun: Promise<void> | undefined;
const kernels: Kernel[] = [];
let nc: Awaited<ReturnType<typeof connectNats>> | undefined;

async function main(): Promise<void> {
  log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (shared machine)`);
  log(`private stack: nats-server :${ports.nats}, Temporal :${ports.temporal} in ${stateDir}`);
  server(binary('nats-server'), ['-js', '-a', '127.0.0.1', '-p', String(ports.nats), '-m', String(ports.natsMonitor), '-sd', join(stateDir, 'nats')]);
  server(binary('temporal'), [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(ports.temporal),
    '--log-level', 'error', ...temporalDevServerTuning,
  ]);
  const natsUrl = `nats://127.0.0.1:${ports.nats}`;
  nc = await until('nats-server', 20_000, () => connectNats({ url: natsUrl, name: 'scheduler-bench' }));
  const kernel = createKernelClient(nc, trace.getTracer('scheduler-bench'));
  temporalConnection = await until('Temporal', 60_000, async () => {
    const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}`, connectTimeout: 2_000 });
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return connection;
  });
  const client = new Client({ connection: temporalConnection, namespace: 'default' });
  workerConnection = await NativeConnection.connect({ address: `127.0.0.1:${ports.temporal}` });
  worker = await Worker.create({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./real-stack/workflows.ts', import.meta.url)),
    activities: createBenchActivities(kernel, 'bench'),
    maxConcurrentActivityTaskExecutions: 200,
  });
  workerRun = worker.run();
  log('worker running');

  const baseEnv = {
    KERNOS_NATS_URL: natsUrl,
    KERNOS_TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    KERNOS_JOBS_BUCKET: 'scheduler-bench-jobs',
    KERNOS_HEALTH_PORT: undefined,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined,
  };
  const logDir = join(stateDir, 'logs');

  /** The emulator and a scheduler with one endpoint "bench" on it, fresh for each run (same latency sequence). */
  const startRun = async (policy: PolicyName, emulatorPort: number, emulatorEnv: Record<string, string>) => {
    const emulator = await startKernel({ env: { ...baseEnv, ...emulatorEnv }, only: ['emulator'], emulatorPort, logDir });
    kernels.push(emulator);
    const endpoints = [{ name: 'bench', baseUrl: emulator.openaiBaseUrl, model: 'kernos-emu-small', maxConcurrent: slots, policy, policyOptions: policy === 'composite' || policy === 'las' ? policyOptions : undefined }];
    const scheduler = await startKernel({ env: { ...baseEnv, KERNOS_ENDPOINTS: JSON.stringify(endpoints) }, only: ['scheduler'], emulatorPort, logDir });
    kernels.push(scheduler);
    return {
      baseUrl: emulator.openaiBaseUrl,
      stop: async () => {
        await scheduler.stop();
        await emulator.stop();
      },
    };
  };

  if (!values['skip-trace']) await benchmarkB(client, startRun);
  if (!values['skip-overhead']) await benchmarkC(client, startRun);
  log(`load average at end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

type StartRun = (policy: PolicyName, emulatorPort: number, env: Record<string, string>) => Promise<{ baseUrl: string; stop: () => Promise<void> }>;

async function benchmarkB(client: Client, startRun: StartRun): Promise<void> {
  const agents = compress(generateWorkload({ seed }).filter((agent) => agent.arrivalMs < sliceMs));
  const turns = agents.reduce((sum, a) => sum + a.turns.length, 0);
  log(`B: seed ${seed}, first ${sliceMs / 1000} s of the trace compressed ${speedup}x: ${agents.length} agents, ${turns} turns`);
  const capacity = { maxConcurrent: slots, tokensPerSecond: 1_000 * speedup, latencyMs: 300 / speedup, latencySigma: 0.5, seed };
  const rows: { policy: string; sim: Outcome; adjusted: Outcome; real: Outcome; slotOverheadMs: number; gapMs: number }[] = [];
  for (const policy of policies) {
    const sim = fromSim(simulate(agents, () => policyFactories[policy](policyOptions), capacity));
    const run = await startRun(policy, ports.emulator, {
      KERNOS_EMULATOR_MAX_CONCURRENT: String(slots),
      KERNOS_EMULATOR_TOKENS_PER_SECOND: '1000',
      KERNOS_EMULATOR_LATENCY_MS: '300',
      KERNOS_EMULATOR_LATENCY_SIGMA: '0.5',
      KERNOS_EMULATOR_SEED: String(seed),
      KERNOS_EMULATOR_TIME_SCALE: String(speedup),
      // Replies longer than any turn's output, so max_tokens sets each turn's length exactly.
      KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN: '4000',
      KERNOS_EMULATOR_OUTPUT_TOKENS_SIGMA: '0',
    });
    try {
      const tag = `b-${policy}-${Date.now()}`;
      const t0 = Date.now() + 2_000;
      const handles = await Promise.all(
        agents.map(async (agent) => {
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + agent.arrivalMs - Date.now())));
          const input: BenchAgent = {
            id: agent.id,
            tenant: agent.tenant,
            priority: agent.priority,
            deadlineMs: agent.deadlineMs === 0 ? 0 : Math.round(t0 + agent.deadlineMs),
            turns: agent.turns.map((turn) => ({ ...turn, toolMs: Math.round(turn.toolMs) })),
          };
          return client.workflow.start('benchAgentWorkflow', { taskQueue, workflowId: `${tag}-${agent.id}`, args: [input] });
        }),
      );
      log(`B ${policy}: all ${handles.length} agents started; waiting for them`);
      const results = await Promise.all(handles.map((handle) => handle.result() as Promise<BenchAgentResult>));
      // What the kernel added per turn in this very run: inside the slot (grant signal, workflow task, activity
      // dispatch, release) and between turns (activity completion, workflow tasks, timers, activity dispatch; the
      // enqueue request's own way to the scheduler, well under a millisecond, is in neither).
      const slotOverheadMs = percentile(sorted(results.flatMap((r) => r.slotOverheadMs)), 0.5);
      const gapMs = percentile(sorted(results.flatMap((r) => r.gapMs)), 0.5);
      const adjusted = fromSim(simulate(agents, () => policyFactories[policy](policyOptions), { ...capacity, slotOverheadMs, turnGapMs: gapMs }));
      const done = await Promise.all(handles.map(async (handle) => ms((await handle.describe()).raw.workflowExecutionInfo?.closeTime)));
      const completion = agents.map((agent, i) => done[i]! - (t0 + agent.arrivalMs));
      const of = (cls: string) => sorted(completion.filter((_, i) => agents[i]!.cls === cls));
      const triage = of('triage');
      const research = of('research');
      const withDeadline = agents.map((agent, i) => ({ agent, i })).filter(({ agent }) => agent.deadlineMs > 0);
      const real: Outcome = {
        triageMean: mean(triage),
        triageP95: percentile(triage, 0.95),
        researchMean: mean(research),
        researchP95: percentile(research, 0.95),
        deadlineMet: withDeadline.filter(({ agent, i }) => done[i]! <= t0 + agent.deadlineMs).length / withDeadline.length,
      };
      rows.push({ policy, sim, adjusted, real, slotOverheadMs, gapMs });
      log(`B ${policy}: done`);
    } finally {
      await run.stop();
    }
  }

  const s = (x: number) => (x / 1_000).toFixed(2);
  const ratio = (real: number, sim: number) => `${real >= sim ? '+' : ''}${((real / sim - 1) * 100).toFixed(0)}%`;
  console.log(`\nBenchmark B: seed ${seed}, first ${sliceMs / 1000} s of the trace (${agents.length} agents, ${turns} turns) compressed ${speedup}x; ${slots} slots; times in s of the compressed run`);
  console.log("A = simulation (ideal kernel); A' = simulation with this run's measured kernel cost per turn (median, inside the slot / between turns); B = real stack (diff vs A')");
  console.log("| policy | kernel cost per turn ms (in slot / between) | triage mean A / A' / B (diff) | triage p95 A / A' / B (diff) | research mean A / A' / B (diff) | research p95 A / A' / B (diff) | deadline met A / A' / B |");
  console.log('|---|---|---|---|---|---|---|');
  for (const { policy, sim, adjusted, real, slotOverheadMs, gapMs } of rows) {
    const cell = (key: keyof Outcome) => `${s(sim[key])} / ${s(adjusted[key])} / ${s(real[key])} (${ratio(real[key], adjusted[key])})`;
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    console.log(
      `| ${policy} | ${slotOverheadMs.toFixed(0)} / ${gapMs.toFixed(0)} | ${cell('triageMean')} | ${cell('triageP95')} | ${cell('researchMean')} | ${cell('researchP95')} | ` +
        `${pct(sim.deadlineMet)} / ${pct(adjusted.deadlineMet)} / ${pct(real.deadlineMet)} |`,
    );
  }
  if (rows.length >= 2) {
    const order = (key: keyof Outcome, which: 'sim' | 'adjusted' | 'real') => [...rows].sort((a, b) => a[which][key] - b[which][key]).map((r) => r.policy).join(' < ');
    for (const key of ['triageP95', 'triageMean', 'researchMean'] as const) {
      const a = order(key, 'sim');
      const adjusted = order(key, 'adjusted');
      const b = order(key, 'real');
      console.log(`order by ${key}: A ${a}; A' ${adjusted}; B ${b} (${b === adjusted ? 'same as' : 'DIFFERENT from'} A', ${b === a ? 'same as' : 'DIFFERENT from'} A)`);
    }
    const base = rows[0]!;
    for (const row of rows.slice(1)) {
      const gain = (which: 'sim' | 'adjusted' | 'real') => base[which].triageP95 / row[which].triageP95;
      console.log(
        `triage p95 gain of ${row.policy} over ${base.policy}: A ${gain('sim').toFixed(2)}x, A' ${gain('adjusted').toFixed(2)}x, B ${gain('real').toFixed(2)}x ` +
          `(B vs A' ${ratio(gain('real'), gain('adjusted'))})`,
      );
    }
  }
}

async function benchmarkC(client: Client, startRun: StartRun): Promise<void> {
  const total = Number(values['overhead-turns']);
  const latencyMs = 100;
  const outputTokens = 32;
  const run = await startRun('composite', ports.overheadEmulator, {
    KERNOS_EMULATOR_MAX_CONCURRENT: String(slots),
    KERNOS_EMULATOR_TOKENS_PER_SECOND: '0',
    KERNOS_EMULATOR_LATENCY_MS: String(latencyMs),
    KERNOS_EMULATOR_LATENCY_SIGMA: '0',
    KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN: '4000',
    KERNOS_EMULATOR_OUTPUT_TOKENS_SIGMA: '0',
  });
  try {
    // Fewer agents than slots in every round: no turn queues, so what is measured is the kernel, not the policy.
    for (const agents of overheadAgents) await overheadRound(client, run.baseUrl, agents, Math.ceil(total / agents) + 1, latencyMs, outputTokens);
  } finally {
    await run.stop();
  }
}

async function overheadRound(client: Client, baseUrl: string, agents: number, turnsEach: number, latencyMs: number, outputTokens: number): Promise<void> {
  // Direct: the very call the turn activities make (callEmulator), from `agents` concurrent callers.
  const direct: number[] = [];
  await Promise.all(
    Array.from({ length: agents }, async () => {
      for (let k = 0; k < turnsEach - 1; k++) {
        const start = performance.now();
        await callEmulator(baseUrl, 'kernos-emu-small', outputTokens);
        direct.push(performance.now() - start);
      }
    }),
  );
  const d = sorted(direct);
  const directP50 = percentile(d, 0.5);

  const tag = `c${agents}-${Date.now()}`;
  const histories = async (handles: WorkflowHandle[]) => Promise.all(handles.map(async (handle) => (await handle.fetchHistory()).events ?? []));
  /** Per workflow, the intervals between consecutive activities of `type` in its history: one turn each. */
  const turnIntervals = (all: HistoryEvent[][], type: string) => {
    const intervals: number[] = [];
    for (const events of all) {
      const at = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).map((e) => ms(e.eventTime));
      for (let k = 1; k < at.length; k++) intervals.push(at[k]! - at[k - 1]!);
    }
    return intervals;
  };

  // Plain Temporal: the same call from one activity per turn, no kernel.
  const plainHandles = await Promise.all(
    Array.from({ length: agents }, (_, i) =>
      client.workflow.start('plainTurnsWorkflow', { taskQueue, workflowId: `${tag}-plain-${i}`, args: [turnsEach, baseUrl, 'kernos-emu-small', outputTokens] }),
    ),
  );
  await Promise.all(plainHandles.map((handle) => handle.result()));
  const plainHistories = await histories(plainHandles);
  const plainTurns = turnIntervals(plainHistories, 'plainTurn');

  const handles = await Promise.all(
    Array.from({ length: agents }, (_, i) =>
      client.workflow.start('benchAgentWorkflow', {
        taskQueue,
        workflowId: `${tag}-${i}`,
        args: [
          {
            id: `${tag}-${i}`,
            tenant: `t${i}`,
            priority: 5,
            deadlineMs: 0,
            turns: Array.from({ length: turnsEach }, () => ({ inputTokens: 500, outputTokens, maxOutputTokens: outputTokens, toolMs: 0 })),
          } satisfies BenchAgent,
        ],
      }),
    ),
  );
  const waited: number[] = [];
  const inSlot: number[] = [];
  const between: number[] = [];
  const enqueueTrips: number[] = [];
  const releaseTrips: number[] = [];
  for (const handle of handles) {
    const result = (await handle.result()) as BenchAgentResult;
    waited.push(...result.waitedMs);
    inSlot.push(...result.slotOverheadMs);
    between.push(...result.gapMs);
    enqueueTrips.push(...result.enqueueRoundTripMs);
    releaseTrips.push(...result.releaseRoundTripMs);
  }
  // One benchTurn activity per turn (nothing queues, so none returns without running).
  const kernelTurns = turnIntervals(await histories(handles), 'benchTurn');
  const pt = sorted(plainTurns);
  const kt = sorted(kernelTurns);
  const overhead = sorted(kernelTurns.map((x) => x - directP50));
  const plainOverhead = sorted(plainTurns.map((x) => x - directP50));
  const f = (x: number) => x.toFixed(1);
  const row = (label: string, xs: number[], bold = false) => {
    const b = (x: string) => (bold ? `**${x}**` : x);
    return `| ${label} | ${xs.length} | ${b(f(percentile(xs, 0.5)))} | ${f(percentile(xs, 0.9))} | ${b(f(percentile(xs, 0.99)))} | ${f(xs[xs.length - 1]!)} |`;
  };
  console.log(`\nBenchmark C, kernel overhead per turn: emulator with a fixed ${latencyMs} ms first-token latency and unlimited token rate, ${outputTokens} output tokens, ${agents} agent${agents === 1 ? '' : 's'} at once on ${slots} slots (nothing queues; max wait ${Math.max(...waited)} ms)`);
  console.log('| path | turns | p50 ms | p90 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|---|');
  console.log(row('emulator called directly', d));
  console.log(row('plain Temporal activity per turn (no kernel)', pt));
  console.log(row('through the kernel (Temporal + NATS + scheduler)', kt));
  console.log(row('overhead of plain Temporal (turn - direct p50)', plainOverhead));
  console.log(row('overhead through the kernel (turn - direct p50)', overhead, true));
  console.log(row('of which inside the slot (grant to emulator call, release)', sorted(inSlot)));
  console.log(row('of which between turns (release answered to the next turn activity running: completion, workflow task, dispatch)', sorted(between)));
  console.log(row('kernel: enqueue round trip (NATS request; the scheduler queues and grants)', sorted(enqueueTrips)));
  console.log(row('kernel: release round trip (NATS request)', sorted(releaseTrips)));
  // Where plain Temporal's own time goes, from the server's event times in the plain workflows' histories.
  const steps = temporalSteps(plainHistories);
  console.log(row("plain Temporal: activity completed → workflow task started (server: history write, matching dispatch)", steps.dispatch));
  console.log(row('plain Temporal: workflow task started → completed (poll reply, worker runs the workflow, completion)', steps.workflowTask));
  console.log(row('plain Temporal: activity started → completed, minus the direct call p50 (eager start, completion)', sorted(steps.activity.map((x) => x - directP50))));
  const own = percentile(kt, 0.5) - percentile(pt, 0.5);
  console.log(`kernel's own share at p50 (kernel turn - plain Temporal turn): ${f(own)} ms`);
  console.log(`target overhead p50 <= 20 ms with ${agents} agent${agents === 1 ? '' : 's'}: ${percentile(overhead, 0.5) <= 20 ? 'met' : 'NOT met'}; load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
/** Temporal's EventType values (temporal.api.enums.v1.EventType) this benchmark reads. */
const EventType = { workflowTaskStarted: 6, workflowTaskCompleted: 7, activityTaskStarted: 11, activityTaskCompleted: 12 } as const;

/** Per turn of a plain workflow: the server-stamped intervals between the events one activity round trip writes. */
function temporalSteps(all: HistoryEvent[][]): { dispatch: number[]; workflowTask: number[]; activity: number[] } {
  const dispatch: number[] = [];
  const workflowTask: number[] = [];
  const activity: number[] = [];
  for (const events of all) {
    let completedAt: number | undefined;
    let taskStartedAt: number | undefined;
    let activityStartedAt: number | undefined;
    for (const event of events) {
      const at = ms(event.eventTime);
      if (event.eventType === EventType.activityTaskStarted) activityStartedAt = at;
      else if (event.eventType === EventType.activityTaskCompleted) {
        if (activityStartedAt !== undefined) activity.push(at - activityStartedAt);
        completedAt = at;
      } else if (event.eventType === EventType.workflowTaskStarted) {
        if (completedAt !== undefined) dispatch.push(at - completedAt);
        taskStartedAt = at;
      } else if (event.eventType === EventType.workflowTaskCompleted && completedAt !== undefined && taskStartedAt !== undefined) {
        workflowTask.push(at - taskStartedAt);
      }
    }
  }
  return { dispatch: sorted(dispatch), workflowTask: sorted(workflowTask), activity: sorted(activity) };
}

try {
  await main();
} finally {
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await workerConnection?.close().catch(() => undefined);
  await temporalConnection?.close().catch(() => undefined);
  for (const k of kernels) await k.stop().catch(() => undefined);
  await nc?.close().catch(() => undefined);
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))));
  rmSync(stateDir, { recursive: true, force: true });
}
