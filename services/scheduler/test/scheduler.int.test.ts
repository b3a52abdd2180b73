import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { setupTelemetry, type Telemetry } from '@kernos/telemetry';
import { contracts } from '@kernos/wire';
import type { EndpointConfig } from '../src/config.js';
import { createSchedulerService, type SchedulerService } from '../src/service.js';

// Against the real nats-server from the integration global setup (or a dev one on the default port).
const natsUrl = process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
// Our own subjects: kernels that other tests start on the same server run schedulers of their own.
const subjectPrefix = `test-sched-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}.`;

/** Keeps finished spans so the test can check what the scheduler put on them. */
type FinishedSpan = { name: string; attributes: Record<string, unknown> };
const finished: FinishedSpan[] = [];
const memoryExporter = {
  export(spans: FinishedSpan[], done: (result: { code: number }) => void) {
    finished.push(...spans);
    done({ code: 0 });
  },
  shutdown: async () => undefined,
};

const solo: EndpointConfig = { name: 'solo', baseUrl: 'http://127.0.0.1:8400/v1', model: 'kernos-emu-small', maxConcurrent: 1, policy: 'priority' };

let telemetry: Telemetry;
let nc: NatsConnection;
let client: KernelClient;
const logLines: string[] = [];

beforeAll(async () => {
  telemetry = setupTelemetry({ serviceName: 'scheduler-int-test', exporters: [memoryExporter] });
  nc = await connectNats({ url: natsUrl, name: 'scheduler-int-test' });
  client = createKernelClient(nc, telemetry.tracer, { subjectPrefix });
});

afterAll(async () => {
  await nc?.drain();
  await telemetry?.shutdown();
});

/** Starts a scheduler in-process, exactly as main.ts does, with the given lease TTL. */
async function startScheduler(leaseTtlMs: number): Promise<SchedulerService> {
  const service = createSchedulerService({
    nc,
    tracer: telemetry.tracer,
    logger: createLogger('scheduler', (line) => logLines.push(line)),
    endpoints: [solo],
    leaseTtlMs,
    subjectPrefix,
  });
  await service.start();
  return service;
}

const stats = async () => (await client.call(contracts.scheduler.stats, {})).endpoints.find((e) => e.endpoint === 'solo')!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves to the settled state of a promise without waiting for it. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([promise.then(() => true, () => true), Promise.resolve(marker)])) !== marker;
}

