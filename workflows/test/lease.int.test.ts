import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createEmulator } from '@kernos/model-emulator';
import { createSchedulerService, temporalNotifier, type SchedulerService } from '@kernos/scheduler';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { trace } from '@opentelemetry/api';
import { contracts } from '@kernos/wire';
import { createActivities } from '../src/activities/index.js';
import type { LlmTurnInput, LlmTurnResult } from '../src/types.js';
import { temporalClient, uniqueTag } from './helpers.js';

// A waiting LLM turn must not hold a worker slot (cooperative preemption): the workflow queues its turn with
// kernos.scheduler.enqueue, is suspended until the scheduler signals the grant, then runs the turn with it.
// Real NATS, real Temporal, the real scheduler service (in-process, with its own endpoint name) and the emulator.

const tag = uniqueTag();
const endpoint = `lease-${tag}`;
const taskQueue = `lease-test-${tag}`;
const tracer = trace.getTracer('lease-int-test');
// Our own scheduler's subjects, so the schedulers of other kernels on the shared NATS server never answer us.
const subjectPrefix = `test-${tag}.`;

let nc: NatsConnection;
let kernel: KernelClient;
let scheduler: SchedulerService;
let worker: Worker;
let workerRun: Promise<void>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let connection: NativeConnection;
const emulator = createEmulator({ port: 0, latencyMs: 0, tokensPerSecond: 0 });

beforeAll(async () => {
  const { url } = await emulator.start();
  nc = await connectNats({ url: process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'lease-int-test' });
  kernel = createKernelClient(nc, tracer, { subjectPrefix });
  temporal = await temporalClient();
  scheduler = createSchedulerService({
    nc,
    tracer,
    logger: createLogger('scheduler', () => undefined),
    endpoints: [{ name: endpoint, baseUrl: `${url}/v1`, model: 'kernos-emu-small', maxConcurrent: 1, policy: 'composite' }],
    leaseTtlMs: 60_000,
    notify: temporalNotifier(temporal.client),
    subjectPrefix,
  });
  await scheduler.start();
  connection = await NativeConnection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  worker = await Worker.create({
    connection,
    namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./workflows/lease-turn.ts', import.meta.url)),
    activities: createActivities({ kernel, openaiApiKey: 'unused' }),
    // One activity slot: if a waiting turn held it, nothing else could run.
    maxConcurrentActivityTaskExecutions: 1,
  });
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await connection?.close();
  await scheduler?.stop();
  await temporal?.close();
  await nc?.drain();
  await emulator.stop();
});

const queued = async () => (await kernel.call(contracts.scheduler.stats, {})).endpoints.find((e) => e.endpoint === endpoint)!;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The activity types a run scheduled, in order, from its Temporal history. */
async function activitiesOf(handle: { fetchHistory: () => Promise<{ events?: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null }[] | null }> }): Promise<string[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : []));
}

