/**
 * The Kernos demo: starts (or reuses) the real servers, starts the kernel as separate processes (model emulator,
 * scheduler, tool gateway, access, graph, model gateway, worker, and the cockpit when asked), runs a fleet of the
 * example agents written on @kernos/sdk (triage and research, several tenants, mixed priorities), plays the
 * on-call approver for the decisions they ask for, and prints what each agent does as it happens. Ends with a
 * summary and the fleet's memory read back from the graph.
 */
import { parseArgs } from 'node:util';
import { trace } from '@opentelemetry/api';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { startStack, stackEnv } from '@kernos/devstack';
import { startKernel } from '@kernos/launcher';
import type { AgentState, PendingDecision } from '@kernos/sdk';
import { connectNats, createKernelClient } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import type { ResearchInput, ResearchResult } from '@kernos/workflows/workflows/research';
import type { TriageInput, TriageResult } from '@kernos/workflows/workflows/triage';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '6' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    cockpit: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`usage: npx tsx scripts/demo.ts [--agents N] [--cockpit] [--json] [--keep]
  --agents N  how many agents in the fleet (default 6; 4 or more shows every kind)
  --cockpit   also start the cockpit and print its URL, to watch the fleet in a browser while it runs
  --json      end with one JSON line summarising the runs (for scripts and tests)
  --keep      leave the servers (nats, Temporal, Neo4j) running afterwards
`);
  process.exit(0);
}

const fleetSize = Number(args.agents);
if (!Number.isInteger(fleetSize) || fleetSize < 1 || fleetSize > 200) {
  process.stderr.write(`kernos demo: --agents must be a whole number from 1 to 200, got "${args.agents}"\n`);
  process.exit(2);
}

const color = process.stdout.isTTY ? (code: number, text: string) => `\x1b[${code}m${text}\x1b[0m` : (_: number, text: string) => text;
const say = (line: string) => process.stdout.write(`${line}\n`);

// The person the demo plays: every job names them as approver (the cockpit's default operator is the same person).
const approver = 'lead@example.com';

type Member =
  | { kind: 'triage'; workflowType: 'triageWorkflow'; input: TriageInput; subject: string; expectFact: boolean }
  | { kind: 'research'; workflowType: 'researchWorkflow'; input: ResearchInput; subject: string; expectFact: boolean };

/** The kinds of agent in the fleet; the fleet cycles through them. `n` numbers the agents of one kind. */
const archetypes: Array<(n: number, stamp: string) => Member> = [
  // A critical ticket: the agent asks the approver before escalating (the run waits, holding no worker slot).
  (n, stamp) => {
    const input: TriageInput = {
      tenant: 'acme',
      jobId: `triage-${stamp}`,
      agentId: `triage-${n}`,
      priority: 10,
      ticket: { id: `ACME-${4800 + n}`, title: 'Checkout is down', body: 'Customers see 502 errors on checkout since 09:00.', component: `checkout-${stamp}` },
      tools: ['echo'],
      governance: { riskLevel: 'limited', dataCategories: ['support'], humanOversight: 'none', approver },
      dataCategory: 'support',
      maxTurns: 3,
    };
    return { kind: 'triage', workflowType: 'triageWorkflow', input, subject: input.ticket.component, expectFact: true };
  },
  // Background research at low priority: its turns yield to the triage agents' on a busy endpoint.
  (n, stamp) => {
    const input: ResearchInput = {
      tenant: 'globex',
      jobId: `research-${stamp}`,
      agentId: `research-${n}`,
      priority: 1,
      topic: `gpu-capacity-${stamp}-${n}`,
      questions: ['How much capacity do two extra GPU nodes add?', 'What does that cost per month?'],
      tools: ['get-sum', 'echo'],
      governance: { riskLevel: 'minimal', dataCategories: ['internal'], humanOversight: 'none', approver },
      dataCategory: 'internal',
      maxTurnsPerQuestion: 2,
    };
    return { kind: 'research', workflowType: 'researchWorkflow', input, subject: input.topic, expectFact: true };
  },
  // A routine ticket of another tenant: no escalation, and it recalls what earlier triage of its component found.
  (n, stamp) => {
    const input: TriageInput = {
      tenant: 'initech',
      jobId: `helpdesk-${stamp}`,
      agentId: `helpdesk-${n}`,
      priority: 5,
      ticket: { id: `INI-${120 + n}`, title: 'Password reset mail arrives late', body: 'Users wait ten minutes for the reset link.', component: `mailer-${stamp}` },
      tools: ['echo'],
      governance: { riskLevel: 'limited', dataCategories: ['support'], humanOversight: 'none', approver },
      dataCategory: 'support',
      maxTurns: 3,
    };
    return { kind: 'triage', workflowType: 'triageWorkflow', input, subject: input.ticket.component, expectFact: true };
  },
  // A research agent that wants to publish under a category its job was not granted: services/access denies the
  // write (and the read), and the demo shows it. It also asks the approver before publishing.
  (n, stamp) => {
    const input: ResearchInput = {
      tenant: 'initech',
      jobId: `compliance-${stamp}`,
      agentId: `compliance-${n}`,
      priority: 5,
      topic: `patient-intake-${stamp}-${n}`,
      questions: ['Summarise patient intake form.'],
      tools: ['echo'],
      governance: { riskLevel: 'high', dataCategories: ['public'], humanOversight: 'none', approver },
      dataCategory: 'health',
      maxTurnsPerQuestion: 2,
      publishNeedsApproval: true,
    };
    return { kind: 'research', workflowType: 'researchWorkflow', input, subject: input.topic, expectFact: false };
  },
];

