import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startKernel, startProcess, type Kernel, type ManagedProcess } from '@kernos/launcher';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../src/index.js';

// One run is one trace: every kernel process (worker, scheduler, tool-gateway, access, graph) exports to a real
// OTLP/HTTP receiver, and the run's spans must form one tree across them. The kernel gets its own nats-server and
// task queue so no other kernel sharing the dev stack answers (and traces) our requests.
let receiver: OtlpReceiver;
let nats: ManagedProcess;
let kernel: Kernel;
let connection: Connection;
let client: Client;
let dir: string;
const taskQueue = `trace-${Date.now().toString(36)}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kernos-trace-'));
  receiver = await startOtlpReceiver();
  const natsPort = await freePort();
  nats = await startProcess({
    name: 'nats-server',
    command: process.env.KERNOS_NATS_SERVER_BIN ?? 'nats-server',
    args: ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(dir, 'js')],
    env: { PATH: `${process.env.PATH}:/usr/sbin:${process.env.HOME}/.cache/kernos/bin` },
    cwd: dir,
    logFile: join(dir, 'nats.log'),
    readyWhen: /Server is ready/,
  });
  kernel = await startKernel({
    logDir: join(dir, 'logs'),
    env: {
      ...process.env,
      KERNOS_NATS_URL: `nats://127.0.0.1:${natsPort}`,
      KERNOS_TASK_QUEUE: taskQueue,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      // Export every 100 ms, so the test does not wait for the default 5 s batch.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
  });
  connection = await Connection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection, namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default' });
});

afterAll(async () => {
  await connection?.close();
  await kernel?.stop();
  await nats?.stop();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('one agent run is one connected trace', () => {
  it('links workflow, activities, NATS hops, the LLM call and every service under one root', async () => {
    const runId = `trace-run-${Date.now().toString(36)}`;
    await client.workflow.execute('agentWorkflow', {
      taskQueue,
      workflowId: runId,
      args: [
        {
          tenant: 'test',
          jobId: 'job-trace',
          agentId: 'agent-trace',
          goal: `Look into case ${runId} and report back.`,
          tools: ['echo'],
          subject: `case-${runId}`,
          dataCategory: 'internal',
          governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
        },
      ],
    });

    const wanted = ['worker', 'scheduler', 'tool-gateway', 'access', 'graph'];
    let spans: ReceivedSpan[] = [];
    // Spans arrive in batches after the run ends; wait until the graph write (the run's last hop) and the root are in.
    for (let i = 0; i < 100; i += 1) {
      const chat = receiver.spans().find((s) => s.attributes['kernos.run.id'] === runId);
      spans = chat ? receiver.trace(chat.traceId) : [];
      const services = new Set(spans.map((s) => s.service));
      // The workflow's own span ends last and is exported in a later batch than the services' spans.
      const complete = spans.some((s) => s.name === 'process kernos.graph.write-fact') && spans.some((s) => s.name === 'RunWorkflow:agentWorkflow');
      if (wanted.every((w) => services.has(w)) && complete) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(wanted));

    // A single tree: exactly one root (the workflow run), and every other span's parent is in the same trace.
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots.map((s) => s.name)).toEqual(['RunWorkflow:agentWorkflow']);
    expect(spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);
    const chain = (s: ReceivedSpan): string[] => {
      const names: string[] = [];
      for (let cur: ReceivedSpan | undefined = s; cur; cur = parentOf(cur)) names.push(`${cur.service}:${cur.name}`);
      return names;
    };

    // The NATS server span in each service continues the worker's client span, which sits under an activity.
    for (const service of ['scheduler', 'tool-gateway', 'access', 'graph']) {
      const server = spans.find((s) => s.service === service && s.name.startsWith('process kernos.'));
      expect(server, service).toBeDefined();
      const send = parentOf(server!);
      expect(send?.service).toBe('worker');
      expect(send?.name).toBe(server!.name.replace('process', 'send'));
      expect(chain(server!).some((n) => n.startsWith('worker:RunActivity:'))).toBe(true);
      expect(chain(server!).at(-1)).toBe('worker:RunWorkflow:agentWorkflow');
    }

    // The LLM call follows the GenAI conventions, under the llmTurn activity.
    const chat = spans.find((s) => s.name.startsWith('chat '));
    expect(chat?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai' });
    expect(chat?.attributes['gen_ai.request.model']).toEqual(expect.any(String));
    expect(chat?.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(chat?.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(chain(chat!)).toContain('worker:RunActivity:llmTurn');

    // The MCP call in the gateway, the queue wait and the policy decisions are spans of the same trace.
    expect(spans.some((s) => s.service === 'tool-gateway' && s.name === 'tools/call echo')).toBe(true);
    const wait = spans.find((s) => s.name.startsWith('queue wait '));
    expect(wait?.attributes['kernos.scheduler.wait_ms']).toEqual(expect.any(Number));
    const decisions = spans.filter((s) => s.name.startsWith('policy decision '));
    expect(decisions.map((s) => s.attributes['kernos.access.decision'])).toContain('allow');
  });
});