describe('an LLM turn waiting for its lease', () => {
  it('is suspended without a worker slot until the scheduler signals the grant, then runs with that lease', async () => {
    // Someone else holds the endpoint's only slot.
    const holder = await kernel.call(contracts.scheduler.acquire, { endpoint, priority: 0 });

    const input: LlmTurnInput = {
      run: { tenant: 'test', jobId: `job-${tag}`, runId: `run-${tag}`, agentId: 'agent' },
      endpoint,
      priority: 5,
      messages: [{ role: 'user', content: 'Say something short.' }],
      tools: [],
      maxOutputTokens: 32,
    };
    const turn = await temporal.client.workflow.start('leaseTurnWorkflow', {
      taskQueue,
      workflowId: `lease-turn-${tag}`,
      // Polling only every 10 minutes: the test finishing in seconds means the grant came as a signal.
      args: [input, 600_000],
    });
    await until(async () => (await queued()).queued === 1, 'the turn to be queued');

    // The worker's single activity slot is free while the turn waits: another workflow's activity runs to the end.
    const probe = await temporal.client.workflow.execute('probeWorkflow', { taskQueue, workflowId: `lease-probe-${tag}`, args: [] });
    expect(probe).toBe('unknown');
    expect(await queued()).toMatchObject({ active: 1, queued: 1 });

    const grantedBefore = Number((await queued()).grantedTotal);
    await kernel.call(contracts.scheduler.release, { leaseId: holder.leaseId, inputTokens: 0, outputTokens: 0 });
    const result = (await turn.result()) as LlmTurnResult;
    expect(result.endpoint).toBe(endpoint);
    expect(result.leaseId).not.toBe(holder.leaseId);
    expect(result.waitedMs).toBeGreaterThan(0);
    expect(result.outputTokens).toBeGreaterThan(0);
    // One grant for the waiting turn (no second acquire by the activity) and the lease was released after the turn.
    const after = await queued();
    expect(Number(after.grantedTotal)).toBe(grantedBefore + 1);
    expect(after).toMatchObject({ active: 0, queued: 0 });
    // The first llmTurn queued the turn and returned without running; the second ran it with the signalled lease.
    expect(await activitiesOf(turn)).toEqual(['llmTurn', 'llmTurn']);
  });

  it("orders turns by their run's Job deadline: the memo set from spec.deadline reaches the composite policy", async () => {
    const holder = await kernel.call(contracts.scheduler.acquire, { endpoint, priority: 0 });
    const turnOf = (runId: string): LlmTurnInput => ({
      run: { tenant: 'test', jobId: `job-${tag}`, runId, agentId: 'agent' },
      endpoint,
      priority: 5,
      messages: [{ role: 'user', content: 'Say something short.' }],
      tools: [],
      maxOutputTokens: 16,
    });
    // Same priority; the first has no deadline, the second arrives later with a deadline 5 s after its start
    // (inside the composite policy's urgency window), as a run started from a Job with `deadline: 5s` carries.
    const relaxed = await temporal.client.workflow.start('leaseTurnWorkflow', { taskQueue, workflowId: `lease-relaxed-${tag}`, args: [turnOf(`relaxed-${tag}`), 600_000] });
    await until(async () => (await queued()).queued === 1, 'the first turn to be queued');
    const urgent = await temporal.client.workflow.start('leaseTurnWorkflow', {
      taskQueue,
      workflowId: `lease-urgent-${tag}`,
      args: [turnOf(`urgent-${tag}`), 600_000],
      memo: { 'kernos.deadlineAfterMs': 5_000 },
    });
    await until(async () => (await queued()).queued === 2, 'both turns to be queued');
    await kernel.call(contracts.scheduler.release, { leaseId: holder.leaseId, inputTokens: 0, outputTokens: 0 });
    await Promise.all([relaxed.result(), urgent.result()]);
    const grantedAt = async (handle: typeof relaxed) => {
      const ticket = await kernel.call(contracts.scheduler.ticket, { ticketId: `${handle.workflowId}/${handle.firstExecutionRunId}/turn-0` });
      return Number(ticket.ticket!.lease!.grantedAtMs);
    };
    expect(await grantedAt(urgent)).toBeLessThan(await grantedAt(relaxed));
  });

  it('gets a free slot at once, without waiting for any signal', async () => {
    const result = (await temporal.client.workflow.execute('leaseTurnWorkflow', {
      taskQueue,
      workflowId: `lease-free-${tag}`,
      args: [
        { run: { tenant: 'test', jobId: 'j', runId: `free-${tag}`, agentId: 'a' }, endpoint, priority: 0, messages: [{ role: 'user', content: 'hi' }], tools: [], maxOutputTokens: 16 },
        600_000,
      ],
    })) as LlmTurnResult;
    expect(result.waitedMs).toBe(0);
    expect((await queued()).active).toBe(0);
    // Queued and granted inside the turn activity itself: one activity for the whole turn.
    expect(await activitiesOf(temporal.client.workflow.getHandle(`lease-free-${tag}`))).toEqual(['llmTurn']);
  });
});
