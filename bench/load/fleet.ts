/**
 * Load benchmark: N concurrent agent runs (agentWorkflow: 2 LLM turns, 1 MCP tool call, 4 access checks, 1
 * graph write each) on the model emulator, against a private stack (NATS, Temporal, Neo4j on 2xxxx ports) and
 * the kernel's own processes (the services and `--workers` workers sharing the task queue), all on this machine.
 * A supervisor restarts any kernel process that dies (as Kubernetes' restart policy would) and reports it.
 *
 *   npx tsx bench/load/fleet.ts --runs 1000 [--workers 2] [--latency-ms 500] [--json]
 *
 * Reports:
 *   - memory per run: peak RSS of the workers and the five services (their child processes included, e.g. the
 *     tool gateway's MCP server) divided by the runs, and the growth over idle divided by the runs;
 *   - throughput: runs/s and LLM turns/s from the first start to the last completion;
 *   - kernel overhead per turn: the llmTurn activity's time from scheduled to completed (Temporal history)
 *     minus the model's own time, which is the emulator's fixed latency (sigma 0, unlimited token rate), so what
 *     is left is Temporal dispatch, the lease round trip to the scheduler, the HTTP call and the release;
 *     p50/p90/p99/max, and the part of it spent waiting for a free worker slot (scheduled to started); and the
 *     whole turn as the workflow sees it, from its lease request (enqueue, grant signal, workflow tasks) to the
 *     answer, minus the model's latency;
 *   - where the runs' time went: each workflow task and activity type split into queued and running time, and
 *     the time runs waited on signals (the lease grant), as shares of all runs' wall time;
 *   - restarts: every kernel process that died during the run, its exit and where its log was saved.
 */
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, kernelProcessNames, repoRoot, startKernel, startProcess, type Kernel, type ManagedProcess } from '@kernos/launcher';
import {
  auditFleet,
  benchPorts,
  runTimeline,
  startFleet,
  startPrivateStack,
  summariseTimelines,
  superviseProcesses,
  type PrivateStack,
  type Supervisor,
} from '@kernos/faults';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    'latency-ms': { type: 'string', default: '500' },
    workers: { type: 'string', default: '2' },
    'workflow-tasks': { type: 'string' },
    'workflow-task-timeout': { type: 'string' },
    'max-minutes': { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: npx tsx bench/load/fleet.ts [--runs N (default 100)] [--workers W (worker processes on the task queue, default 2)] [--workflow-tasks T (workflow tasks each worker takes at once; default the SDK default, 40)] [--workflow-task-timeout D (e.g. 30s; default Temporal default, 10s)] [--latency-ms MS (emulator latency per turn, default 500)] [--max-minutes M (stop waiting, report what finished; default 60)] [--json]',
  );
  process.exit(0);
}
const runs = Number(args.runs);
const latencyMs = Number(args['latency-ms']);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${args.runs}`);
if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error(`--latency-ms must be a number >= 0, got ${args['latency-ms']}`);
const workers = Number(args.workers);
if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a positive integer, got ${args.workers}`);
const workflowTasks = args['workflow-tasks'] === undefined ? undefined : Number(args['workflow-tasks']);
if (workflowTasks !== undefined && !(Number.isInteger(workflowTasks) && workflowTasks >= 2)) throw new Error(`--workflow-tasks must be an integer >= 2, got ${args['workflow-tasks']}`);
const workflowTaskTimeout = args['workflow-task-timeout'];
if (workflowTaskTimeout !== undefined && !/^\d+(ms|s|m)$/.test(workflowTaskTimeout)) throw new Error(`--workflow-task-timeout must be a duration like 30s, got ${workflowTaskTimeout}`);
const maxMs = Number(args['max-minutes']) * 60_000;
if (!(maxMs > 0)) throw new Error(`--max-minutes must be a positive number, got ${args['max-minutes']}`);

const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
// The processes whose memory is the kernel's: the services and every worker (the emulator stands in for the model).
const services = ['scheduler', 'tool-gateway', 'access', 'graph', 'model-gateway'] as const;
const workerNames = Array.from({ length: workers }, (_, i) => (i === 0 ? 'worker' : `worker-${i + 1}`));

/** RSS in bytes of a process and all its descendants, from /proc (Linux). */
function treeRss(pid: number): number {
  let total = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(/\s+/) : []) total += treeRss(Number(child));
    }
  } catch {
    // The process ended between listing and reading: it holds no memory any more.
  }
  return total;
}

