import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** One span as received, flattened from OTLP/JSON: ids are lowercase hex, attributes plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** service.name of the process that exported it. */
  service: string;
  /** OTLP SpanKind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
  kind: number;
  startUnixNano: string;
  endUnixNano: string;
  attributes: Record<string, unknown>;
  /** OTLP status code (0 unset, 1 ok, 2 error). */
  statusCode: number;
}

/** One metric data point as received, flattened from OTLP/JSON (sums and gauges: value; histograms: count and sum). */
export interface ReceivedMetricPoint {
  /** Instrument name, e.g. kernos.scheduler.queue.wait. */
  name: string;
  /** service.name of the process that exported it. */
  service: string;
  /** gauge, sum or histogram (exponential histograms and summaries count as histogram). */
  type: 'gauge' | 'sum' | 'histogram';
  attributes: Record<string, unknown>;
  /** Gauge or sum value; for a histogram its sum. */
  value: number;
  /** Histogram observations in this point; 1 for gauges and sums. */
  count: number;
  timeUnixNano: string;
}

export interface OtlpReceiverOptions {
  /** Port to listen on, on 127.0.0.1 (default 0: a free port). */
  port?: number;
  /** Spans kept in memory; the oldest go first (default 50000). */
  maxSpans?: number;
  /** Metric points kept in memory; the oldest go first (default 50000). */
  maxMetricPoints?: number;
}

export interface OtlpReceiver {
  /** The traces endpoint for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, e.g. http://127.0.0.1:4318/v1/traces. */
  readonly tracesUrl: string;
  /** The metrics endpoint for OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, e.g. http://127.0.0.1:4318/v1/metrics. */
  readonly metricsUrl: string;
  spans(): readonly ReceivedSpan[];
  /** Every metric point received so far, oldest first. */
  metrics(): readonly ReceivedMetricPoint[];
  /** Every span of one trace, in start order. */
  trace(traceId: string): ReceivedSpan[];
  close(): Promise<void>;
}

/**
 * A tiny OTLP/HTTP receiver for the JSON protocol (what the @opentelemetry/exporter-*-otlp-http exporters send):
 * traces and metrics. Kept in memory: tests assert on whole traces and on exported metrics with it, and the cockpit shows a run's trace with it when no trace backend
 * is deployed. Protobuf bodies are answered 415 so a misconfigured exporter says so instead of silently losing spans.
 */
export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const maxSpans = options.maxSpans ?? 50_000;
  const maxPoints = options.maxMetricPoints ?? 50_000;
  const received: ReceivedSpan[] = [];
  const points: ReceivedMetricPoint[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const signal = req.url?.startsWith('/v1/traces') ? 'traces' : req.url?.startsWith('/v1/metrics') ? 'metrics' : undefined;
      if (req.method !== 'POST' || !signal) {
        // Logs are accepted and dropped, so one endpoint can serve every signal of a process.
        res.writeHead(req.method === 'POST' ? 200 : 404, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      if (!String(req.headers['content-type'] ?? '').includes('json')) {
        res.writeHead(415, { 'content-type': 'text/plain' }).end('only OTLP/HTTP JSON is accepted (use an http/json exporter)');
        return;
      }
      try {
        const body = JSON.parse((await readBody(req)).toString('utf8')) as unknown;
        if (signal === 'metrics') {
          points.push(...flattenMetrics(body as OtlpMetrics));
          if (points.length > maxPoints) points.splice(0, points.length - maxPoints);
        } else {
          received.push(...flatten(body as OtlpTraces));
          if (received.length > maxSpans) received.splice(0, received.length - maxSpans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad OTLP/JSON body: ${(error as Error).message}`);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    tracesUrl: `http://127.0.0.1:${port}/v1/traces`,
    metricsUrl: `http://127.0.0.1:${port}/v1/metrics`,
    spans: () => received,
    metrics: () => points,
    trace: (traceId) => received.filter((s) => s.traceId === traceId).sort((a, b) => (BigInt(a.startUnixNano) < BigInt(b.startUnixNano) ? -1 : 1)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
        attributes?: OtlpAttribute[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

function flatten(body: OtlpTraces): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        out.push({
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: span.parentSpanId ? hexId(span.parentSpanId) : '',
          name: span.name,
          service: String(resource['service.name'] ?? 'unknown'),
          kind: span.kind ?? 0,
          startUnixNano: String(span.startTimeUnixNano),
          endUnixNano: String(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          statusCode: span.status?.code ?? 0,
        });
      }
    }
  }
  return out;
}

interface OtlpNumberPoint {
  attributes?: OtlpAttribute[];
  asInt?: string | number;
  asDouble?: number;
  timeUnixNano?: string | number;
}
interface OtlpHistogramPoint {
  attributes?: OtlpAttribute[];
  count?: string | number;
  sum?: number;
  timeUnixNano?: string | number;
}
interface OtlpMetrics {
  resourceMetrics?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeMetrics?: {
      metrics?: {
        name: string;
        gauge?: { dataPoints?: OtlpNumberPoint[] };
        sum?: { dataPoints?: OtlpNumberPoint[] };
        histogram?: { dataPoints?: OtlpHistogramPoint[] };
        exponentialHistogram?: { dataPoints?: OtlpHistogramPoint[] };
        summary?: { dataPoints?: OtlpHistogramPoint[] };
      }[];
    }[];
  }[];
}

function flattenMetrics(body: OtlpMetrics): ReceivedMetricPoint[] {
  const out: ReceivedMetricPoint[] = [];
  for (const rm of body.resourceMetrics ?? []) {
    const service = String(attributesOf(rm.resource?.attributes)['service.name'] ?? 'unknown');
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const base = { name: metric.name, service };
        for (const [type, numbers] of [
          ['gauge', metric.gauge?.dataPoints],
          ['sum', metric.sum?.dataPoints],
        ] as const) {
          for (const p of numbers ?? []) {
            out.push({ ...base, type, attributes: attributesOf(p.attributes), value: Number(p.asDouble ?? p.asInt ?? 0), count: 1, timeUnixNano: String(p.timeUnixNano ?? 0) });
          }
        }
        for (const p of [...(metric.histogram?.dataPoints ?? []), ...(metric.exponentialHistogram?.dataPoints ?? []), ...(metric.summary?.dataPoints ?? [])]) {
          out.push({ ...base, type: 'histogram', attributes: attributesOf(p.attributes), value: Number(p.sum ?? 0), count: Number(p.count ?? 0), timeUnixNano: String(p.timeUnixNano ?? 0) });
        }
      }
    }
  }
  return out;
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

function valueOf(value: OtlpValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

/** The JS exporter writes hex ids in JSON; the OTLP spec's JSON mapping allows base64 too, so both are read. */
function hexId(id: string): string {
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}
