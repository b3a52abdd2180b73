import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { Kvm, type KV } from '@nats-io/kv';
import { KernosError } from '@kernos/errors';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts, scheduler } from '@kernos/wire';
import { createSchedulerService, type SchedulerService } from '../src/service.js';

// Two scheduler replicas in-process on the shared NATS server, each on its own connection (its "process"), with
// a test-unique KV bucket and subject prefix. The leader is killed mid-load by closing its connection without a
// shutdown; the follower must take over with the leader's active leases and queued tickets, never granting more
// than maxConcurrent.
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const prefix = `test-${tag}.`;
const bucket = `kernos-scheduler-test-${tag}`;
const url = process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const tracer = trace.getTracer('scheduler-failover-int-test');
const endpoint = { name: 'pair', baseUrl: 'http://127.0.0.1:8400/v1', model: 'm', maxConcurrent: 2, policy: 'fifo' as const };
// A second endpoint for the controls, budgets and blocking acquires that must survive the takeover too.
const side = { name: 'side', baseUrl: 'http://127.0.0.1:8400/v1', model: 'm', maxConcurrent: 1, policy: 'fifo' as const };

let clientNc: NatsConnection;
let client: KernelClient;
const replicas: { nc: NatsConnection; service: SchedulerService }[] = [];

async function startReplica(replicaId: string): Promise<{ nc: NatsConnection; service: SchedulerService }> {
  const nc = await connectNats({ url, name: `scheduler-${replicaId}` });
  const kv: KV = await new Kvm(nc).create(bucket, { history: 1 });
  const service = createSchedulerService({
    nc,
    tracer,
    logger: createLogger('scheduler', () => undefined),
    endpoints: [endpoint, side],
    subjectPrefix: prefix,
    replication: { state: kv, election: kv, replicaId, termMs: 1_000 },
  });
  await service.start();
  const replica = { nc, service };
  replicas.push(replica);
  return replica;
}

/** Calls the scheduler, retrying while no replica serves (a takeover in progress), as activities do. */
async function call<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof KernosError) || !error.retryable || i > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const enqueue = (ticketId: string) =>
  call(() => client.call(contracts.scheduler.enqueue, { ticketId, turn: { endpoint: 'pair', ref: { tenant: 't', runId: ticketId } } }, { timeoutMs: 2_000 }));
const ticketOf = async (ticketId: string) => (await call(() => client.call(contracts.scheduler.ticket, { ticketId }, { timeoutMs: 2_000 }))).ticket!;
const stats = async () => (await call(() => client.call(contracts.scheduler.stats, {}, { timeoutMs: 2_000 }))).endpoints[0]!;
const sideStats = async () => (await call(() => client.call(contracts.scheduler.stats, {}, { timeoutMs: 2_000 }))).endpoints[1]!;
const acquireSide = (runId: string, jobId = '') => client.call(contracts.scheduler.acquire, { endpoint: 'side', ref: { tenant: 't', runId, jobId } }, { timeoutMs: 20_000 });
const storedKeys = async (prefix: string) => {
  const keys: string[] = [];
  for await (const key of await (await new Kvm(clientNc).open(bucket)).keys(`${prefix}>`)) keys.push(key);
  return keys;
};
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  clientNc = await connectNats({ url, name: 'scheduler-failover-client' });
  client = createKernelClient(clientNc, tracer, { subjectPrefix: prefix });
});

afterAll(async () => {
  for (const replica of replicas) {
    await replica.service.stop().catch(() => undefined);
    if (!replica.nc.isClosed()) await replica.nc.close();
  }
  await new Kvm(clientNc).open(bucket).then((kv) => kv.destroy()).catch(() => undefined);
  await clientNc?.drain();
});

