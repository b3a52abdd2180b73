import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. Unset: spans are made (and propagated) but not exported. */
  otlpEndpoint?: string;
  /** Extra exporters (tests pass an in-memory one); exported synchronously so tests see spans at once. */
  exporters?: SpanExporter[];
}

export interface Telemetry {
  tracer: Tracer;
  /** Flushes and stops exporting; the last step of an ordered shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Wires the OpenTelemetry SDK for one process: W3C trace context propagation, async-hooks context, and export.
 * Only main.ts (and tests) call this; libraries depend on @opentelemetry/api alone (STYLE.md §8).
 */
export function setupTelemetry(options: TelemetryOptions): Telemetry {
  const processors: SpanProcessor[] = [];
  if (options.otlpEndpoint) processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpEndpoint })));
  for (const exporter of options.exporters ?? []) processors.push(new SimpleSpanProcessor(exporter));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.1.0',
    }),
    spanProcessors: processors,
  });
  // register() installs the W3C propagator and the AsyncLocalStorage context manager globally.
  provider.register();
  return {
    tracer: trace.getTracer(`kernos.${options.serviceName}`, options.serviceVersion ?? '0.1.0'),
    shutdown: () => provider.shutdown(),
  };
}
