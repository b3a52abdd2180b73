import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKernel, type Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { trace } from '@opentelemetry/api';
import { startPrivateNats, type PrivateNats } from '@kernos/testkit';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../src/index.js';

// One run is one trace: every kernel process (worker, scheduler, tool-gateway, access, graph) exports to a real
// OTLP/HTTP receiver, and the run's spans must form one tree across them. The kernel gets its own nats-server and
// task queue so no other kernel sharing the dev stack answers (and traces) our requests. The same kernel (with the
// cockpit the launcher starts) exports its metrics to the receiver, which the second test checks.
let receiver: OtlpReceiver;
let nats: PrivateNats;
let kernel: Kernel;
let connection: Connection;
let nc: NatsConnection;
let client: Client;
let dir: string;
const taskQueue = `trace-${Date.now().toString(36)}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kernos-trace-'));
  receiver = await startOtlpReceiver();
  nats = await startPrivateNats({ dir });
  kernel = await startKernel({
    logDir: join(dir, 'logs'),
    env: {
      ...process.env,
      KERNOS_NATS_URL: nats.url,
      KERNOS_TASK_QUEUE: taskQueue,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.tracesUrl,
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: receiver.metricsUrl,
      // Export every 100 ms (spans) and 500 ms (metrics), so the test does not wait for the 5 s / 10 s defaults.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
    },
    // Every process an agent run crosses (the model gateway is not one of them). The cockpit exports the scheduler's
    // queue depth; the launcher starting it is part of what is tested here.
    only: ['emulator', 'access', 'graph', 'tool-gateway', 'scheduler', 'worker'],
    cockpit: true,
  });
  nc = await connectNats({ url: nats.url, name: 'trace-test' });
  connection = await Connection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection, namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default' });
});

afterAll(async () => {
  await nc?.drain();
  await connection?.close();
  await kernel?.stop();
  await nats?.stop();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('one agent run is one connected trace', () => {
  it('links workflow, activities, NATS hops, the LLM call, admission, the approval wait and every service under one root', async () => {
    const runId = `trace-run-${Date.now().toString(36)}`;
    // humanOversight "always": the tool call waits for a person, so the trace must show that wait too.
    const handle = await client.workflow.start('agentWorkflow', {
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
          governance: { riskLevel: 'high', dataCategories: ['internal'], humanOversight: 'always', approver: 'lead@example.com' },
          approval: { timeoutMs: 120_000 },
        },
      ],
    });
    let approvalId = '';
    for (let i = 0; i < 300 && !approvalId; i += 1) {
      approvalId = (await handle.query<{ id: string }[]>('pendingApprovals'))[0]?.id ?? '';
      if (!approvalId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(approvalId, 'the run never waited for an approval').not.toBe('');
    // A measurable wait, so the span's length can be checked against it.
    await new Promise((r) => setTimeout(r, 300));
    const kernelClient = createKernelClient(nc, trace.getTracer('trace-test'));
    await kernelClient.call(contracts.access.decide, { approvalId, approver: 'lead@example.com', approve: true, comment: 'fine' });
    await handle.result();

    const wanted = ['worker', 'scheduler', 'tool-gateway', 'access', 'graph'];
    let spans: ReceivedSpan[] = [];
    // Spans arrive in batches after the run ends; wait until the graph write (the run's last hop) and the root are in.
    for (let i = 0; i < 100; i += 1) {
      const chat = receiver.spans().find((s) => s.attributes['kernos.run.id'] === runId);
      spans = chat ? receiver.trace(chat.traceId) : [];
      const services = new Set(spans.map((s) => s.service));
      // The workflow's own span ends last and is exported in a later batch than the services' spans.
      const complete =
        spans.some((s) => s.name === 'process kernos.graph.write-fact') &&
        spans.some((s) => s.name === 'RunWorkflow:agentWorkflow') &&
        spans.some((s) => s.name.startsWith('approval wait ')) &&
        spans.some((s) => s.name.startsWith('admission decision '));
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
    expect(decisions.map((s) => s.attributes['kernos.access.decision'])).toEqual(expect.arrayContaining(['needs_approval', 'allow']));

    // The scheduler's own view of the wait: admission (enqueue to grant) under its enqueue or acquire server span,
    // and the policy's grant decision under that, all in this trace (the tree check above covers their parents).
    const admissions = spans.filter((s) => s.service === 'scheduler' && s.name.startsWith('admission ') && !s.name.startsWith('admission decision '));
    expect(admissions.length).toBeGreaterThan(0);
    for (const admission of admissions) {
      expect(parentOf(admission)?.name).toMatch(/^process kernos\.scheduler\.(enqueue|acquire)$/);
      expect(admission.attributes).toMatchObject({ 'kernos.run.id': runId, 'kernos.scheduler.policy': expect.any(String), 'kernos.scheduler.wait_ms': expect.any(Number) });
      const decision = spans.find((s) => s.parentSpanId === admission.spanId);
      expect(decision?.name).toBe(`admission decision ${String(admission.attributes['kernos.scheduler.policy'])}`);
      expect(decision?.attributes['kernos.scheduler.decision']).toBe('grant');
      expect(chain(admission).at(-1)).toBe('worker:RunWorkflow:agentWorkflow');
    }

    // The approval wait: from the request to the decision, in the worker, under the run's workflow span.
    const approvalWait = spans.find((s) => s.name === 'approval wait tool.call echo');
    expect(approvalWait?.attributes).toMatchObject({ 'kernos.approval.id': approvalId, 'kernos.approval.status': 'approved', 'kernos.approval.decided_by': 'lead@example.com' });
    expect(chain(approvalWait!).at(-1)).toBe('worker:RunWorkflow:agentWorkflow');
    const waitedMs = Number((BigInt(approvalWait!.endUnixNano) - BigInt(approvalWait!.startUnixNano)) / 1_000_000n);
    expect(waitedMs).toBeGreaterThanOrEqual(300);
    // It starts before the approval request reached services/access and ends after the decision was made.
    const request = spans.find((s) => s.service === 'access' && s.name === 'process kernos.access.request-approval');
    expect(request).toBeDefined();
    expect(BigInt(approvalWait!.startUnixNano)).toBeLessThanOrEqual(BigInt(request!.startUnixNano));
  });

  it('exports queue depth, queue wait, tokens and tool latency over OTLP from the worker and the cockpit', async () => {
    const wanted = ['kernos.scheduler.queue.depth', 'kernos.scheduler.queue.wait', 'gen_ai.client.token.usage', 'kernos.tool.duration'];
    const seen = () => new Set(receiver.metrics().map((p) => p.name));
    for (let i = 0; i < 100 && !wanted.every((name) => seen().has(name)); i += 1) await new Promise((r) => setTimeout(r, 200));
    const points = receiver.metrics();
    const of = (name: string) => points.filter((p) => p.name === name);

    // The cockpit reads the scheduler's stats at each collection: one depth per configured endpoint.
    expect(of('kernos.scheduler.queue.depth').map((p) => p.service)).toContain('cockpit');
    expect(of('kernos.scheduler.queue.depth').every((p) => typeof p.attributes['kernos.scheduler.endpoint'] === 'string')).toBe(true);
    // The worker recorded the run's turns and its tool call (histograms are cumulative: the last point has them all).
    const last = (name: string, match: (p: (typeof points)[number]) => boolean = () => true) => of(name).filter(match).at(-1);
    expect(last('kernos.scheduler.queue.wait')).toMatchObject({ service: 'worker', type: 'histogram' });
    expect(last('kernos.scheduler.queue.wait')!.count).toBeGreaterThan(0);
    const input = last('gen_ai.client.token.usage', (p) => p.attributes['gen_ai.token.type'] === 'input');
    expect(input?.service).toBe('worker');
    expect(input!.value).toBeGreaterThan(0);
    const tool = last('kernos.tool.duration', (p) => p.attributes['gen_ai.tool.name'] === 'echo');
    expect(tool?.service).toBe('worker');
    expect(tool!.count).toBeGreaterThan(0);
  });

  it('the launcher started the cockpit: its URL answers and it shows the run board', async () => {
    expect(kernel.cockpit?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const anonymous = await fetch(`${kernel.cockpit!.url}/api/board`);
    expect(anonymous.status).toBe(401);
    const board = await fetch(`${kernel.cockpit!.url}/api/me`, { headers: { authorization: `Bearer ${kernel.cockpit!.token}` } });
    expect(board.status).toBe(200);
    expect(await board.json()).toMatchObject({ role: 'operator', identity: 'lead@example.com' });
  });
});
