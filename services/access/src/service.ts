import { trace, type Tracer } from '@opentelemetry/api';
import type { AuditPublisher } from '@kernos/audit';
import { KernosError } from '@kernos/errors';
import { createKernosService, handle, type Logger, type NatsConnection } from '@kernos/service-kit';
import { access, audit, contracts } from '@kernos/wire';
import { createApprovals, statusName, type ApprovalEvent, type DeliverDecision } from './approvals/approvals.js';
import { approvalId, type ApprovalStore } from './approvals/store.js';
import type { PolicyEngine } from './policy/engine.js';

export interface AccessServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  engine: PolicyEngine;
  /** Every decision, approval and relayed record goes here (the AUDIT stream). */
  auditLog: AuditPublisher;
  approvals: ApprovalStore;
  /** Delivers an approver's decision to the waiting workflow (a Temporal Update in production). */
  deliver: DeliverDecision;
  /** Time an approver has, in ms (default 15 minutes). */
  approvalTimeoutMs?: number;
  /**
   * Decision records not yet stored before checks fail closed with unavailable (default 10 000): decisions do not
   * wait for their audit record, but a kernel whose audit trail is down stops deciding.
   */
  maxAuditBacklog?: number;
}

/** Largest record the audit relay accepts (kernos.audit.append). */
export const MAX_RELAYED_RECORD_BYTES = 64 * 1024;

