import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdmission } from '../admission/admission.js';
import { traceAdmission } from './admission-span.js';

// A real SDK provider, so the spans traceAdmission records can be read back (each test file runs in its own worker,
// so registering it globally here touches no other test).
const exporter = new InMemorySpanExporter();
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
});
beforeEach(() => exporter.reset());

const admission = () =>
  createAdmission({
    endpoints: [{ name: 'solo', baseUrl: 'http://127.0.0.1:8400/v1', model: 'm', maxConcurrent: 1, policy: 'priority' }],
    leaseTtlMs: 60_000,
  });
const ref = { tenant: 't', jobId: 'j', runId: 'run-1', agentId: 'a' };

async function spansSoon(count: number): Promise<ReadableSpan[]> {
  for (let i = 0; i < 100 && exporter.getFinishedSpans().length < count; i += 1) await new Promise((r) => setTimeout(r, 5));
  return exporter.getFinishedSpans();
}

describe('traceAdmission', () => {
  it('records the queue wait from enqueue to grant, and the policy decision under it, under the request span', async () => {
    const queue = admission();
    const parent = trace.getTracer('test').startSpan('process kernos.scheduler.enqueue');
    const first = await queue.acquire('solo', { priority: 1, estimatedTokens: 10, deadlineMs: 0, maxWaitMs: 0, ref });
    const request = { priority: 3, estimatedTokens: 10, deadlineMs: 0, maxWaitMs: 0, ref };
    const pending = queue.acquire('solo', request);
    traceAdmission(queue, 'solo', request, parent, pending);
    await new Promise((r) => setTimeout(r, 30));
    queue.release(first.id);
    const grant = await pending;

    const [decision, admitted] = await spansSoon(2);
    expect(admitted?.name).toBe('admission solo');
    expect(admitted?.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(admitted?.spanContext().traceId).toBe(parent.spanContext().traceId);
    expect(admitted?.attributes).toMatchObject({
      'kernos.scheduler.policy': 'priority',
      'kernos.scheduler.queue_depth': 1,
      'kernos.scheduler.lease_id': grant.id,
      'kernos.run.id': 'run-1',
    });
    expect(admitted!.attributes['kernos.scheduler.wait_ms']).toBeGreaterThanOrEqual(25);
    const lengthMs = admitted!.duration[0] * 1000 + admitted!.duration[1] / 1e6;
    expect(lengthMs).toBeGreaterThanOrEqual(25);
    expect(decision?.name).toBe('admission decision priority');
    expect(decision?.parentSpanContext?.spanId).toBe(admitted!.spanContext().spanId);
    expect(decision?.attributes['kernos.scheduler.decision']).toBe('grant');
  });

  it('records a turn the queue gave up on as a rejected decision with its error code', async () => {
    const queue = admission();
    const parent = trace.getTracer('test').startSpan('process kernos.scheduler.acquire');
    await queue.acquire('solo', { priority: 1, estimatedTokens: 10, deadlineMs: 0, maxWaitMs: 0, ref });
    const request = { priority: 1, estimatedTokens: 10, deadlineMs: 0, maxWaitMs: 20, ref };
    const pending = queue.acquire('solo', request);
    traceAdmission(queue, 'solo', request, parent, pending);
    await expect(pending).rejects.toThrow(/within max_wait_ms 20/);

    const [decision, admitted] = await spansSoon(2);
    expect(admitted?.status.code).toBe(2);
    expect(decision?.attributes).toMatchObject({ 'kernos.scheduler.decision': 'reject', 'kernos.scheduler.error_code': expect.any(String) });
  });
});