describe('scheduler replicas', () => {
  it('elect one leader; killed mid-load, the other takes over its leases and queue without double-granting', async () => {
    const a = await startReplica('a');
    const b = await startReplica('b');
    expect([a.service.serving(), b.service.serving()]).toEqual([true, false]);

    const ids = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5'];
    for (const id of ids) await enqueue(id);
    const before = await Promise.all(ids.map(ticketOf));
    const granted = before.filter((t) => t.state === scheduler.TicketState.GRANTED);
    expect(granted.map((t) => t.ticketId)).toEqual(['q0', 'q1']);
    expect(await stats()).toMatchObject({ active: 2, queued: 4 });

    // Operator state and blocking acquires on the side endpoint. A stop budget that a run has already exceeded:
    expect((await client.call(contracts.scheduler.budget, { runId: 'spender', maxTokens: 10n, onExceed: scheduler.BudgetAction.STOP })).exceeded).toBe(false);
    const spent = await acquireSide('spender');
    await client.call(contracts.scheduler.release, { leaseId: spent.leaseId, inputTokens: 15, outputTokens: 5 });
    // A held job with a queued turn, the slot taken, and two blocking acquires waiting behind it.
    await client.call(contracts.scheduler.control, { action: scheduler.ControlAction.HOLD_JOB, target: 'held-job' });
    const sideHolder = await acquireSide('side-holder');
    await call(() => client.call(contracts.scheduler.enqueue, { ticketId: 'held-ticket', turn: { endpoint: 'side', ref: { tenant: 't', runId: 'held-run', jobId: 'held-job' } } }));
    const waiterGrants: string[] = [];
    const waiters = ['w1', 'w2'].map((runId) =>
      acquireSide(runId).then((lease) => {
        waiterGrants.push(runId);
        return lease;
      }),
    );
    await eventually(async () => (await storedKeys('waiter.')).length === 2, 'both blocking acquires to be stored');
    expect(await sideStats()).toMatchObject({ active: 1, queued: 3, held: 1 });

    // Kill the leader: no shutdown, no hand-over; its term must run out.
    await a.nc.close();
    const killedAt = Date.now();
    for (let i = 0; i < 100 && !b.service.serving(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(b.service.serving()).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(5_000);

    // The hold, the budget (with what was spent) and the blocking acquires survived the takeover.
    expect(await sideStats()).toMatchObject({ active: 1, queued: 3, held: 1 });
    await expect(acquireSide('spender')).rejects.toMatchObject({ code: 'denied', message: expect.stringContaining('20 of 10 tokens') });
    expect(waiterGrants).toEqual([]);
    // Freeing the slot grants the first waiter; the new leader answers the request the dead one had queued.
    await call(() => client.call(contracts.scheduler.release, { leaseId: sideHolder.leaseId }));
    const w1 = await waiters[0]!;
    expect(waiterGrants).toEqual(['w1']);
    expect(await sideStats()).toMatchObject({ active: 1, queued: 2, held: 1 });
    await call(() => client.call(contracts.scheduler.release, { leaseId: w1.leaseId }));
    const w2 = await waiters[1]!;
    expect(waiterGrants).toEqual(['w1', 'w2']);
    expect(w2.leaseId).not.toBe(w1.leaseId);
    await call(() => client.call(contracts.scheduler.release, { leaseId: w2.leaseId }));
    // Each waiter was granted once: no lease is left over, and the held turn still waits with a free slot.
    expect(await sideStats()).toMatchObject({ active: 0, queued: 1, held: 1 });
    expect(await storedKeys('waiter.')).toEqual([]);
    expect((await ticketOf('held-ticket')).state).toBe(scheduler.TicketState.QUEUED);
    await client.call(contracts.scheduler.control, { action: scheduler.ControlAction.RELEASE_JOB, target: 'held-job' });
    expect((await ticketOf('held-ticket')).state).toBe(scheduler.TicketState.GRANTED);
    await call(() => client.call(contracts.scheduler.withdraw, { ticketId: 'held-ticket' }));

    // More load arrives during and after the takeover.
    await enqueue('q6');
    // The successor knows the two running leases: nothing more is granted while they run.
    expect(await stats()).toMatchObject({ active: 2, queued: 5 });
    const after = await Promise.all(ids.map(ticketOf));
    expect(after.map((t) => t.state)).toEqual(before.map((t) => t.state));
    expect(after[0]!.lease!.leaseId).toBe(granted[0]!.lease!.leaseId);
    // Enqueueing a ticket again after the takeover still returns the same ticket.
    expect((await enqueue('q0')).ticket!.lease!.leaseId).toBe(granted[0]!.lease!.leaseId);

    // Releasing an old leader's lease on the new leader frees its slot; the queue advances in arrival order.
    const released = await call(() => client.call(contracts.scheduler.release, { leaseId: granted[0]!.lease!.leaseId, inputTokens: 1, outputTokens: 1 }));
    expect(released.released).toBe(true);
    expect((await ticketOf('q2')).state).toBe(scheduler.TicketState.GRANTED);
    expect((await ticketOf('q3')).state).toBe(scheduler.TicketState.QUEUED);
    expect(await stats()).toMatchObject({ active: 2, queued: 4 });

    // A replica that restarts later finds a leader and stays a follower.
    const c = await startReplica('c');
    expect(c.service.serving()).toBe(false);
    // A graceful stop hands over at once: c takes over with the current state.
    await b.service.stop();
    for (let i = 0; i < 50 && !c.service.serving(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(c.service.serving()).toBe(true);
    expect(await stats()).toMatchObject({ active: 2, queued: 4 });
    expect((await ticketOf('q2')).state).toBe(scheduler.TicketState.GRANTED);
  });
});
