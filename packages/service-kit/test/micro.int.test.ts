import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanKind, trace } from '@opentelemetry/api';
import { KernosError } from '@kernos/errors';
import { setupTelemetry } from '@kernos/telemetry';
import { contracts } from '@kernos/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, createKernelClient, createKernosService, handle, type KernosService, type NatsConnection } from '../src/index.js';

// A real nats-server (started by the integration global setup), a real micro service and a real client.
const exporter = new InMemorySpanExporter();
const telemetry = setupTelemetry({ serviceName: 'service-kit-test', exporters: [exporter] });
let nc: NatsConnection;
let service: KernosService;

beforeAll(async () => {
  nc = await connectNats({ url: process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'service-kit-test' });
  service = createKernosService({
    nc,
    tracer: telemetry.tracer,
    name: 'access',
    version: '0.0.0-test',
    description: 'test double of the access contract',
    queue: `test-${Date.now()}`,
    endpoints: [
      handle(contracts.access.check, async (request) => {
        if (request.resource === 'explode') throw new KernosError('rate_limited', 'slow down: too many checks');
        if (request.resource === 'crash') throw new Error('unexpected bug');
        return { reason: `checked ${request.resource}`, rule: 'echo' };
      }),
    ],
  });
  await service.start();
});

afterAll(async () => {
  await service.stop();
  await nc.drain();
  await telemetry.shutdown();
});

describe('kernel request/reply over real NATS', () => {
  it('round-trips typed messages', async () => {
    const reply = await createKernelClient(nc, telemetry.tracer).call(contracts.access.check, { action: 'tool.call', resource: 'echo' });
    expect(reply.reason).toBe('checked echo');
  });

  it('carries the error code and retryable flag across NATS', async () => {
    const client = createKernelClient(nc, telemetry.tracer);
    const error = await client.call(contracts.access.check, { resource: 'explode' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernosError);
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true, message: 'slow down: too many checks' });
    const crash = await client.call(contracts.access.check, { resource: 'crash' }).catch((e: unknown) => e);
    expect(crash).toMatchObject({ code: 'internal', retryable: false, message: 'unexpected bug' });
  });

  it('reports a missing service as unavailable and retryable', async () => {
    const error = await createKernelClient(nc, telemetry.tracer).call(contracts.graph.facts, { subject: 'x' }, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect((error as Error).message).toContain('no graph service is running');
  });

  it('continues the caller trace in the handler span', async () => {
    exporter.reset();
    const tracer = trace.getTracer('caller');
    await tracer.startActiveSpan('activity', async (root) => {
      await createKernelClient(nc, telemetry.tracer).call(contracts.access.check, { resource: 'traced' });
      root.end();
    });
    const spans = exporter.getFinishedSpans();
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'send kernos.access.check');
    const server = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'process kernos.access.check');
    expect(client).toBeDefined();
    expect(server).toBeDefined();
    expect(server!.spanContext().traceId).toBe(client!.spanContext().traceId);
    expect(server!.parentSpanContext?.spanId).toBe(client!.spanContext().spanId);
  });
});
