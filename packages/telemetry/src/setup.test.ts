import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { kernelMetrics } from '@kernos/service-kit';
import { setupTelemetry, temporalWorkflowSpanProcessor } from './setup.js';

describe('setupTelemetry', () => {
  const spans = new InMemorySpanExporter();
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const telemetry = setupTelemetry({ serviceName: 'unit', exporters: [spans], metricReaders: [reader] });

  it('records the kernel instruments on the global meter when a reader is configured', async () => {
    const m = kernelMetrics(metrics.getMeter('kernos'));
    m.tokenUsage.record(120, { 'gen_ai.token.type': 'input', 'gen_ai.request.model': 'm' });
    m.queueWait.record(35, { 'kernos.scheduler.endpoint': 'default' });
    m.toolDuration.record(12, { 'gen_ai.tool.name': 'echo' });
    const { resourceMetrics } = await reader.collect();
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((x) => x.descriptor.name));
    expect(names).toEqual(expect.arrayContaining(['gen_ai.client.token.usage', 'kernos.scheduler.queue.wait', 'kernos.tool.duration']));
    expect(resourceMetrics.resource.attributes['service.name']).toBe('unit');
  });

  it('adapts Temporal workflow spans (SDK 1.x shape) so their parent link survives export', () => {
    const parent = trace.getTracer('t').startSpan('parent');
    const { traceId, spanId } = parent.spanContext();
    parent.end();
    const v1Span = {
      name: 'RunWorkflow:agentWorkflow',
      kind: 0,
      spanContext: () => ({ traceId, spanId: '1'.repeat(16), traceFlags: 1 }),
      parentSpanId: spanId,
      instrumentationLibrary: { name: '@temporalio/interceptor-workflow' },
      startTime: [0, 0],
      endTime: [0, 1],
      duration: [0, 1],
      status: { code: 0 },
      attributes: {},
      links: [],
      events: [],
      ended: true,
      resource: telemetry.resource,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    temporalWorkflowSpanProcessor(telemetry.spanProcessor).onEnd(v1Span as never);
    const exported = spans.getFinishedSpans().find((s) => s.name === 'RunWorkflow:agentWorkflow');
    expect(exported?.parentSpanContext?.spanId).toBe(spanId);
    expect(exported?.instrumentationScope.name).toBe('@temporalio/interceptor-workflow');
  });
});
