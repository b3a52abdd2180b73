import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { toKernosError } from '@kernos/errors';
import type { Admission, Grant } from '../admission/admission.js';
import type { AdmissionRequest } from '../admission/endpoint-queue.js';

/**
 * Kernel spans for one turn's admission, children of the request's server span so they sit in the run's trace:
 * `admission <endpoint>` from enqueue to grant (or failure), and under it `admission decision <policy>` at the moment
 * the policy picked the turn (or the queue gave up on it). Recorded with explicit times once the outcome is known,
 * because an enqueued turn is granted long after the enqueue request was answered.
 */
export function traceAdmission(admission: Admission, endpoint: string, request: AdmissionRequest, parent: Span, outcome: Promise<Grant>): void {
  const enqueuedAt = Date.now();
  const config = admission.endpoints.find((e) => e.name === endpoint);
  const policy = config?.policy ?? 'unknown';
  // Depth as this turn joined: the turns waiting on its endpoint, itself included while it waits (0: granted at once).
  const depth = admission.stats().find((s) => s.endpoint === endpoint)?.queued ?? 0;
  const tracer = trace.getTracer('kernos.scheduler');
  const ctx = trace.setSpan(context.active(), parent);
  const attributes = {
    'kernos.scheduler.endpoint': endpoint,
    'kernos.scheduler.policy': policy,
    'kernos.scheduler.priority': request.priority,
    'kernos.scheduler.queue_depth': depth,
    ...(request.ref ? { 'kernos.run.id': request.ref.runId, 'kernos.job.id': request.ref.jobId, 'kernos.tenant': request.ref.tenant } : {}),
  };
  const record = (decision: 'grant' | 'reject', startMs: number, endMs: number, extra: Record<string, string | number>, error?: string) => {
    const span = tracer.startSpan(`admission ${endpoint}`, { kind: SpanKind.INTERNAL, startTime: startMs, attributes: { ...attributes, ...extra } }, ctx);
    const decided = tracer.startSpan(
      `admission decision ${policy}`,
      { kind: SpanKind.INTERNAL, startTime: endMs, attributes: { 'kernos.scheduler.policy': policy, 'kernos.scheduler.decision': decision, 'kernos.scheduler.endpoint': endpoint, ...extra } },
      trace.setSpan(ctx, span),
    );
    if (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      decided.setStatus({ code: SpanStatusCode.ERROR, message: error });
    }
    decided.end(endMs);
    span.end(endMs);
  };
  outcome.then(
    (grant) => record('grant', Math.min(enqueuedAt, grant.grantedAt - grant.waitedMs), grant.grantedAt, { 'kernos.scheduler.wait_ms': grant.waitedMs, 'kernos.scheduler.lease_id': grant.id }),
    (error: unknown) => {
      const failure = toKernosError(error);
      const now = Date.now();
      record('reject', enqueuedAt, now, { 'kernos.scheduler.wait_ms': now - enqueuedAt, 'kernos.scheduler.error_code': failure.code }, failure.message);
    },
  );
}
