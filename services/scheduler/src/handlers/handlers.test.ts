import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { create, scheduler } from '@kernos/wire';
import { createAdmission } from '../admission/admission.js';
import { acquire } from './acquire.js';
import { release, renew } from './release.js';
import { budget, control } from './control.js';
import { stats } from './stats.js';

// No SDK is registered in unit tests, so this is a non-recording span: handlers can set attributes on it freely.
const span = trace.getTracer('test').startSpan('test');

const admission = () =>
  createAdmission({
    endpoints: [{ name: 'default', baseUrl: 'http://127.0.0.1:8400/v1', model: 'kernos-emu-small', maxConcurrent: 1, policy: 'priority' }],
    leaseTtlMs: 60_000,
  });

const acquireRequest = (init: Parameters<typeof create<typeof scheduler.AcquireRequestSchema>>[1] = {}) =>
  create(scheduler.AcquireRequestSchema, { endpoint: 'default', ...init });

describe('acquire handler', () => {
  it('replies with where to call and when the lease ends', async () => {
    const before = Date.now();
    const reply = await acquire(admission(), acquireRequest({ priority: 2, estimatedInputTokens: 100, maxOutputTokens: 50 }), span);
    expect(reply).toMatchObject({ endpoint: 'default', baseUrl: 'http://127.0.0.1:8400/v1', model: 'kernos-emu-small', waitedMs: 0n });
    expect(reply.leaseId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(reply.expiresAtMs) - Number(reply.grantedAtMs)).toBe(60_000);
    expect(Number(reply.grantedAtMs)).toBeGreaterThanOrEqual(before);
  });

  it('rejects negative numbers naming each field', async () => {
    const error = await acquire(admission(), acquireRequest({ estimatedInputTokens: -1, maxOutputTokens: -2, maxWaitMs: -3n }), span).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'invalid_argument' });
    const message = (error as Error).message;
    expect(message).toContain('estimated_input_tokens: must not be negative, got -1');
    expect(message).toContain('max_output_tokens: must not be negative, got -2');
    expect(message).toContain('max_wait_ms: must not be negative, got -3');
  });

  it('requires an endpoint and lists the known ones', async () => {
    await expect(acquire(admission(), acquireRequest({ endpoint: '' }), span)).rejects.toMatchObject({
      code: 'invalid_argument',
      message: 'kernos.scheduler.acquire: endpoint: required (known endpoints: default)',
    });
  });

  it('turns an unknown endpoint into not_found', async () => {
    await expect(acquire(admission(), acquireRequest({ endpoint: 'gpt-9' }), span)).rejects.toMatchObject({
      code: 'not_found',
      message: 'unknown endpoint "gpt-9"; known endpoints: default',
    });
  });
});

describe('release handler', () => {
  it('frees a held lease once and counts its tokens', async () => {
    const a = admission();
    const { leaseId } = await acquire(a, acquireRequest(), span);
    const request = create(scheduler.ReleaseRequestSchema, { leaseId, inputTokens: 120, outputTokens: 30 });
    expect(release(a, request, span)).toEqual({ released: true });
    expect(release(a, request, span)).toEqual({ released: false });
    expect(stats(a).endpoints![0]).toMatchObject({ active: 0, grantedTotal: 1n, tokensTotal: 150n });
  });

  it('answers released=false for an unknown lease', () => {
    expect(release(admission(), create(scheduler.ReleaseRequestSchema, { leaseId: 'never-granted' }), span)).toEqual({ released: false });
  });

  it('rejects a missing lease id and negative usage, naming the fields', () => {
    expect(() => release(admission(), create(scheduler.ReleaseRequestSchema, { inputTokens: -5 }), span)).toThrow(
      'kernos.scheduler.release: lease_id: required; input_tokens: must not be negative, got -5',
    );
  });
});

describe('renew handler', () => {
  it('extends an active lease, answers renewed=false once it is released, and requires a lease id', async () => {
    const a = admission();
    const { leaseId, expiresAtMs } = await acquire(a, acquireRequest(), span);
    const renewed = renew(a, create(scheduler.RenewRequestSchema, { leaseId }), span);
    expect(renewed.renewed).toBe(true);
    expect(Number(renewed.expiresAtMs)).toBeGreaterThanOrEqual(Number(expiresAtMs));
    release(a, create(scheduler.ReleaseRequestSchema, { leaseId }), span);
    expect(renew(a, create(scheduler.RenewRequestSchema, { leaseId }), span)).toEqual({ renewed: false });
    expect(() => renew(a, create(scheduler.RenewRequestSchema, { leaseId: ' ' }), span)).toThrow('kernos.scheduler.renew: lease_id: required');
  });
});

describe('control and budget handlers', () => {
  it('name the bad fields', () => {
    expect(() => control(admission(), create(scheduler.ControlRequestSchema, {}))).toThrow(
      /kernos.scheduler.control: action: expected one of pause-run, .*, got 0; target: required/,
    );
    expect(() => budget(admission(), create(scheduler.BudgetRequestSchema, { runId: 'r', jobId: 'j', maxTokens: -1n }))).toThrow(
      'kernos.scheduler.budget: run_id, job_id: set exactly one; max_tokens: must not be negative, got -1',
    );
  });

  it('pause a run through the wire enum and report a budget', async () => {
    const a = admission();
    await acquire(a, acquireRequest(), span);
    void acquire(a, acquireRequest({ ref: { runId: 'r' } }), span).catch(() => undefined);
    expect(control(a, create(scheduler.ControlRequestSchema, { action: scheduler.ControlAction.PAUSE_RUN, target: 'r' }))).toEqual({ affected: 1 });
    expect(stats(a).endpoints![0]).toMatchObject({ held: 1, queued: 1 });
    expect(budget(a, create(scheduler.BudgetRequestSchema, { runId: 'r', maxTokens: 10n, onExceed: scheduler.BudgetAction.STOP }))).toEqual({ spentTokens: 0n, exceeded: false });
    a.close();
  });
});

describe('stats handler', () => {
  it('reports every endpoint with its limits and counters', async () => {
    const a = admission();
    await acquire(a, acquireRequest(), span);
    void acquire(a, acquireRequest(), span).catch(() => undefined);
    expect(stats(a)).toEqual({
      endpoints: [
        {
          endpoint: 'default',
          maxConcurrent: 1,
          active: 1,
          queued: 1,
          grantedTotal: 1n,
          tokensTotal: 0n,
          expiredTotal: 0n,
          waitTimeoutsTotal: 0n,
          held: 0,
          draining: false,
          waitP50Ms: 0n,
          waitP95Ms: 0n,
          utilisation: expect.any(Number),
          policy: 'priority',
          tenants: [{ tenant: '', grantedTotal: 1n, tokensTotal: 0n, queued: 1 }],
        },
      ],
    });
    a.close();
  });
});