describe('scheduler over NATS', () => {
  let service: SchedulerService;
  beforeAll(async () => {
    service = await startScheduler(60_000);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('with maxConcurrent 1 grants the second acquire only after the first releases', async () => {
    const first = await client.call(contracts.scheduler.acquire, { endpoint: 'solo', priority: 1, estimatedInputTokens: 10, maxOutputTokens: 20, ref: { jobId: 'job-a' } });
    expect(first).toMatchObject({ endpoint: 'solo', baseUrl: 'http://127.0.0.1:8400/v1', model: 'kernos-emu-small' });
    expect(first.expiresAtMs - first.grantedAtMs).toBe(60_000n);

    // The reply to a queued acquire is deferred, so the caller waits with a long timeout.
    const second = client.call(contracts.scheduler.acquire, { endpoint: 'solo', priority: 7, ref: { jobId: 'job-b' } }, { timeoutMs: 30_000 });
    await sleep(300);
    expect(await isSettled(second)).toBe(false);
    expect(await stats()).toMatchObject({ active: 1, queued: 1, maxConcurrent: 1 });

    expect(await client.call(contracts.scheduler.release, { leaseId: first.leaseId, inputTokens: 12, outputTokens: 18 })).toMatchObject({ released: true });
    const granted = await second;
    expect(granted.leaseId).not.toBe(first.leaseId);
    expect(granted.waitedMs).toBeGreaterThanOrEqual(250n);
    expect(await stats()).toMatchObject({ active: 1, queued: 0 });

    expect(await client.call(contracts.scheduler.release, { leaseId: granted.leaseId, inputTokens: 5, outputTokens: 5 })).toMatchObject({ released: true });
    expect(await stats()).toMatchObject({ active: 0, queued: 0, grantedTotal: 2n, tokensTotal: 40n });

    // The server span of the queued acquire carries what an operator needs to see why a turn was slow.
    const spans = finished.filter((s) => s.name === 'process kernos.scheduler.acquire' && s.attributes['kernos.scheduler.priority'] === 7);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes).toMatchObject({ 'kernos.scheduler.endpoint': 'solo', 'kernos.scheduler.lease_id': granted.leaseId });
    expect(spans[0]!.attributes['kernos.scheduler.wait_ms']).toBeGreaterThanOrEqual(250);
  });

  it('answers an unknown endpoint with not_found naming it and the known ones', async () => {
    const error = await client.call(contracts.scheduler.acquire, { endpoint: 'gpt-9' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernosError);
    expect(error).toMatchObject({ code: 'not_found', retryable: false, message: 'unknown endpoint "gpt-9"; known endpoints: solo' });
  });

  it('rejects a negative token estimate naming the field', async () => {
    const error = await client.call(contracts.scheduler.acquire, { endpoint: 'solo', estimatedInputTokens: -1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_argument', message: 'kernos.scheduler.acquire: estimated_input_tokens: must not be negative, got -1' });
  });

  it('answers released=false for a lease it does not hold', async () => {
    expect(await client.call(contracts.scheduler.release, { leaseId: 'never-granted' })).toMatchObject({ released: false });
  });

  it('drops a queued acquire after max_wait_ms with a timeout, so no grant goes to a caller that left', async () => {
    const holder = await client.call(contracts.scheduler.acquire, { endpoint: 'solo' });
    const error = await client.call(contracts.scheduler.acquire, { endpoint: 'solo', maxWaitMs: 300n }, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect((error as Error).message).toContain('no slot on endpoint "solo" within max_wait_ms 300');
    expect(await stats()).toMatchObject({ active: 1, queued: 0, waitTimeoutsTotal: 1n });
    await client.call(contracts.scheduler.release, { leaseId: holder.leaseId });
  });

  it('on stop fails queued acquires with a retryable unavailable instead of leaving them hanging', async () => {
    await client.call(contracts.scheduler.acquire, { endpoint: 'solo' });
    const queued = client.call(contracts.scheduler.acquire, { endpoint: 'solo' }, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await sleep(200);
    await service.stop();
    expect(await queued).toMatchObject({ code: 'unavailable', retryable: true });
  });
});

describe('scheduler lease TTL over NATS', () => {
  let service: SchedulerService;
  beforeAll(async () => {
    service = await startScheduler(1_000);
  });
  afterAll(async () => {
    await service?.stop();
  });
  afterEach(() => {
    logLines.length = 0;
  });

  it('reclaims a grant whose requester gave up, then grants the next waiter', async () => {
    const holder = await client.call(contracts.scheduler.acquire, { endpoint: 'solo' });

    // This caller gives up before a slot frees: its request times out on the client side only.
    const gaveUp = await client.call(contracts.scheduler.acquire, { endpoint: 'solo', ref: { runId: 'run-gone' } }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(gaveUp).toMatchObject({ code: 'timeout' });

    // The holder finishes; the scheduler grants the queued request to nobody, and that slot is stuck until the TTL.
    expect(await client.call(contracts.scheduler.release, { leaseId: holder.leaseId })).toMatchObject({ released: true });
    expect(await stats()).toMatchObject({ active: 1, queued: 0 });

    const started = Date.now();
    const next = await client.call(contracts.scheduler.acquire, { endpoint: 'solo' }, { timeoutMs: 10_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(next.waitedMs).toBeGreaterThan(0n);
    expect(await stats()).toMatchObject({ active: 1, expiredTotal: 1n });
    expect(logLines.some((line) => line.includes('lease expired without release') && line.includes('run-gone'))).toBe(true);

    await client.call(contracts.scheduler.release, { leaseId: next.leaseId });
  });
});

describe('lease renewal over NATS', () => {
  // Its own subjects: a renewal must reach this scheduler, not another kernel's on the shared server.
  const prefix = `test-renew-${Date.now().toString(36)}.`;
  let service: SchedulerService;
  let own: KernelClient;
  const ownStats = async () => (await own.call(contracts.scheduler.stats, {})).endpoints.find((e) => e.endpoint === 'solo')!;
  beforeAll(async () => {
    service = createSchedulerService({ nc, tracer: telemetry.tracer, logger: createLogger('scheduler', () => undefined), endpoints: [solo], leaseTtlMs: 600, subjectPrefix: prefix });
    await service.start();
    own = createKernelClient(nc, telemetry.tracer, { subjectPrefix: prefix });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('keeps a renewed lease for several TTLs while the next turn waits, and expires it once renewals stop', async () => {
    const long = await own.call(contracts.scheduler.acquire, { endpoint: 'solo', ref: { runId: 'long-turn' } });
    const waiting = own.call(contracts.scheduler.acquire, { endpoint: 'solo', ref: { runId: 'next' } }, { timeoutMs: 10_000 });
    // Three TTLs of streaming, renewed every third of the TTL as the llmTurn activity does.
    let lastExpiry = Number(long.expiresAtMs);
    for (let i = 0; i < 9; i++) {
      await sleep(200);
      const renewed = await own.call(contracts.scheduler.renew, { leaseId: long.leaseId });
      expect(renewed.renewed).toBe(true);
      expect(Number(renewed.expiresAtMs)).toBeGreaterThan(lastExpiry);
      lastExpiry = Number(renewed.expiresAtMs);
    }
    expect(await isSettled(waiting)).toBe(false);
    expect(await ownStats()).toMatchObject({ active: 1, queued: 1, expiredTotal: 0n });

    // The holder dies: no more renewals, and the slot goes to the waiter one TTL later.
    const next = await waiting;
    expect(Date.now()).toBeGreaterThanOrEqual(lastExpiry - 50);
    expect(await ownStats()).toMatchObject({ active: 1, queued: 0, expiredTotal: 1n });
    // A dead holder that wakes up cannot renew its way back into the slot.
    expect(await own.call(contracts.scheduler.renew, { leaseId: long.leaseId })).toMatchObject({ renewed: false });
    await expect(own.call(contracts.scheduler.renew, { leaseId: '' })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('lease_id: required') });
    await own.call(contracts.scheduler.release, { leaseId: next.leaseId });
  });
});
