/**
 * The Kernos demo: starts (or reuses) the real servers, starts the kernel as separate processes (model emulator,
 * scheduler, tool gateway, access, graph, worker), runs a small fleet of agents and prints what each one does in
 * each service as it happens. Ends by reading the fleet's memory back from the graph.
 */
import { parseArgs } from 'node:util';
import { trace } from '@opentelemetry/api';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { startStack, stackEnv } from '@kernos/devstack';
import { startKernel } from '@kernos/launcher';
import { connectNats, createKernelClient } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import type { AgentInput, AgentResult, ProgressEvent } from '@kernos/workflows';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(`usage: npx tsx scripts/demo.ts [--agents N] [--json] [--keep]
  --agents N  how many agents in the fleet (default 5)
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
const serviceColor: Record<ProgressEvent['service'], number> = { scheduler: 36, 'tool-gateway': 35, access: 33, graph: 32, agent: 1 };
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The kinds of agent in the fleet; the fleet cycles through them. */
const archetypes: Array<(n: number) => Omit<AgentInput, 'jobId'> & { job: string }> = [
  (n) => ({
    job: 'triage',
    tenant: 'acme',
    agentId: `triage-${n}`,
    priority: 10,
    goal: `Triage support ticket ${4800 + n}: the customer cannot log in after a password reset.`,
    tools: ['echo'],
    subject: `ticket-${4800 + n}`,
    dataCategory: 'support',
    governance: { riskLevel: 'limited', dataCategories: ['support'], humanOversight: 'none', approver: 'oncall@acme.example' },
  }),
  (n) => ({
    job: 'research',
    tenant: 'globex',
    agentId: `research-${n}`,
    priority: 1,
    goal: `Research note ${n}: how much capacity do two extra GPU nodes add?`,
    tools: ['get-sum', 'echo'],
    subject: `capacity-plan-${n}`,
    dataCategory: 'internal',
    governance: { riskLevel: 'minimal', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@globex.example' },
  }),
  (n) => ({
    job: 'compliance',
    tenant: 'initech',
    agentId: `compliance-${n}`,
    priority: 5,
    goal: `Summarise patient intake form ${n}.`,
    tools: ['echo'],
    subject: `intake-${n}`,
    // Not among the job's granted categories: services/access denies the write and the demo shows it.
    dataCategory: 'health',
    governance: { riskLevel: 'high', dataCategories: ['public'], humanOversight: 'none', approver: 'dpo@initech.example' },
  }),
];

const started = Date.now();
const stamp = new Date(started).toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
say(color(1, `Kernos demo: ${fleetSize} agents`));
say('starting servers (nats-server, Temporal dev server, Neo4j) ...');
const stack = await startStack({ reuse: true });
const env = stackEnv(stack.endpoints);
say(`  nats ${stack.endpoints.natsUrl}  temporal ${stack.endpoints.temporalAddress}  neo4j ${stack.endpoints.neo4jUri}`);
say('starting the kernel (model emulator, scheduler, tool-gateway, access, graph, worker) ...');
const kernel = await startKernel({
  env: {
    ...env,
    // The emulator answers like a real endpoint: some latency, limited concurrency, so queueing is visible.
    KERNOS_EMULATOR_LATENCY_MS: process.env.KERNOS_EMULATOR_LATENCY_MS ?? '150',
    KERNOS_EMULATOR_MAX_CONCURRENT: process.env.KERNOS_EMULATOR_MAX_CONCURRENT ?? '4',
    KERNOS_EMULATOR_SEED: process.env.KERNOS_EMULATOR_SEED ?? '7',
  },
});
say(`  model endpoint ${kernel.openaiBaseUrl}; logs in .kernos/logs/`);

const connection = await Connection.connect({ address: stack.endpoints.temporalAddress });
const client = new Client({ connection, namespace: stack.endpoints.temporalNamespace });
const nc = await connectNats({ url: stack.endpoints.natsUrl, name: 'kernos-demo' });

let exitCode = 0;
try {
  const fleet = Array.from({ length: fleetSize }, (_, i) => {
    const spec = archetypes[i % archetypes.length]!(Math.floor(i / archetypes.length) + 1);
    const { job, ...rest } = spec;
    const input: AgentInput = { ...rest, jobId: `${job}-${stamp}` };
    return { input, workflowId: `demo-${stamp}-${input.agentId}` };
  });

  const handles = await Promise.all(
    fleet.map(({ input, workflowId }) => client.workflow.start('agentWorkflow', { taskQueue: 'kernos-agents', workflowId, args: [input] })),
  );
  say(`started ${handles.length} agent workflows\n`);

  const width = Math.max(...fleet.map((f) => f.input.agentId.length));
  const seen = new Map<string, number>();
  const printProgress = async () => {
    await Promise.all(
      handles.map(async (handle, i) => {
        const events = await handle.query<ProgressEvent[]>('progress').catch(() => [] as ProgressEvent[]);
        const agent = fleet[i]!.input.agentId;
        for (const event of events.slice(seen.get(agent) ?? 0)) {
          say(`${agent.padEnd(width)}  ${color(serviceColor[event.service], event.service.padEnd(12))}  ${event.message}`);
        }
        seen.set(agent, events.length);
      }),
    );
  };
  const ticker = setInterval(() => void printProgress(), 300);
  const outcomes = await Promise.all(
    handles.map((handle) =>
      handle.result().then(
        (result: AgentResult) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error: error instanceof WorkflowFailedError ? String(error.cause?.message ?? error.message) : String(error) }),
      ),
    ),
  );
  clearInterval(ticker);
  await printProgress();

  say(color(1, '\nsummary'));
  const kernelClient = createKernelClient(nc, trace.getTracer('kernos-demo'));
  const runs = [];
  for (const [i, outcome] of outcomes.entries()) {
    const { input, workflowId } = fleet[i]!;
    if (!outcome.ok) {
      exitCode = 1;
      say(`  ${input.agentId.padEnd(width)}  FAILED  ${outcome.error}`);
      runs.push({ agentId: input.agentId, runId: workflowId, ok: false, factId: '', subject: input.subject });
      continue;
    }
    const r = outcome.result;
    const granted = input.governance.dataCategories.includes(input.dataCategory);
    // An agent whose write is granted must have left a fact; one whose write is denied must not have.
    if (granted !== (r.factId !== '')) exitCode = 1;
    say(
      `  ${input.agentId.padEnd(width)}  done  ${r.turns} turns, ${r.toolCalls} tool calls, ${r.inputTokens}+${r.outputTokens} tokens, ` +
        (r.factId ? `fact ${r.factId}` : `no fact (write of "${input.dataCategory}" denied)`),
    );
    runs.push({ agentId: input.agentId, runId: r.runId, ok: true, factId: r.factId, subject: input.subject });
  }

  say(color(1, '\nthe fleet\'s memory (read back from services/graph)'));
  for (const run of runs.filter((r) => r.factId)) {
    // The graph scopes reads by the job's data categories: read as the agent's own job.
    const governance = fleet.find((f) => f.input.agentId === run.agentId)?.input.governance;
    const { facts } = await kernelClient.call(contracts.graph.facts, { subject: run.subject, governance });
    const fact = facts.find((f) => f.factId === run.factId);
    if (!fact) exitCode = 1;
    say(`  ${run.subject}: ${fact ? `"${fact.object.slice(0, 80)}" (asserted by ${fact.agentId} in run ${fact.runId})` : 'MISSING'}`);
  }
  const scheduler = await kernelClient.call(contracts.scheduler.stats, {});
  for (const e of scheduler.endpoints) say(`\nscheduler: endpoint ${e.endpoint} granted ${e.grantedTotal} leases, ${e.tokensTotal} tokens`);
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
