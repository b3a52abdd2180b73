import { metrics, type Counter, type Histogram, type Meter } from '@opentelemetry/api';

/** The kernel's shared instruments. Names follow the OpenTelemetry GenAI conventions where one exists. */
export interface KernelMetrics {
  /** gen_ai.client.token.usage: tokens per LLM call, by gen_ai.token.type (input | output) and model. */
  tokenUsage: Histogram;
  /** gen_ai.client.operation.duration: seconds per LLM call. */
  operationDuration: Histogram;
  /** kernos.scheduler.queue.wait: ms a turn waited for its lease, by endpoint. */
  queueWait: Histogram;
  /** kernos.tool.duration: ms per tool call through the gateway, by tool and outcome. */
  toolDuration: Histogram;
  /** kernos.access.decisions: access decisions, by action and decision. */
  accessDecisions: Counter;
  meter: Meter;
}

/**
 * Instruments on the global meter. With no SDK meter provider installed (metrics off) these are the API's no-ops,
 * so libraries can record unconditionally; main.ts decides whether anything is exported (STYLE.md §8).
 */
export function kernelMetrics(meter: Meter = metrics.getMeter('kernos')): KernelMetrics {
  return {
    meter,
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', { unit: '{token}', description: 'Tokens used per LLM call' }),
    operationDuration: meter.createHistogram('gen_ai.client.operation.duration', { unit: 's', description: 'Duration of an LLM call' }),
    queueWait: meter.createHistogram('kernos.scheduler.queue.wait', { unit: 'ms', description: 'Time a turn waited for its lease' }),
    toolDuration: meter.createHistogram('kernos.tool.duration', { unit: 'ms', description: 'Tool call latency through the gateway' }),
    accessDecisions: meter.createCounter('kernos.access.decisions', { description: 'Access decisions by action and decision' }),
  };
}
