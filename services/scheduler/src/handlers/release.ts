import type { Span } from '@opentelemetry/api';
import { KernosError } from '@kernos/errors';
import type { MessageInitShape, scheduler } from '@kernos/wire';
import type { Admission } from '../admission/admission.js';

/**
 * kernos.scheduler.release: frees the slot and counts the usage. An unknown, already released or expired lease
 * is not an error (released=false): the caller's turn is over either way, and failing it would only make the
 * activity retry something that cannot succeed.
 */
export function release(
  admission: Admission,
  request: scheduler.ReleaseRequest,
  span: Span,
): MessageInitShape<typeof scheduler.ReleaseReplySchema> {
  const problems: string[] = [];
  if (request.leaseId.trim() === '') problems.push('lease_id: required');
  if (request.inputTokens < 0) problems.push(`input_tokens: must not be negative, got ${request.inputTokens}`);
  if (request.outputTokens < 0) problems.push(`output_tokens: must not be negative, got ${request.outputTokens}`);
  if (problems.length > 0) throw new KernosError('invalid_argument', `kernos.scheduler.release: ${problems.join('; ')}`);

  const result = admission.release(request.leaseId, { inputTokens: request.inputTokens, outputTokens: request.outputTokens });
  span.setAttributes({
    'kernos.scheduler.lease_id': request.leaseId,
    'kernos.scheduler.released': result.released,
    ...(result.endpoint === undefined ? {} : { 'kernos.scheduler.endpoint': result.endpoint }),
    ...(result.late ? { 'kernos.scheduler.late_release': true } : {}),
  });
  return { released: result.released };
}

/**
 * kernos.scheduler.renew: the holder is still working; the lease's TTL starts again from now. A lease that is not
 * active answers renewed=false (not an error): its slot may already be someone else's, and the holder should
 * finish its turn and release (the release still counts the tokens if the lease expired recently).
 */
export function renew(admission: Admission, request: scheduler.RenewRequest, span: Span): MessageInitShape<typeof scheduler.RenewReplySchema> {
  if (request.leaseId.trim() === '') throw new KernosError('invalid_argument', 'kernos.scheduler.renew: lease_id: required');
  const lease = admission.renew(request.leaseId);
  span.setAttributes({
    'kernos.scheduler.lease_id': request.leaseId,
    'kernos.scheduler.renewed': lease !== undefined,
    ...(lease ? { 'kernos.scheduler.endpoint': lease.endpoint } : {}),
  });
  return lease ? { renewed: true, expiresAtMs: BigInt(lease.expiresAt) } : { renewed: false };
}