/** One line of the JSON summary (the demo's integration test reads it). */
interface RunSummary {
  agentId: string;
  kind: Member['kind'];
  tenant: string;
  priority: number;
  runId: string;
  ok: boolean;
  status: string;
  subject: string;
  /** The fact the run wrote to the graph, or "" when it wrote none. */
  factId: string;
  turns: number;
  toolCalls: number;
  /** Decisions the demo's approver took for this run (escalation, publication). */
  decisions: number;
  escalation?: TriageResult['escalation'];
  published?: ResearchResult['published'];
}

const started = Date.now();
const stamp = new Date(started).toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
say(color(1, `Kernos demo: a fleet of ${fleetSize} agents`));
say('starting servers (nats-server, Temporal dev server, Neo4j) ...');
const stack = await startStack({ reuse: true });
const env = stackEnv(stack.endpoints);
say(`  nats ${stack.endpoints.natsUrl}  temporal ${stack.endpoints.temporalAddress}  neo4j ${stack.endpoints.neo4jUri}`);
say(`starting the kernel (model emulator, scheduler, tool-gateway, access, graph, model-gateway, worker${args.cockpit ? ', cockpit' : ''}) ...`);
const kernel = await startKernel({
  env: {
    ...env,
    // The emulator answers like a real endpoint: some latency, limited concurrency, so queueing is visible.
    KERNOS_EMULATOR_LATENCY_MS: process.env.KERNOS_EMULATOR_LATENCY_MS ?? '150',
    KERNOS_EMULATOR_MAX_CONCURRENT: process.env.KERNOS_EMULATOR_MAX_CONCURRENT ?? '4',
    KERNOS_EMULATOR_SEED: process.env.KERNOS_EMULATOR_SEED ?? '7',
  },
  ...(args.cockpit ? { cockpit: true } : {}),
});
say(`  model endpoint ${kernel.openaiBaseUrl}; logs in .kernos/logs/`);
if (kernel.cockpit) say(color(1, `  cockpit ${kernel.cockpit.url}  (log in as ${approver} with token ${kernel.cockpit.token})`));
// Ctrl-C (or a test runner's timeout) stops the kernel's processes too, instead of leaving them running; a second
// Ctrl-C ends the demo at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\n${signal}: stopping the kernel ...`);
    void kernel
      .stop()
      .then(() => (args.keep ? undefined : stack.release()))
      .finally(() => process.exit(130));
  });
}

