import type { Span } from '@opentelemetry/api';
import { KernosError } from '@kernos/errors';
import type { MessageInitShape, scheduler } from '@kernos/wire';
import type { Admission, Grant } from '../admission/admission.js';
import type { AdmissionRequest } from '../admission/endpoint-queue.js';
import { traceAdmission } from './admission-span.js';

/** Checks an AcquireRequest (also the `turn` of an EnqueueRequest) and maps it to the core's request; errors name each bad field. */
export function toAdmissionRequest(admission: Admission, request: scheduler.AcquireRequest, subject: string, prefix = ''): AdmissionRequest {
  const problems: string[] = [];
  if (request.endpoint.trim() === '') {
    problems.push(`${prefix}endpoint: required (known endpoints: ${admission.endpoints.map((e) => e.name).join(', ')})`);
  }
  for (const [field, value] of [
    ['estimated_input_tokens', request.estimatedInputTokens],
    ['max_output_tokens', request.maxOutputTokens],
    ['deadline_ms', request.deadlineMs],
    ['max_wait_ms', request.maxWaitMs],
  ] as const) {
    if (value < 0) problems.push(`${prefix}${field}: must not be negative, got ${value}`);
  }
  if (problems.length > 0) throw new KernosError('invalid_argument', `${subject}: ${problems.join('; ')}`);
  return {
    priority: request.priority,
    estimatedTokens: request.estimatedInputTokens + request.maxOutputTokens,
    deadlineMs: Number(request.deadlineMs),
    maxWaitMs: Number(request.maxWaitMs),
    ref: request.ref && { tenant: request.ref.tenant, jobId: request.ref.jobId, runId: request.ref.runId, agentId: request.ref.agentId },
  };
}

/** The wire form of a grant. */
export function toAcquireReply(grant: Grant): MessageInitShape<typeof scheduler.AcquireReplySchema> {
  return {
    leaseId: grant.id,
    endpoint: grant.endpoint,
    baseUrl: grant.baseUrl,
    model: grant.model,
    grantedAtMs: BigInt(grant.grantedAt),
    expiresAtMs: BigInt(grant.expiresAt),
    waitedMs: BigInt(grant.waitedMs),
  };
}

/**
 * kernos.scheduler.acquire: validates, then waits for a grant. The reply is deferred while the request is
 * queued, so callers use a request timeout as long as they are willing to wait and pass the same value as
 * max_wait_ms; a grant that still finds nobody (the reply raced the caller's timeout) is reclaimed by its TTL.
 * Workflows use kernos.scheduler.enqueue instead, which does not hold the caller while it waits.
 */
export async function acquire(
  admission: Admission,
  request: scheduler.AcquireRequest,
  span: Span,
  /** Told of the pending grant before it is awaited, e.g. to persist a queued waiter for a successor (default none). */
  onPending?: (endpoint: string, request: AdmissionRequest, grant: Promise<Grant>) => void,
): Promise<MessageInitShape<typeof scheduler.AcquireReplySchema>> {
  const admissionRequest = toAdmissionRequest(admission, request, 'kernos.scheduler.acquire');
  span.setAttributes({ 'kernos.scheduler.endpoint': request.endpoint, 'kernos.scheduler.priority': request.priority });
  const pending = admission.acquire(request.endpoint, admissionRequest);
  onPending?.(request.endpoint, admissionRequest, pending);
  traceAdmission(admission, request.endpoint, admissionRequest, span, pending);
  const grant = await pending;
  span.setAttributes({ 'kernos.scheduler.wait_ms': grant.waitedMs, 'kernos.scheduler.lease_id': grant.id });
  return toAcquireReply(grant);
}