export function createAccessService(deps: AccessServiceDeps) {
  const { nc, tracer, logger, engine, auditLog } = deps;
  const maxBacklog = deps.maxAuditBacklog ?? 10_000;
  const pending = new Set<Promise<unknown>>();
  let auditFailure: Error | undefined;

  // Decision records are written off the request path (the reply does not wait for JetStream's ack); a failure is
  // remembered and makes the next checks fail closed until a record is stored again.
  const record = (input: Parameters<AuditPublisher['publish']>[0]) => {
    const work = auditLog.publish(input).then(
      () => {
        auditFailure = undefined;
      },
      (error: Error) => {
        auditFailure = error;
        logger.error('audit record lost', { kind: audit.Kind[input.kind], run: input.ref.runId, error: error.message });
      },
    );
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };
  const assertAuditHealthy = () => {
    if (auditFailure) throw new KernosError('unavailable', `access: the audit trail is failing (${auditFailure.message}); no decisions until it recovers`);
    if (pending.size >= maxBacklog) throw new KernosError('unavailable', `access: ${pending.size} audit records are waiting to be stored; no decisions until they are`);
  };
  const traceId = () => trace.getActiveSpan()?.spanContext().traceId ?? '';

  const approvals = createApprovals({
    store: deps.approvals,
    engine,
    deliver: deps.deliver,
    defaultTimeoutMs: deps.approvalTimeoutMs ?? 15 * 60_000,
    record: ({ approval, outcome, traceId: trace }: ApprovalEvent) =>
      record({
        kind: audit.Kind.APPROVAL,
        ref: approval.ref ?? {},
        ...(approval.governance ? { governance: approval.governance } : {}),
        traceId: trace ?? '',
        service: 'access',
        action: `approval.${outcome}`,
        resource: `${approval.action} ${approval.resource}`,
        outcome,
        detail: {
          approvalId: approval.id,
          status: statusName(approval.status),
          requester: approval.requester,
          approver: approval.approver,
          escalated: approval.escalated,
          decidedBy: approval.decidedBy,
          comment: approval.comment,
          rule: approval.rule,
          reason: approval.reason,
          requestedAt: Number(approval.requestedAtUnixMs),
          deadline: Number(approval.deadlineUnixMs),
          requestTraceId: approval.traceId,
        },
      }),
  });

  const accessService = createKernosService({
    nc,
    tracer,
    name: 'access',
    version: '0.2.0',
    description: 'Decides what each job may do (Cedar policies) and keeps human approvals',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
    endpoints: [
      handle(contracts.access.check, async (request, { span }) => {
        assertAuditHealthy();
        const id = approvalId(request.ref, request.action, request.resource);
        let approvedBy = '';
        const verdict = engine.decide(request, () => {
          const approved = approvals.isApproved(id);
          if (approved) approvedBy = id;
          return approved;
        });
        const decision = access.Decision[verdict.decision];
        span.setAttributes({
          'kernos.access.action': request.action,
          'kernos.access.resource': request.resource,
          'kernos.access.decision': decision,
          'kernos.access.rule': verdict.rule,
        });
        record({
          kind: audit.Kind.ACCESS_DECISION,
          ref: request.ref ?? {},
          ...(request.governance ? { governance: request.governance } : {}),
          traceId: span.spanContext().traceId,
          service: 'access',
          action: request.action,
          resource: request.resource,
          outcome: decision.toLowerCase(),
          detail: {
            rule: verdict.rule,
            reason: verdict.reason,
            ...(approvedBy ? { approvalId: approvedBy } : {}),
            grantedTools: request.grantedTools,
            ...(request.payloadBytes ? { payloadBytes: Number(request.payloadBytes) } : {}),
            ...(request.resourceJobId || request.resourceTenant ? { owner: { tenant: request.resourceTenant, job: request.resourceJobId } } : {}),
          },
        });
        const needsApproval = verdict.decision === access.Decision.NEEDS_APPROVAL;
        return { ...verdict, approvalId: needsApproval || approvedBy ? id : '' };
      }),
      handle(contracts.access.requestApproval, async (request, { span }) => {
        assertAuditHealthy();
        return { approval: await approvals.request(request, span.spanContext().traceId) };
      }),
      handle(contracts.access.approvals, async (request) => ({ approvals: approvals.list(request) })),
      handle(contracts.access.decide, async (request, { span }) => {
        assertAuditHealthy();
        span.setAttributes({ 'kernos.approval.id': request.approvalId, 'kernos.approval.approve': request.approve });
        return { approval: await approvals.decide(request, span.spanContext().traceId) };
      }),
      handle(contracts.access.expire, async (request, { span }) => ({ approval: await approvals.expire(request, span.spanContext().traceId) })),
    ],
  });

  // The audit relay for processes that may not publish to the AUDIT stream themselves (workers).
  const auditService = createKernosService({
    nc,
    tracer,
    name: 'audit',
    version: '0.1.0',
    description: 'Appends audit records for processes that may not publish to the AUDIT stream',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
    endpoints: [
      handle(contracts.audit.append, async (request) => {
        const r = request.record;
        if (!r) throw new KernosError('invalid_argument', 'record: required');
        if (r.kind === audit.Kind.UNSPECIFIED) throw new KernosError('invalid_argument', 'record.kind: required');
        if (!r.ref?.runId) throw new KernosError('invalid_argument', 'record.ref.run_id: required (records chain per run)');
        if (r.detailJson) {
          if (r.detailJson.length > MAX_RELAYED_RECORD_BYTES) throw new KernosError('invalid_argument', `record.detail_json: larger than ${MAX_RELAYED_RECORD_BYTES} bytes`);
          let parsed: unknown;
          try {
            parsed = JSON.parse(r.detailJson);
          } catch {
            throw new KernosError('invalid_argument', 'record.detail_json: not JSON');
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new KernosError('invalid_argument', 'record.detail_json: must be a JSON object');
        }
        const published = await auditLog.publish({
          kind: r.kind,
          ref: r.ref,
          ...(r.governance ? { governance: r.governance } : {}),
          traceId: r.traceId || traceId(),
          service: r.service || 'worker',
          action: r.action,
          resource: r.resource,
          outcome: r.outcome,
          detailJson: r.detailJson,
          ...(r.timeUnixMs ? { timeUnixMs: r.timeUnixMs } : {}),
          ...(r.id ? { id: r.id } : {}),
        });
        return { seq: published.record.seq, hash: published.record.hash, streamSeq: BigInt(published.streamSeq) };
      }),
    ],
  });

  return {
    async start() {
      await accessService.start();
      await auditService.start();
    },
    async stop() {
      await accessService.stop();
      await auditService.stop();
      await Promise.allSettled([...pending]);
    },
  };
}
