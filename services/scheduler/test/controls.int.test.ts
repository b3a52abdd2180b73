import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts, scheduler } from '@kernos/wire';
import { createSchedulerService, type SchedulerService } from '../src/service.js';

// Operator controls, budgets, tickets and stats over real NATS. The service runs in-process under its own
// subject prefix, so the schedulers of other kernels on the shared server never answer these requests.
const prefix = `test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}.`;
const tracer = trace.getTracer('scheduler-controls-int-test');
let nc: NatsConnection;
let client: KernelClient;
let service: SchedulerService;

beforeAll(async () => {
  nc = await connectNats({ url: process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'scheduler-controls-int-test' });
  client = createKernelClient(nc, tracer, { subjectPrefix: prefix });
  service = createSchedulerService({
    nc,
    tracer,
    logger: createLogger('scheduler', () => undefined),
    endpoints: [{ name: 'solo', baseUrl: 'http://127.0.0.1:8400/v1', model: 'm', maxConcurrent: 1, policy: 'composite' }],
    subjectPrefix: prefix,
  });
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  await nc?.drain();
});

const solo = async () => (await client.call(contracts.scheduler.stats, {})).endpoints[0]!;
const enqueue = (ticketId: string, runId: string, jobId = 'job') =>
  client.call(contracts.scheduler.enqueue, { ticketId, turn: { endpoint: 'solo', ref: { tenant: 'acme', runId, jobId }, estimatedInputTokens: 10, maxOutputTokens: 10 } });
const ticket = async (ticketId: string) => (await client.call(contracts.scheduler.ticket, { ticketId })).ticket!;

describe('scheduler operator surface over NATS', () => {
  it('tickets, pause/resume, cancel, budgets and drain act at turn boundaries and show in stats', async () => {
    const first = await enqueue('t-hold', 'holder');
    expect(first.ticket).toMatchObject({ state: scheduler.TicketState.GRANTED });
    // Enqueueing the same ticket again is a no-op that returns the same grant.
    expect((await enqueue('t-hold', 'holder')).ticket!.lease!.leaseId).toBe(first.ticket!.lease!.leaseId);

    expect((await enqueue('t-a', 'run-a')).ticket!.state).toBe(scheduler.TicketState.QUEUED);
    expect((await enqueue('t-b', 'run-b')).ticket!.state).toBe(scheduler.TicketState.QUEUED);
    expect(await client.call(contracts.scheduler.control, { action: scheduler.ControlAction.PAUSE_RUN, target: 'run-a' })).toMatchObject({ affected: 1 });
    expect(await solo()).toMatchObject({ active: 1, queued: 2, held: 1, policy: 'composite' });

    // The slot frees: run-b goes ahead of the paused run-a although run-a queued first.
    await client.call(contracts.scheduler.release, { leaseId: first.ticket!.lease!.leaseId, inputTokens: 40, outputTokens: 60 });
    expect((await ticket('t-b')).state).toBe(scheduler.TicketState.GRANTED);
    expect((await ticket('t-a')).state).toBe(scheduler.TicketState.QUEUED);

    // Cancel the paused run: its queued ticket fails with conflict; a new one is refused.
    await client.call(contracts.scheduler.control, { action: scheduler.ControlAction.CANCEL_RUN, target: 'run-a', reason: 'operator test' });
    expect(await ticket('t-a')).toMatchObject({ state: scheduler.TicketState.FAILED, errorCode: 'conflict' });

    // A stop budget on run-c: its first turn uses 100 tokens, over the budget of 50, so the next is denied.
    await client.call(contracts.scheduler.budget, { runId: 'run-c', maxTokens: 50n, onExceed: scheduler.BudgetAction.STOP });
    const leaseB = (await ticket('t-b')).lease!.leaseId;
    expect((await enqueue('t-c1', 'run-c')).ticket!.state).toBe(scheduler.TicketState.QUEUED);
    await client.call(contracts.scheduler.release, { leaseId: leaseB, inputTokens: 5, outputTokens: 5 });
    const c1 = await ticket('t-c1');
    expect(c1.state).toBe(scheduler.TicketState.GRANTED);
    await client.call(contracts.scheduler.release, { leaseId: c1.lease!.leaseId, inputTokens: 50, outputTokens: 50 });
    const refused = await enqueue('t-c2', 'run-c');
    expect(refused.ticket).toMatchObject({ state: scheduler.TicketState.FAILED, errorCode: 'denied' });
    expect(refused.ticket!.errorMessage).toBe('run run-c has used its token budget (100 of 50 tokens)');

    // Drain: nothing new is granted although the slot is free; resume grants it.
    await client.call(contracts.scheduler.control, { action: scheduler.ControlAction.DRAIN_ENDPOINT, target: 'solo' });
    expect((await enqueue('t-d', 'run-d')).ticket!.state).toBe(scheduler.TicketState.QUEUED);
    expect(await solo()).toMatchObject({ active: 0, queued: 1, draining: true });
    await client.call(contracts.scheduler.control, { action: scheduler.ControlAction.RESUME_ENDPOINT, target: 'solo' });
    expect((await ticket('t-d')).state).toBe(scheduler.TicketState.GRANTED);
    expect(await client.call(contracts.scheduler.withdraw, { ticketId: 't-d' })).toEqual(expect.objectContaining({ withdrawn: true }));

    const stats = await solo();
    expect(stats).toMatchObject({ active: 0, queued: 0, draining: false });
    expect(stats.tenants).toEqual([expect.objectContaining({ tenant: 'acme', grantedTotal: 4n, tokensTotal: 210n, queued: 0 })]);
    expect(stats.utilisation).toBeGreaterThan(0);
    expect(await ticket('never-seen')).toMatchObject({ state: scheduler.TicketState.UNKNOWN });
  });

  it('rejects bad operator input naming the fields', async () => {
    await expect(client.call(contracts.scheduler.control, { target: 'x' })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('action: expected one of') });
    await expect(client.call(contracts.scheduler.enqueue, { ticketId: '' })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('ticket_id: required') });
  });
});