const connection = await Connection.connect({ address: stack.endpoints.temporalAddress });
const client = new Client({ connection, namespace: stack.endpoints.temporalNamespace });
const nc = await connectNats({ url: stack.endpoints.natsUrl, name: 'kernos-demo' });
const taskQueue = env.KERNOS_TASK_QUEUE ?? 'kernos-agents';

let exitCode = 0;
try {
  const fleet = Array.from({ length: fleetSize }, (_, i) => archetypes[i % archetypes.length]!(Math.floor(i / archetypes.length) + 1, stamp));
  const handles: WorkflowHandle[] = await Promise.all(
    fleet.map((member) =>
      client.workflow.start(member.workflowType, { taskQueue, workflowId: `demo-${stamp}-${member.input.agentId}`, args: [member.input] }),
    ),
  );
  const tenants = [...new Set(fleet.map((m) => m.input.tenant))];
  say(`started ${handles.length} agents (${fleet.filter((m) => m.kind === 'triage').length} triage, ${fleet.filter((m) => m.kind === 'research').length} research) for ${tenants.join(', ')}\n`);

  const width = Math.max(...fleet.map((m) => m.input.agentId.length));
  const line = (i: number, service: string, code: number, text: string) => say(`${fleet[i]!.input.agentId.padEnd(width)}  ${color(code, service.padEnd(12))}  ${text}`);
  const last = new Map<number, { status: string; turns: number; toolCalls: number }>();
  const decided = new Map<number, number>();
  const deciding = new Set<string>();
  // A query on a closed run makes a worker replay it: finished runs are not asked again.
  const finished = new Set<number>();

  // Follows each run through its `state` query and plays the approver: a pending decision is read, then approved.
  const poll = async () => {
    await Promise.all(
      handles.map(async (handle, i) => {
        if (finished.has(i)) return;
        const state = await handle.query<AgentState>('state').catch(() => undefined);
        if (state) {
          const turns = Number(state.details.turns ?? 0);
          const toolCalls = Number(state.details.toolCalls ?? 0);
          const before = last.get(i) ?? { status: 'running', turns: 0, toolCalls: 0 };
          if (turns > before.turns) {
            line(i, 'scheduler', 36, `turn ${turns} granted (priority ${fleet[i]!.input.priority}), ${String(state.details.inputTokens ?? 0)}+${String(state.details.outputTokens ?? 0)} tokens so far`);
          }
          if (toolCalls > before.toolCalls) line(i, 'tool-gateway', 35, `${toolCalls} tool call${toolCalls === 1 ? '' : 's'} (each access-checked)`);
          if (state.status !== before.status && state.status !== 'running') line(i, 'agent', 1, state.status);
          last.set(i, { status: state.status, turns, toolCalls });
        }
        const pending = await handle.query<PendingDecision[]>('pendingDecisions').catch(() => [] as PendingDecision[]);
        for (const decision of pending) {
          if (deciding.has(decision.id)) continue;
          deciding.add(decision.id);
          line(i, 'agent', 1, `asks ${decision.approver}: ${decision.reason}`);
          await handle.executeUpdate('decide', { args: [{ id: decision.id, approved: true, decidedBy: approver, note: 'approved in the demo' }] });
          decided.set(i, (decided.get(i) ?? 0) + 1);
          line(i, 'access', 33, `${approver} approved ${decision.action} on ${decision.resource}`);
        }
      }),
    );
  };
  // One poll at a time: on a busy machine a poll can take longer than the tick, and polls must not pile up.
  let polling: Promise<void> | undefined;
  const ticker = setInterval(() => {
    polling ??= poll()
      .catch(() => undefined)
      .finally(() => (polling = undefined));
  }, 300);
  const outcomes = await Promise.all(
    handles.map((handle, i) =>
      handle
        .result()
        .then(
          (result: TriageResult | ResearchResult) => ({ ok: true as const, result }),
          (error: unknown) => ({ ok: false as const, error: error instanceof WorkflowFailedError ? String(error.cause?.message ?? error.message) : String(error) }),
        )
        .finally(() => finished.add(i)),
    ),
  );
  clearInterval(ticker);
  await polling;

  const runs: RunSummary[] = [];
  for (const [i, outcome] of outcomes.entries()) {
    const member = fleet[i]!;
    const base = { agentId: member.input.agentId, kind: member.kind, tenant: member.input.tenant, priority: member.input.priority ?? 0, subject: member.subject, decisions: decided.get(i) ?? 0 };
    if (!outcome.ok) {
      exitCode = 1;
      runs.push({ ...base, runId: handles[i]!.workflowId, ok: false, status: `failed: ${outcome.error}`, factId: '', turns: 0, toolCalls: 0 });
      continue;
    }
    const r = outcome.result;
    const factId = 'factIds' in r ? (r.factIds[0] ?? '') : r.factId;
    runs.push({
      ...base,
      runId: r.runId,
      ok: true,
      status: r.status,
      factId,
      turns: r.turns,
      toolCalls: r.toolCalls,
      ...('escalation' in r ? { escalation: r.escalation } : {}),
      ...('published' in r ? { published: r.published } : {}),
    });
    // An agent whose write is granted must have left a fact; one whose write is denied must not have.
    if (member.expectFact !== (factId !== '')) exitCode = 1;
    if (r.status !== 'completed') exitCode = 1;
  }

  say(color(1, '\nsummary'));
  const header = ['agent', 'tenant', 'kind', 'prio', 'status', 'turns', 'tools', 'outcome'];
  const rows = runs.map((run, i) => {
    const r = outcomes[i]!;
    const outcome = !r.ok
      ? r.error
      : run.kind === 'triage'
        ? `${(r.result as TriageResult).severity}, escalation ${run.escalation}; ${run.factId ? `fact ${run.factId.slice(0, 12)}` : 'NO FACT'}`
        : run.factId
          ? `report published, fact ${run.factId.slice(0, 12)}`
          : `report not published (${run.published === 'not_approved' ? 'not approved' : `write of "${fleet[i]!.input.dataCategory}" denied by access`})`;
    return [run.agentId, run.tenant, run.kind, String(run.priority), run.status, String(run.turns), String(run.toolCalls), outcome];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const format = (row: string[]) => `  ${row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')}`;
  say(color(1, format(header)));
  for (const row of rows) say(format(row));

  say(color(1, "\nthe fleet's memory (read back from services/graph)"));
  const kernelClient = createKernelClient(nc, trace.getTracer('kernos-demo'));
  for (const run of runs.filter((r) => r.factId)) {
    // The graph scopes reads by the job's data categories: read as the agent's own job.
    const governance = fleet.find((m) => m.input.agentId === run.agentId)!.input.governance;
    const { facts } = await kernelClient.call(contracts.graph.facts, { subject: run.subject, governance: { ...governance, dataCategories: [...governance.dataCategories] } });
    const fact = facts.find((f) => f.factId === run.factId);
    if (!fact) exitCode = 1;
    say(`  graph  ${run.subject}: ${fact ? `"${fact.object.slice(0, 70)}" (asserted by ${fact.agentId} in run ${fact.runId})` : 'MISSING'}`);
  }
  const scheduler = await kernelClient.call(contracts.scheduler.stats, {});
  for (const e of scheduler.endpoints) say(`\nscheduler: endpoint ${e.endpoint} granted ${e.grantedTotal} leases, ${e.tokensTotal} tokens`);
  if (kernel.cockpit) say(`cockpit: the runs stay listed at ${kernel.cockpit.url} until the kernel stops (now)`);
  say(`\n${exitCode === 0 ? color(32, 'demo passed') : color(31, 'demo FAILED')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (args.json) say(JSON.stringify({ ok: exitCode === 0, runs }));
} finally {
  await nc.drain();
  await connection.close();
  await kernel.stop();
  // release() stops only the servers this run started; a stack that was already up is left as it was.
  if (args.keep) say('servers kept running: stop them with  npm run stack -- down');
  else await stack.release();
}
process.exit(exitCode);