/** Worker processes beyond the launcher's one, by name (worker-2, ...), started from the same entry point. */
const extraWorkers = new Map<string, ManagedProcess>();
const pidOf = (kernel: Kernel, name: string) => (name === 'worker' || !name.startsWith('worker') ? kernel.process(name as 'worker')?.pid : extraWorkers.get(name)?.pid) ?? -1;
const kernelRss = (kernel: Kernel): Record<string, number> => Object.fromEntries([...services, ...workerNames].map((name) => [name, treeRss(pidOf(kernel, name))]));
const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
const mib = (bytes: number) => bytes / 1024 / 1024;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const millis = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

let ps: PrivateStack | undefined;
let kernel: Kernel | undefined;
let supervisor: Supervisor | undefined;
let cleaning: Promise<void> | undefined;
/** Stops everything this benchmark started; the servers and kernel processes would otherwise outlive it. */
const cleanUp = () =>
  (cleaning ??= (async () => {
    supervisor?.stop();
    for (const worker of extraWorkers.values()) await worker.stop();
    await kernel?.stop();
    await ps?.close();
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the kernel and the private stack`);
    void cleanUp().finally(() => process.exit(130));
  });
}
try {
  log(`starting a private stack (NATS :${benchPorts.natsPort}, Temporal :${benchPorts.temporalPort}, Neo4j :${benchPorts.neo4jPort})`);
  // Temporal's dev server with SQLite in WAL mode (see temporal-wal.sh): the default journal gave out at 1000 runs.
  ps = await startPrivateStack(benchPorts, 'bench', { KERNOS_TEMPORAL_BIN: join(repoRoot, 'bench/load/temporal-wal.sh') });
  const emulatorPort = await freePort();
  const taskQueue = 'bench-fleet';
  const logDir = mkdtempSync(join(tmpdir(), 'kernos-bench-logs-'));
  log(`kernel logs in ${logDir}`);
  kernel = await startKernel({
    emulatorPort,
    readyTimeoutMs: 180_000,
    logDir,
    env: {
      ...process.env,
      ...ps.env,
      KERNOS_TASK_QUEUE: taskQueue,
      KERNOS_EMULATOR_LATENCY_MS: String(latencyMs),
      KERNOS_EMULATOR_LATENCY_SIGMA: '0',
      // The model is not the bottleneck under test: every turn may run at once, at an unlimited token rate.
      KERNOS_EMULATOR_MAX_CONCURRENT: String(Math.max(16, runs * 2)),
      KERNOS_EMULATOR_TOKENS_PER_SECOND: '0',
      KERNOS_ENDPOINTS: JSON.stringify([{ name: 'default', baseUrl: `http://127.0.0.1:${emulatorPort}/v1`, model: 'kernos-emu-small', maxConcurrent: Math.max(16, runs * 2) }]),
      ...(workflowTasks === undefined ? {} : { KERNOS_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: String(workflowTasks) }),
    },
  });
  // More workers on the same task queue, as the chart's HPA would add pods: same entry point, same environment.
  const startWorker = async (name: string) => {
    const started = await startProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, 'workflows/src/main.ts')],
      cwd: repoRoot,
      env: { ...process.env, ...kernel!.env },
      logFile: join(logDir, `${name}.log`),
      readyWhen: /\bready\b/i,
      readyTimeoutMs: 180_000,
    });
    extraWorkers.set(name, started);
    return started;
  };
  await Promise.all(workerNames.slice(1).map(startWorker));
  supervisor = superviseProcesses(
    [
      ...kernelProcessNames.map((name) => ({ name, current: () => kernel!.process(name), start: () => kernel!.start(name), logFile: join(logDir, `${name}.log`) })),
      ...workerNames.slice(1).map((name) => ({ name, current: () => extraWorkers.get(name), start: () => startWorker(name), logFile: join(logDir, `${name}.log`) })),
    ],
    { onEvent: log },
  );
  await new Promise((r) => setTimeout(r, 2_000));
  const idle = kernelRss(kernel);
  log(`kernel up; idle RSS ${mib(sum(Object.values(idle))).toFixed(0)} MiB; starting ${runs} runs at once (model latency ${latencyMs} ms)`);

  let peak = { ...idle };
  const sampler = setInterval(() => {
    const now = kernelRss(kernel!);
    if (sum(Object.values(now)) > sum(Object.values(peak))) peak = now;
  }, 250);

  const tag = `bench-${Date.now().toString(36)}`;
  const started = Date.now();
  const fleet = await startFleet(ps.temporal, taskQueue, tag, runs, 50, workflowTaskTimeout);
  let done = 0;
  const progress = setInterval(() => log(`${done}/${runs} runs done`), 10_000);
  const loads: number[] = [];
  const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 5_000);
  let timer: NodeJS.Timeout | undefined;
  const allDone = Promise.all(fleet.map((run) => run.handle.result().then(() => (done += 1), () => (done += 1))));
  const outcome = await Promise.race([allDone.then(() => 'done' as const), new Promise<'cut'>((r) => (timer = setTimeout(() => r('cut'), maxMs)))]);
  clearTimeout(timer);
  clearInterval(loadSampler);
  const wallMs = Date.now() - started;
  if (outcome === 'cut') {
    // Out of time: what finished is measured; the rest is terminated so the audit below sees every run settle.
    log(`--max-minutes reached with ${done}/${runs} done; terminating the rest`);
    await Promise.all(fleet.map((run) => run.handle.terminate('benchmark time limit').catch(() => undefined)));
  }
  clearInterval(progress);
  clearInterval(sampler);
  log(`all ${runs} runs finished in ${(wallMs / 1000).toFixed(1)} s; reading back histories and Neo4j`);

  // Audit in batches: the same "nothing lost, nothing twice" check the fault tests make, plus the turn timings.
  const audits = [];
  const overheadMs: number[] = [];
  const slotWaitMs: number[] = [];
  const fromRequestMs: number[] = [];
  const timelines: ReturnType<typeof runTimeline>[] = [];
  for (let i = 0; i < fleet.length; i += 50) {
    const batch = fleet.slice(i, i + 50);
    audits.push(...(await auditFleet(ps.temporal, ps.neo4j, batch)));
    await Promise.all(
      batch.map(async (run) => {
        const events = (await run.handle.fetchHistory()).events ?? [];
        timelines.push(runTimeline(events));
        const scheduled = new Map<string, number>();
        const startedAt = new Map<string, number>();
        const requestedAt = new Map<string, number>();
        let leaseRequested = NaN;
        for (const e of events) {
          const id = String(e.eventId);
          const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
          // Runs from before the turn queued itself asked with a separate requestLease activity first.
          if (type === 'requestLease') leaseRequested = millis(e.eventTime);
          if (type === 'llmTurn') {
            scheduled.set(id, millis(e.eventTime));
            // A second llmTurn after a queued first one: the request was the first one's scheduling.
            requestedAt.set(id, Number.isFinite(leaseRequested) ? leaseRequested : millis(e.eventTime));
            leaseRequested = NaN;
          }
          const s = e.activityTaskStartedEventAttributes;
          if (s && scheduled.has(String(s.scheduledEventId))) startedAt.set(String(s.scheduledEventId), millis(e.eventTime));
          const c = e.activityTaskCompletedEventAttributes;
          if (c && scheduled.has(String(c.scheduledEventId))) {
            const key = String(c.scheduledEventId);
            if (notAdmitted(c.result?.payloads?.[0]?.data)) {
              // The turn was queued, not run: the llmTurn that runs it after the grant counts from this request.
              leaseRequested = scheduled.get(key)!;
              scheduled.delete(key);
              continue;
            }
            overheadMs.push(millis(e.eventTime) - scheduled.get(key)! - latencyMs);
            slotWaitMs.push((startedAt.get(key) ?? scheduled.get(key)!) - scheduled.get(key)!);
            // The whole turn as the workflow sees it: from asking the scheduler for a lease to the answer.
            if (Number.isFinite(requestedAt.get(key))) fromRequestMs.push(millis(e.eventTime) - requestedAt.get(key)! - latencyMs);
          }
        }
      }),
    );
  }
  const completed = audits.filter((a) => a.result && !a.error);
  const exactlyOnce = audits.filter((a) => a.completions === 1 && a.executions === 1 && a.facts === 1 && a.episodes === 1 && a.asserted === 1);
  const turns = sum(completed.map((a) => a.result!.turns));
  overheadMs.sort((a, b) => a - b);
  slotWaitMs.sort((a, b) => a - b);
  fromRequestMs.sort((a, b) => a - b);
  const peakTotal = sum(Object.values(peak));
  const idleTotal = sum(Object.values(idle));

  const report = {
    runs,
    workers,
    workflowTasksPerWorker: workflowTasks ?? 40,
    workflowTaskTimeout: workflowTaskTimeout ?? '10s',
    completed: completed.length,
    exactlyOnce: exactlyOnce.length,
    failed: audits.filter((a) => a.error).map((a) => `${a.workflowId}: ${a.error}`).slice(0, 5),
    modelLatencyMs: latencyMs,
    cutAtMaxMinutes: outcome === 'cut',
    machine: { cores: availableParallelism(), loadAverage1m: { mean: Number((sum(loads) / Math.max(1, loads.length)).toFixed(1)), max: Math.max(0, ...loads) } },
    wallSeconds: wallMs / 1000,
    runsPerSecond: completed.length / (wallMs / 1000),
    turns,
    turnsPerSecond: turns / (wallMs / 1000),
    memory: {
      idleMiB: Object.fromEntries(Object.entries(idle).map(([k, v]) => [k, Math.round(mib(v))])),
      peakMiB: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round(mib(v))])),
      peakTotalMiB: Math.round(mib(peakTotal)),
      perRunKiB: Math.round(peakTotal / runs / 1024),
      growthPerRunKiB: Math.round((peakTotal - idleTotal) / runs / 1024),
    },
    kernelOverheadPerTurnMs: {
      p50: Math.round(percentile(overheadMs, 50)),
      p90: Math.round(percentile(overheadMs, 90)),
      p99: Math.round(percentile(overheadMs, 99)),
      max: Math.round(overheadMs.at(-1) ?? NaN),
      workerSlotWaitP99: Math.round(percentile(slotWaitMs, 99)),
      /** From the lease request (enqueue, grant signal, workflow tasks) to the answer, minus the model's latency. */
      fromLeaseRequest: { p50: Math.round(percentile(fromRequestMs, 50)), p99: Math.round(percentile(fromRequestMs, 99)), max: Math.round(fromRequestMs.at(-1) ?? NaN) },
    },
    timeShares: summariseTimelines(timelines).map((p) => ({ ...p, share: Number(p.share.toFixed(3)) })),
    restarts: supervisor.restarts.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
  };
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`runs ${report.completed}/${runs} completed${report.cutAtMaxMinutes ? ' (cut at --max-minutes)' : ''}, ${report.exactlyOnce} exactly once (1 completion, 1 fact); model latency ${latencyMs} ms/turn`);
    console.log(`workers ${workers}, each taking ${report.workflowTasksPerWorker} workflow tasks at once; workflow task timeout ${report.workflowTaskTimeout}`);
    console.log(`machine: ${report.machine.cores} cores, 1-min load average mean ${report.machine.loadAverage1m.mean} (max ${report.machine.loadAverage1m.max.toFixed(1)})`);
    console.log(`throughput ${report.runsPerSecond.toFixed(2)} runs/s, ${report.turnsPerSecond.toFixed(2)} turns/s (${report.wallSeconds.toFixed(1)} s wall)`);
    console.log(`memory peak ${report.memory.peakTotalMiB} MiB (idle ${Math.round(mib(idleTotal))} MiB): ${report.memory.perRunKiB} KiB/run, growth ${report.memory.growthPerRunKiB} KiB/run`);
    console.log(`  peak by process (MiB): ${JSON.stringify(report.memory.peakMiB)}`);
    const o = report.kernelOverheadPerTurnMs;
    console.log(`kernel overhead per turn (ms): p50 ${o.p50}, p90 ${o.p90}, p99 ${o.p99}, max ${o.max}; of which waiting for a worker slot, p99 ${o.workerSlotWaitP99}`);
    console.log(`  from the lease request to the answer, minus the model (ms): p50 ${o.fromLeaseRequest.p50}, p99 ${o.fromLeaseRequest.p99}, max ${o.fromLeaseRequest.max}`);
    console.log('where the runs\' time went (share of all wall time; per occurrence p50/p99 ms):');
    for (const p of report.timeShares) console.log(`  ${p.part.padEnd(26)} ${(p.share * 100).toFixed(1).padStart(5)}%  n=${p.count}  p50 ${p.p50}  p99 ${p.p99}`);
    console.log(`restarts: ${report.restarts.length === 0 ? 'none' : report.restarts.map((r) => `${r.name} exited (${r.exit}) at ${r.at}, log ${r.savedLog ?? '-'}`).join('; ')}`);
    if (report.failed.length > 0) console.log(`failures (first 5): ${report.failed.join('; ')}`);
  }
  // Exactly once is required of every run that completed; a cut run is not a failure of the kernel.
  process.exitCode = exactlyOnce.length === completed.length && (completed.length === runs || outcome === 'cut') ? 0 : 1;
} finally {
  await cleanUp();
}

/** Whether an llmTurn's result (a JSON payload) says it queued the turn without running it (`admitted: false`). */
function notAdmitted(data: Uint8Array | null | undefined): boolean {
  if (!data) return false;
  try {
    return (JSON.parse(Buffer.from(data).toString('utf8')) as { admitted?: unknown }).admitted === false;
  } catch {
    return false;
  }
}
