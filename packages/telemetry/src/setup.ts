import { metrics, trace, type Context, type ProxyTracerProvider, type Tracer } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. Unset: spans are made (and propagated) but not exported. */
  otlpEndpoint?: string;
  /**
   * OTLP/HTTP metrics endpoint, e.g. http://127.0.0.1:4318/v1/metrics. Unset: instruments exist (the API's no-op
   * meter) and nothing is exported. Default: unset.
   */
  otlpMetricsEndpoint?: string;
  /**
   * How often metrics are exported when `otlpMetricsEndpoint` is set (default: the standard OTEL_METRIC_EXPORT_INTERVAL
   * variable, else 10000 ms).
   */
  metricsIntervalMs?: number;
  /** Extra exporters (tests pass an in-memory one); exported synchronously so tests see spans at once. */
  exporters?: SpanExporter[];
  /** Extra metric readers (tests pass an in-memory one). Default: none. */
  metricReaders?: MetricReader[];
}

export interface Telemetry {
  tracer: Tracer;
  /** The process's resource (service.name, service.version); the Temporal workflow span sink needs it. */
  resource: Resource;
  /**
   * One processor that feeds every configured exporter. Temporal's workflow interceptors export the spans they
   * make inside the workflow sandbox through it (see {@link temporalWorkflowSpanProcessor}).
   */
  spanProcessor: SpanProcessor;
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
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.1.0',
  });
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  // register() installs the W3C propagator and the AsyncLocalStorage context manager globally. The global can be
  // set only once per process: where another provider registered first (integration files share one process),
  // the tracer must come from this provider itself or its spans would never reach these exporters.
  provider.register();
  const isGlobal = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate?.() === provider;
  const tracerSource = isGlobal ? trace : provider;

  const readers: MetricReader[] = [...(options.metricReaders ?? [])];
  if (options.otlpMetricsEndpoint) {
    const intervalMs = options.metricsIntervalMs ?? metricIntervalFromEnv() ?? 10_000;
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: options.otlpMetricsEndpoint }),
        exportIntervalMillis: intervalMs,
        // The reader refuses a timeout longer than its interval.
        exportTimeoutMillis: Math.min(30_000, intervalMs),
      }),
    );
  }
  // Without a reader the global meter stays the API's no-op, so instruments cost nothing when metrics are off.
  const meterProvider = readers.length > 0 ? new MeterProvider({ resource, readers }) : undefined;
  if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);

  return {
    tracer: tracerSource.getTracer(`kernos.${options.serviceName}`, options.serviceVersion ?? '0.1.0'),
    resource,
    spanProcessor: fanOut(processors),
    shutdown: async () => {
      await Promise.allSettled([provider.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

/**
 * The SDK reads OTEL_BSP_* itself but PeriodicExportingMetricReader does not read OTEL_METRIC_EXPORT_INTERVAL, so it
 * is honoured here: operators (and tests that must not wait 10 s) set it the standard way for every process.
 */
function metricIntervalFromEnv(): number | undefined {
  const value = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

function fanOut(processors: SpanProcessor[]): SpanProcessor {
  return {
    onStart: (span: Span, parent: Context) => processors.forEach((p) => p.onStart(span, parent)),
    onEnd: (span: ReadableSpan) => processors.forEach((p) => p.onEnd(span)),
    forceFlush: async () => void (await Promise.all(processors.map((p) => p.forceFlush()))),
    shutdown: async () => void (await Promise.all(processors.map((p) => p.shutdown()))),
  };
}

/** The span shape @temporalio/interceptors-opentelemetry 1.x rebuilds from the workflow sandbox (SDK 1.x fields). */
interface SdkV1Span {
  parentSpanId?: string;
  parentSpanContext?: unknown;
  instrumentationLibrary?: { name: string; version?: string; schemaUrl?: string };
  instrumentationScope?: unknown;
  spanContext(): { traceId: string; traceFlags: number };
}

/**
 * Adapts the workflow spans Temporal's interceptors export (built against OpenTelemetry SDK 1.x: `parentSpanId`,
 * `instrumentationLibrary`) to SDK 2.x processors (`parentSpanContext`, `instrumentationScope`). Without it the
 * OTLP exporter drops the workflow spans' parent links and the trace falls apart at the workflow.
 */
export function temporalWorkflowSpanProcessor(target: SpanProcessor): SpanProcessor {
  return {
    onStart: () => undefined,
    onEnd: (span: ReadableSpan) => {
      const v1 = span as unknown as SdkV1Span;
      const adapted = Object.create(span) as Record<string, unknown>;
      Object.assign(adapted, span);
      if (v1.parentSpanContext === undefined && v1.parentSpanId) {
        const { traceId, traceFlags } = v1.spanContext();
        adapted.parentSpanContext = { traceId, spanId: v1.parentSpanId, traceFlags, isRemote: false };
      }
      if (v1.instrumentationScope === undefined) {
        adapted.instrumentationScope = v1.instrumentationLibrary ?? { name: '@temporalio/interceptor-workflow' };
      }
      target.onEnd(adapted as unknown as ReadableSpan);
    },
    forceFlush: () => target.forceFlush(),
    shutdown: () => target.shutdown(),
  };
}
