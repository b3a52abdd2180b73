import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeConnection, Worker } from '@temporalio/worker';
import { trace } from '@opentelemetry/api';
import { createEmulator } from '@kernos/model-emulator';
import { createSchedulerService, temporalNotifier, type SchedulerService } from '@kernos/scheduler';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { privatePort, startPrivateNats, type PrivateNats } from '@kernos/testkit';
import { contracts } from '@kernos/wire';
import { createActivities } from '../src/activities/index.js';
import type { LlmTurnInput, LlmTurnResult } from '../src/types.js';
import { temporalClient, uniqueTag } from './helpers.js';

// Leases under stress, end to end (scheduler in-process, real Temporal, the emulator) on a nats-server of this
// test's own, because the test stops and restarts it: the shared dev stack's must never be touched.
// 1. A turn longer than its lease's TTL keeps the lease: the llmTurn activity renews it while the model answers.
// 2. A release lost while NATS is down does not hold the slot until the TTL: the workflow retries it.
// 3. A Job's turn timeout (spec.timeouts.turn, in the run's memo) bounds each attempt of the turn.

const tag = uniqueTag();
const taskQueue = `lease-outage-${tag}`;
const tracer = trace.getTracer('lease-outage-int-test');
// Every turn takes 2.5 s before its first token: longer than the short TTL below.
const emulator = createEmulator({ port: 0, latencyMs: 2_500, latencySigma: 0, tokensPerSecond: 0 });

const dir = mkdtempSync(join(tmpdir(), 'kernos-lease-outage-'));
// A fixed port and store, so the server can be killed and started again where the clients reconnect.
let natsPort: number;
let nats: PrivateNats;
let nc: NatsConnection;
let kernel: KernelClient;
let scheduler: SchedulerService;
let worker: Worker;
let workerRun: Promise<void>;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
let connection: NativeConnection;

beforeAll(async () => {
  natsPort = await privatePort();
  nats = await startPrivateNats({ dir, port: natsPort });
  const { url } = await emulator.start();
  nc = await connectNats({ url: nats.url, name: 'lease-outage-int-test' });
  kernel = createKernelClient(nc, tracer);
  temporal = await temporalClient();
  scheduler = createSchedulerService({
    nc,
    tracer,
    logger: createLogger('scheduler', () => undefined),
    endpoints: [
      // A TTL well below the turn's length: only renewals keep the lease.
      { name: 'long', baseUrl: `${url}/v1`, model: 'kernos-emu-small', maxConcurrent: 1, policy: 'fifo', leaseTtlMs: 1_000 },
      // A TTL far above the test's length: if the lost release were not retried, the slot would stay taken.
      { name: 'outage', baseUrl: `${url}/v1`, model: 'kernos-emu-small', maxConcurrent: 1, policy: 'fifo' },
      { name: 'timeout', baseUrl: `${url}/v1`, model: 'kernos-emu-small', maxConcurrent: 4, policy: 'fifo' },
    ],
    leaseTtlMs: 600_000,
    notify: temporalNotifier(temporal.client),
  });
  await scheduler.start();
  connection = await NativeConnection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  worker = await Worker.create({
    connection,
    namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./workflows/lease-turn.ts', import.meta.url)),
    activities: createActivities({ kernel, openaiApiKey: 'unused' }),
  });
  workerRun = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await workerRun?.catch(() => undefined);
  await connection?.close();
  await scheduler?.stop();
  await temporal?.close();
  await nc?.close();
  await nats?.stop();
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
});

const statsOf = async (endpoint: string) => (await kernel.call(contracts.scheduler.stats, {})).endpoints.find((e) => e.endpoint === endpoint)!;
const turn = (endpoint: string, runId: string): LlmTurnInput => ({
  run: { tenant: 'test', jobId: `job-${tag}`, runId, agentId: 'agent' },
  endpoint,
  priority: 0,
  messages: [{ role: 'user', content: 'Say something short.' }],
  tools: [],
  maxOutputTokens: 16,
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('leases under stress', () => {
  it('a turn longer than the lease TTL keeps its lease: the activity renews it while the model answers', async () => {
    const result = (await temporal.client.workflow.execute('leaseTurnWorkflow', {
      taskQueue,
      workflowId: `lease-long-${tag}`,
      args: [turn('long', `long-${tag}`), 600_000],
    })) as LlmTurnResult;
    expect(result.outputTokens).toBeGreaterThan(0);
    // 2.5 s of turn on a 1 s TTL, never reclaimed; released at the end like any turn, its tokens counted.
    const stats = await statsOf('long');
    expect(stats).toMatchObject({ active: 0, expiredTotal: 0n, grantedTotal: 1n });
    expect(Number(stats.tokensTotal)).toBe(result.inputTokens + result.outputTokens);
  });

  it('a release lost while NATS is down is retried once NATS is back, long before the lease TTL', async () => {
    const run = await temporal.client.workflow.start('leaseTurnWorkflow', {
      taskQueue,
      workflowId: `lease-outage-${tag}`,
      args: [turn('outage', `outage-${tag}`), 600_000],
    });
    await until(async () => (await statsOf('outage')).active === 1, 'the turn to hold its lease', 30_000);
    // NATS goes away while the model answers: the turn finishes, but its release cannot reach the scheduler.
    await nats.process.kill();
    // Down long enough that the turn (2.5 s) has ended and the activity's own release attempt (5 s timeout) failed.
    await new Promise((resolve) => setTimeout(resolve, 9_000));
    nats = await startPrivateNats({ dir, port: natsPort });
    // The workflow's release activity gets through once NATS is back: the slot is free, the tokens counted, no expiry.
    const result = (await run.result()) as LlmTurnResult;
    await until(async () => (await statsOf('outage')).active === 0, 'the lost release to arrive', 30_000);
    const stats = await statsOf('outage');
    expect(stats).toMatchObject({ active: 0, expiredTotal: 0n, grantedTotal: 1n });
    expect(Number(stats.tokensTotal)).toBe(result.inputTokens + result.outputTokens);
    expect(result.leaseReleased).toBe(false);
  });

  it("applies the Job's turn timeout from the run's memo to each attempt of the turn", async () => {
    // 1 s per attempt against a model that needs 2.5 s: every attempt times out (and is retried).
    const run = await temporal.client.workflow.start('leaseTurnWorkflow', {
      taskQueue,
      workflowId: `lease-turn-timeout-${tag}`,
      args: [turn('timeout', `timeout-${tag}`), 600_000],
      memo: { 'kernos.turnTimeoutMs': 1_000 },
    });
    try {
      let pending: { attempt?: number | null; lastFailure?: { message?: string | null; timeoutFailureInfo?: unknown } | null } | undefined;
      await until(async () => {
        pending = (await run.describe()).raw.pendingActivities?.find((activity) => activity.activityType?.name === 'llmTurn') ?? undefined;
        return (pending?.attempt ?? 0) >= 2;
      }, 'the first attempt of the turn to time out', 30_000);
      expect(pending?.lastFailure?.timeoutFailureInfo).toBeTruthy();
      expect(pending?.lastFailure?.message).toMatch(/timeout/i);
    } finally {
      // Already over if the timeout was not applied (the turn then simply succeeds): the assertion above says so.
      await run.terminate('test done').catch(() => undefined);
    }
  });
});
