import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Connection } from '@temporalio/client';
import { z } from 'zod';
import { KernosError, toKernosError } from '@kernos/errors';
import { agentInputFor, parseJobDocuments, runOptionsOf, type AgentInputDoc } from './job.js';
import type { Operator, RunDetail, RunSummary } from './operator.js';

export const usage = `kernos — operate a Kernos fleet

usage: kernos <command> [options]            every command takes --json (machine-readable output)

  up | down | status                     start, stop or check the dev stack (nats-server, Temporal, Neo4j)
  run -f job.yaml [--goal text] [--id run] [--wait]
                                         start an agent run of a job (--wait: until it ends, print the answer)
  ps [--status running|completed|failed|cancelled] [--job name] [--type workflow] [--limit n]
                                         list runs (from Temporal visibility)
  describe <run>                         status, controls, turns, tool calls, access decisions, tokens
  logs <run> [--follow]                  the run's progress lines (--follow: until it ends)
  pause <run> [--reason text] | resume <run>
                                         hold / release a run at its next turn boundary
  cancel <run> [--reason text] [--hard]  stop at the next turn boundary (--hard: Temporal cancellation)
  approvals [--run id] [--all]           pending approvals held by services/access (--all: decided ones too)
  approve <approval-id> [--reason text] [--as who] | deny <approval-id> ...
                                         decide an approval held by services/access, as --as (default $KERNOS_OPERATOR)
  approve <run> [approval-id] ...        decide an approval a run holds itself (workflow update)
  apply -f job.yaml                      validate job documents and register them with the scheduler's jobs registry
                                         (when none answers: validated only, and it says so)
  audit verify --run <id> | --job <id> | --tenant <id> [--stream AUDIT]
                                         check the audit hash chain of runs

environment: KERNOS_TEMPORAL_ADDRESS (127.0.0.1:7233), KERNOS_TEMPORAL_NAMESPACE (default),
             KERNOS_TASK_QUEUE (kernos-agents), KERNOS_NATS_URL (nats://127.0.0.1:4222), KERNOS_OPERATOR (who decides)
exit codes: 0 ok, 1 failed (a run failed, a chain is broken), 2 bad usage or input, 3 a server is unreachable`;

/** What the CLI reads and writes; main.ts passes the real process, tests pass buffers. */
export interface CliIo {
  env: Record<string, string | undefined>;
  out(line: string): void;
  err(line: string): void;
}

const envSchema = z.object({
  KERNOS_TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  KERNOS_TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  KERNOS_TASK_QUEUE: z.string().min(1).default('kernos-agents'),
  KERNOS_NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  KERNOS_NATS_USER: z.string().optional(),
  KERNOS_NATS_PASSWORD: z.string().optional(),
  KERNOS_OPERATOR: z.string().min(1).optional(),
  USER: z.string().optional(),
});

const options = {
  json: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  goal: { type: 'string' },
  id: { type: 'string' },
  wait: { type: 'boolean' },
  status: { type: 'string' },
  job: { type: 'string' },
  tenant: { type: 'string' },
  run: { type: 'string' },
  all: { type: 'boolean' },
  stream: { type: 'string' },
  type: { type: 'string' },
  limit: { type: 'string' },
  follow: { type: 'boolean' },
  reason: { type: 'string' },
  hard: { type: 'boolean' },
  as: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs one CLI command; resolves with the exit code. Never throws: every failure becomes a message and a code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    json = parsed.values.json === true;
    const [command, ...rest] = parsed.positionals;
    if (parsed.values.help || command === undefined || command === 'help') {
      io.out(usage);
      return command === undefined && !parsed.values.help ? 2 : 0;
    }
    const env = envSchema.parse(io.env);
    const ctx = new Context(io, env, json, parsed.values);
    try {
      return await dispatch(ctx, command, rest);
    } finally {
      await ctx.close();
    }
  } catch (thrown) {
    return report(io, json, thrown);
  }
}

type Values = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string };

class Context {
  #connection: Connection | undefined;
  #operator: Operator | undefined;
  #kernel: Awaited<ReturnType<typeof kernel>> | undefined;
  #kernelTried = false;
  constructor(
    readonly io: CliIo,
    readonly env: z.output<typeof envSchema>,
    readonly json: boolean,
    readonly values: Values,
  ) {}

  /**
   * The operator over Temporal; with `withKernel`, also connected to NATS so pause/resume can fall back to the
   * scheduler's controls for workflows without a pause signal (NATS unreachable: signals only).
   */
  async operator(withKernel = false): Promise<Operator> {
    if (withKernel && !this.#kernelTried) {
      this.#kernelTried = true;
      this.#operator = undefined;
      this.#kernel = await kernel(this).catch(() => undefined);
    }
    if (!this.#operator) {
      // Loaded on first use: the Temporal client takes a second to load, which --help, apply and audit never need.
      const [{ Client, Connection }, { createOperator }] = await Promise.all([import('@temporalio/client'), import('./operator.js')]);
      try {
        this.#connection ??= await Connection.connect({ address: this.env.KERNOS_TEMPORAL_ADDRESS, connectTimeout: 5_000 });
      } catch (error) {
        throw new KernosError('unavailable', `cannot reach Temporal at ${this.env.KERNOS_TEMPORAL_ADDRESS} (is the stack up? kernos up): ${(error as Error).message}`);
      }
      const client = new Client({ connection: this.#connection, namespace: this.env.KERNOS_TEMPORAL_NAMESPACE });
      this.#operator = createOperator(client, { taskQueue: this.env.KERNOS_TASK_QUEUE, ...(this.#kernel ? { kernel: this.#kernel.client } : {}) });
    }
    return this.#operator;
  }

  /** Prints a result: the JSON value with --json, else the readable lines. */
  print(value: unknown, lines: () => string[]): void {
    if (this.json) this.io.out(JSON.stringify(value, null, 2));
    else for (const line of lines()) this.io.out(line);
  }

  progress(line: string): void {
    // Progress goes to stderr so `--json` output on stdout stays parseable.
    this.io.err(line);
  }

  async close(): Promise<void> {
    await this.#connection?.close();
    await this.#kernel?.nc.close();
  }
}

function needRun(rest: string[], command: string): string {
  const runId = rest[0];
  if (!runId) throw new KernosError('invalid_argument', `${command}: give the run id, e.g. kernos ${command} <run> (list runs with: kernos ps)`);
  return runId;
}

function operatorName(ctx: Context): string {
  return ctx.values.as ?? ctx.env.KERNOS_OPERATOR ?? ctx.env.USER ?? 'operator';
}

async function dispatch(ctx: Context, command: string, rest: string[]): Promise<number> {
  switch (command) {
    case 'up':
    case 'down':
    case 'status':
      return stack(ctx, command);
    case 'apply':
      return apply(ctx);
    case 'run':
      return run(ctx);
    case 'ps':
      return ps(ctx);
    case 'describe':
      return describe(ctx, needRun(rest, command));
    case 'logs':
      return logs(ctx, needRun(rest, command));
    case 'pause': {
      const runId = needRun(rest, command);
      const via = await (await ctx.operator(true)).pause(runId, ctx.values.reason);
      ctx.print({ runId, action: 'pause', via, ok: true }, () => [
        via === 'signal'
          ? `pausing ${runId} at its next turn boundary (a turn in flight finishes first)`
          : `holding ${runId} at the scheduler: its next turns wait for a lease until resumed (its workflow has no pause signal)`,
      ]);
      return 0;
    }
    case 'resume': {
      const runId = needRun(rest, command);
      const via = await (await ctx.operator(true)).resume(runId);
      ctx.print({ runId, action: 'resume', via, ok: true }, () => [via === 'signal' ? `resumed ${runId}` : `released ${runId} at the scheduler`]);
      return 0;
    }
    case 'cancel': {
      const runId = needRun(rest, command);
      const how = await (await ctx.operator()).cancel(runId, { ...(ctx.values.reason ? { reason: ctx.values.reason } : {}), hard: ctx.values.hard === true });
      ctx.print({ runId, action: 'cancel', via: how, ok: true }, () => [
        how === 'signal' ? `cancelling ${runId} at its next turn boundary (it keeps what it did)` : `requested Temporal cancellation of ${runId}`,
      ]);
      return 0;
    }
    case 'approvals':
      return listApprovals(ctx);
    case 'approve':
    case 'deny':
      return decide(ctx, command, needRun(rest, command), rest[1]);
    case 'audit':
      return auditCommand(ctx, rest);
    default:
      throw new KernosError('invalid_argument', `unknown command "${command}"; run kernos --help`);
  }
}

async function stack(ctx: Context, command: 'up' | 'down' | 'status'): Promise<number> {
  // Loaded on demand: the stack code pulls in process management the other commands never need.
  const devstack = await import('@kernos/devstack');
  if (command === 'up') {
    ctx.progress('starting the dev stack (nats-server, Temporal, Neo4j); the first start takes a while...');
    const began = Date.now();
    const running = await devstack.startStack({ detached: true });
    ctx.print({ endpoints: running.endpoints, env: devstack.stackEnv(running.endpoints), started: running.started }, () => [
      `kernos stack is up in ${((Date.now() - began) / 1000).toFixed(1)}s${running.started.length > 0 ? ` (started ${running.started.join(', ')})` : ' (all reused)'}`,
      `  NATS      ${running.endpoints.natsUrl}`,
      `  Temporal  ${running.endpoints.temporalAddress} (namespace ${running.endpoints.temporalNamespace})`,
      `  Neo4j     ${running.endpoints.neo4jUri}`,
    ]);
    return 0;
  }
  if (command === 'down') {
    const stopped = await devstack.stopStack();
    ctx.print({ stopped }, () => [stopped.length > 0 ? `kernos stack stopped (${stopped.join(', ')})` : 'kernos: no stack was running']);
    return 0;
  }
  const status = await devstack.stackStatus();
  const healthy = status !== null && status.servers.length > 0 && status.servers.every((s) => s.healthy);
  ctx.print({ healthy, servers: status?.servers ?? [] }, () =>
    status
      ? status.servers.map((s) => `${s.name.padEnd(9)} ${(s.healthy ? 'healthy' : s.running ? 'UNHEALTHY' : 'NOT RUNNING').padEnd(12)} port ${s.port}`)
      : ['kernos: no stack recorded; start one with: kernos up'],
  );
  return healthy ? 0 : 1;
}

async function readJobs(ctx: Context) {
  const file = ctx.values.file;
  if (!file) throw new KernosError('invalid_argument', '-f: give a job document, e.g. -f job.yaml');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new KernosError('invalid_argument', `-f: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseJobDocuments(text, file);
}

async function apply(ctx: Context): Promise<number> {
  const jobs = await readJobs(ctx);
  const registered = await applyToRegistry(ctx, jobs);
  if (registered) {
    ctx.print({ jobs: registered, applied: true }, () => registered.map((j) => `job ${j.tenant}/${j.name}: ${j.outcome} (generation ${j.generation}${j.scheduleId ? `, schedule ${j.scheduleId}` : ''})`));
    return 0;
  }
  // The scheduler owns the jobs registry (synced to Temporal Schedules). When none answers, apply only validates,
  // and says so: a job that looks applied but is not would be worse than an honest "not applied".
  const summary = jobs.map((job) => ({
    name: job.metadata.name,
    tenant: job.metadata.tenant,
    workflow: job.spec.workflow,
    schedule: job.spec.schedule ?? null,
    riskLevel: job.spec.governance.riskLevel,
    humanOversight: job.spec.governance.humanOversight,
    valid: true,
    applied: false,
  }));
  ctx.print({ jobs: summary, applied: false, reason: 'no jobs registry answered (kernos.scheduler.applyJob); documents validated only' }, () => [
    ...summary.map((j) => `job ${j.tenant}/${j.name}: valid (${j.workflow}, risk ${j.riskLevel}, oversight ${j.humanOversight}${j.schedule ? `, schedule ${j.schedule}` : ''})`),
    'not applied: no jobs registry answered on kernos.scheduler.applyJob; start runs with: kernos run -f <file>',
  ]);
  return 0;
}

/**
 * Registers the jobs with the scheduler's jobs registry (kernos.scheduler.applyJob). Undefined when no registry
 * answers (NATS down, or a scheduler without one): the documents were validated, and apply says they are not applied.
 */
async function applyToRegistry(ctx: Context, jobs: Awaited<ReturnType<typeof readJobs>>) {
  const { contracts } = await import('@kernos/wire');
  const connected = await kernel(ctx).catch(() => undefined);
  if (!connected) return undefined;
  try {
    const out = [];
    for (const job of jobs) {
      const reply = await connected.client.call(contracts.scheduler.applyJob, { documentJson: JSON.stringify(job) });
      out.push({
        name: job.metadata.name,
        tenant: job.metadata.tenant,
        outcome: reply.outcome,
        generation: Number(reply.job?.generation ?? 0),
        scheduleId: reply.job?.scheduleId ?? '',
        valid: true,
        applied: true,
      });
    }
    return out;
  } catch (error) {
    if (toKernosError(error).code === 'unavailable') return undefined;
    throw error;
  } finally {
    await connected.nc.close();
  }
}

async function run(ctx: Context): Promise<number> {
  const jobs = await readJobs(ctx);
  if (jobs.length !== 1) throw new KernosError('invalid_argument', `-f: run takes one job document, ${ctx.values.file} has ${jobs.length}`);
  const job = jobs[0]!;
  const input: AgentInputDoc = agentInputFor(job, ctx.values.goal ? { goal: ctx.values.goal } : {});
  const operator = await ctx.operator();
  // The job's run timeout, deadline and turn timeout are enforced on this run as on its scheduled ones.
  const { workflowExecutionTimeoutMs, memo } = runOptionsOf(job);
  const started = await operator.startRun({ input, workflowType: job.spec.workflow, workflowExecutionTimeoutMs, memo, ...(ctx.values.id ? { runId: ctx.values.id } : {}) });
  if (!ctx.values.wait) {
    ctx.print({ ...started, jobId: input.jobId, status: 'RUNNING' }, () => [`started run ${started.runId} of job ${input.jobId}`, `  follow it: kernos logs ${started.runId} --follow`]);
    return 0;
  }
  ctx.progress(`started run ${started.runId} of job ${input.jobId}; waiting for it to end...`);
  await followProgress(ctx, operator, started.runId, (line) => ctx.progress(line));
  const detail = await operator.describeRun(started.runId);
  ctx.print(detail, () => [`run ${detail.runId}: ${detail.board}`, ...(detail.result ? [`  answer: ${String(detail.result.answer ?? '')}`] : []), ...(detail.failure ? [`  failure: ${detail.failure}`] : [])]);
  return detail.board === 'done' ? 0 : 1;
}

async function ps(ctx: Context): Promise<number> {
  const limit = ctx.values.limit === undefined ? 20 : Number(ctx.values.limit);
  if (!Number.isInteger(limit) || limit <= 0) throw new KernosError('invalid_argument', `--limit: expected a positive integer, got "${ctx.values.limit}"`);
  const runs = await (await ctx.operator()).listRuns({
    limit,
    ...(ctx.values.status ? { status: ctx.values.status } : {}),
    ...(ctx.values.job ? { jobId: ctx.values.job } : {}),
    ...(ctx.values.type ? { workflowType: ctx.values.type } : {}),
  });
  ctx.print(runs, () => (runs.length === 0 ? ['no runs'] : table(runs)));
  return 0;
}

function table(runs: RunSummary[]): string[] {
  const rows = runs.map((r) => [r.runId, r.status, r.jobId || '-', r.workflowType, r.startTime.replace('T', ' ').slice(0, 19)]);
  const head = ['RUN', 'STATUS', 'JOB', 'WORKFLOW', 'STARTED'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}

async function describe(ctx: Context, runId: string): Promise<number> {
  const detail = await (await ctx.operator()).describeRun(runId);
  ctx.print(detail, () => describeLines(detail));
  return 0;
}

export function describeLines(d: RunDetail): string[] {
  const tokens = d.result ? `${String(d.result.inputTokens ?? 0)} in + ${String(d.result.outputTokens ?? 0)} out` : 'n/a';
  const controls = [d.controls.pause && 'pause', d.controls.resume && 'resume', d.controls.cancelSignal ? 'cancel (at turn boundary)' : 'cancel (Temporal)', d.controls.approvals && 'approve/deny']
    .filter(Boolean)
    .join(', ');
  return [
    `run       ${d.runId} (${d.workflowType}, temporal run ${d.temporalRunId})`,
    `status    ${d.board} (Temporal ${d.status})${d.state?.reason ? `: ${d.state.reason}` : ''}`,
    `job       ${d.jobId || '-'}${d.tenant ? ` (tenant ${d.tenant})` : ''}${d.agentId ? `, agent ${d.agentId}` : ''}`,
    `started   ${d.startTime}${d.closeTime ? `, closed ${d.closeTime}` : ''}`,
    `controls  ${controls}`,
    `tokens    ${tokens}`,
    ...(d.result ? [`turns     ${String(d.result.turns ?? '?')}, tool calls ${String(d.result.toolCalls ?? '?')}`, `answer    ${String(d.result.answer ?? '')}`] : []),
    ...(d.failure ? [`failure   ${d.failure}`] : []),
    ...(d.pendingActivities.length > 0 ? [`pending   ${d.pendingActivities.map((a) => `${a.type} (attempt ${a.attempt})`).join(', ')}`] : []),
    ...(d.approvals.length > 0 ? ['approvals', ...d.approvals.map((a) => `  ${a.id}  ${a.action} ${a.resource}: ${a.reason} (approver ${a.approver})`)] : []),
    ...(d.progress.length > 0 ? ['progress', ...d.progress.map(progressLine)] : []),
  ];
}

function progressLine(p: { at: number; service: string; message: string }): string {
  return `  ${new Date(p.at).toISOString().slice(11, 23)}  ${p.service.padEnd(12)} ${p.message}`;
}

async function followProgress(ctx: Context, operator: Operator, runId: string, emit: (line: string) => void): Promise<void> {
  let seen = 0;
  for (;;) {
    const detail = await operator.describeRun(runId);
    for (const p of detail.progress.slice(seen)) emit(progressLine(p));
    seen = Math.max(seen, detail.progress.length);
    if (detail.status !== 'RUNNING') return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function logs(ctx: Context, runId: string): Promise<number> {
  const operator = await ctx.operator();
  if (ctx.values.follow) {
    await followProgress(ctx, operator, runId, (line) => (ctx.json ? undefined : ctx.io.out(line)));
  }
  const detail = await operator.describeRun(runId);
  ctx.print(detail.progress, () => (ctx.values.follow ? [`run ${runId} ended: ${detail.board}`] : detail.progress.length > 0 ? detail.progress.map(progressLine) : detail.queryError ? [`run ${runId}: its progress could not be read: ${detail.queryError}`] : [`run ${runId} has no progress lines yet`]));
  return 0;
}

/** A kernel client on NATS for the commands that talk to kernel services; closed by the caller. */
async function kernel(ctx: Context) {
  const [{ connectNats, createKernelClient }, { trace }] = await Promise.all([import('@kernos/service-kit'), import('@opentelemetry/api')]);
  const nc = await connectNats({
    url: ctx.env.KERNOS_NATS_URL,
    name: 'kernos-cli',
    ...(ctx.env.KERNOS_NATS_USER ? { user: ctx.env.KERNOS_NATS_USER, pass: ctx.env.KERNOS_NATS_PASSWORD ?? '' } : {}),
  });
  return { nc, client: createKernelClient(nc, trace.getTracer('kernos.cli')) };
}

const approvalStatus = ['unspecified', 'pending', 'approved', 'denied', 'expired'];

async function listApprovals(ctx: Context): Promise<number> {
  const { contracts } = await import('@kernos/wire');
  const { nc, client } = await kernel(ctx);
  try {
    const reply = await client.call(contracts.access.approvals, {
      ...(ctx.values.run ? { runId: ctx.values.run } : {}),
      ...(ctx.values.all ? { statuses: [1, 2, 3, 4] } : {}),
    });
    const list = reply.approvals.map((a) => ({
      id: a.id,
      runId: a.ref?.runId ?? '',
      jobId: a.ref?.jobId ?? '',
      action: a.action,
      resource: a.resource,
      reason: a.reason,
      approver: a.approver,
      status: approvalStatus[a.status] ?? 'unknown',
      decidedBy: a.decidedBy,
      comment: a.comment,
    }));
    ctx.print(list, () => (list.length === 0 ? ['no approvals'] : list.map((a) => `${a.id}  ${a.status.padEnd(8)} run ${a.runId}  ${a.action} ${a.resource}  approver ${a.approver}${a.decidedBy ? `  decided by ${a.decidedBy}` : ''}`)));
    return 0;
  } finally {
    await nc.close();
  }
}

async function decide(ctx: Context, command: 'approve' | 'deny', id: string, runApprovalId: string | undefined): Promise<number> {
  if (runApprovalId === undefined) {
    // First as an approval held by services/access; a "no such approval" there means the id names a run instead.
    const decided = await decideInAccess(ctx, command, id);
    if (decided !== undefined) return decided;
  }
  return decideInRun(ctx, command, id, runApprovalId);
}

async function decideInAccess(ctx: Context, command: 'approve' | 'deny', approvalId: string): Promise<number | undefined> {
  const { contracts } = await import('@kernos/wire');
  let connected;
  try {
    connected = await kernel(ctx);
  } catch {
    return undefined;
  }
  try {
    const reply = await connected.client.call(contracts.access.decide, {
      approvalId,
      approver: operatorName(ctx),
      approve: command === 'approve',
      comment: ctx.values.reason ?? '',
    });
    const a = reply.approval;
    ctx.print({ approvalId, runId: a?.ref?.runId ?? '', approved: command === 'approve', status: approvalStatus[a?.status ?? 0] }, () => [
      `${command === 'approve' ? 'approved' : 'denied'} ${approvalId} (run ${a?.ref?.runId ?? '?'}) as ${operatorName(ctx)}`,
    ]);
    return 0;
  } catch (error) {
    const code = toKernosError(error).code;
    if (code === 'not_found' || code === 'unavailable') return undefined;
    throw error;
  } finally {
    await connected.nc.close();
  }
}

async function decideInRun(ctx: Context, command: 'approve' | 'deny', runId: string, approvalId: string | undefined): Promise<number> {
  const operator = await ctx.operator();
  let id = approvalId;
  if (!id) {
    const detail = await operator.describeRun(runId);
    if (detail.approvals.length !== 1) {
      throw new KernosError(
        'invalid_argument',
        detail.approvals.length === 0
          ? `run ${runId} has no pending approval`
          : `run ${runId} has ${detail.approvals.length} pending approvals; name one: ${detail.approvals.map((a) => a.id).join(', ')}`,
      );
    }
    id = detail.approvals[0]!.id;
  }
  const outcome = await operator.decide(runId, { approvalId: id, approved: command === 'approve', decidedBy: operatorName(ctx), ...(ctx.values.reason ? { note: ctx.values.reason } : {}) });
  ctx.print({ runId, approvalId: id, approved: command === 'approve', outcome }, () => [`${command === 'approve' ? 'approved' : 'denied'} ${id} of run ${runId} as ${operatorName(ctx)}`]);
  return 0;
}

async function auditCommand(ctx: Context, rest: string[]): Promise<number> {
  if (rest[0] !== 'verify') throw new KernosError('invalid_argument', `audit: expected "audit verify --run <id>", got "audit ${rest.join(' ')}"`);
  const filter = {
    ...(ctx.values.run ? { runId: ctx.values.run } : {}),
    ...(ctx.values.job ? { jobId: ctx.values.job } : {}),
    ...(ctx.values.tenant ? { tenant: ctx.values.tenant } : {}),
  };
  if (Object.keys(filter).length === 0) throw new KernosError('invalid_argument', 'audit verify: give --run, --job or --tenant');
  const [{ verifyAudit }, { jetstream }] = await Promise.all([import('@kernos/audit'), import('@nats-io/jetstream')]);
  const { nc } = await kernel(ctx);
  try {
    let result;
    try {
      result = await verifyAudit(jetstream(nc), filter, { stream: ctx.values.stream ?? 'AUDIT' });
    } catch (error) {
      if (/stream not found/i.test(String((error as Error).message))) {
        throw new KernosError('unavailable', `no audit stream "${ctx.values.stream ?? 'AUDIT'}" on ${ctx.env.KERNOS_NATS_URL} (services/access creates it)`);
      }
      throw error;
    }
    ctx.print(result, () => [
      result.ok ? `audit chain intact: ${result.records} records in ${result.chains} run chain(s)` : `audit chain BROKEN: ${result.problems.length} problem(s) in ${result.records} records`,
      ...result.problems.map((p) => `  ${p.subject} seq ${p.seq} (stream ${p.streamSeq}): ${p.problem}: ${p.message}`),
      ...(result.records === 0 ? ['  (no records matched: check the ids)'] : []),
    ]);
    return result.ok ? 0 : 1;
  } finally {
    await nc.close();
  }
}

function report(io: CliIo, json: boolean, thrown: unknown): number {
  if (thrown instanceof z.ZodError) {
    const message = thrown.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    if (json) io.out(JSON.stringify({ error: { code: 'invalid_argument', message } }));
    io.err(`kernos: ${message}`);
    return 2;
  }
  const parseError = (thrown as { code?: string })?.code;
  const error =
    typeof parseError === 'string' && parseError.startsWith('ERR_PARSE_ARGS')
      ? new KernosError('invalid_argument', `${(thrown as Error).message}; run kernos --help`)
      : toKernosError(thrown);
  if (json) io.out(JSON.stringify({ error: { code: error.code, message: error.message } }));
  io.err(`kernos: ${error.message}`);
  if (error.code === 'invalid_argument' || error.code === 'not_found') return 2;
  if (error.code === 'unavailable' || error.code === 'timeout') return 3;
  return 1;
}
