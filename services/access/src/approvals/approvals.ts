import { KernosError } from '@kernos/errors';
import { access, create } from '@kernos/wire';
import type { PolicyEngine } from '../policy/engine.js';
import { approvalId, type ApprovalStore } from './store.js';

type Approval = access.Approval;
const { ApprovalStatus, Decision } = access;

/** Hands a decision to the workflow waiting for it (a Temporal Update); throws if the workflow refuses it. */
export type DeliverDecision = (approval: Approval) => Promise<void>;

/** What happened to an approval, for the audit trail. */
export type ApprovalEvent = { approval: Approval; outcome: 'requested' | 'approved' | 'denied' | 'escalated' | 'expired'; traceId?: string };

export interface ApprovalDeps {
  store: ApprovalStore;
  engine: PolicyEngine;
  deliver: DeliverDecision;
  record: (event: ApprovalEvent) => void;
  /** Default time an approver has, in ms. */
  defaultTimeoutMs: number;
  now?: () => number;
}

/** Identities are compared trimmed and case-insensitively: "Alice@Example.com" is alice@example.com. */
export function sameIdentity(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Who asked: the run's agent. An approver with this identity (or the bare agent id) can never approve. */
export function requesterOf(ref: { agentId?: string } | undefined): string {
  return `agent:${ref?.agentId ?? ''}`;
}

export function createApprovals(deps: ApprovalDeps) {
  const now = deps.now ?? Date.now;

  return {
    /** kernos.access.request-approval: registers (idempotently) the approval a workflow is about to wait for. */
    async request(req: access.RequestApprovalRequest, traceId = ''): Promise<Approval> {
      const id = approvalId(req.ref, req.action, req.resource);
      const existing = deps.store.cached(id) ?? (await deps.store.get(id))?.approval;
      if (existing) return existing;
      const checkRequest = create(access.CheckRequestSchema, { ref: req.ref, governance: req.governance, action: req.action, resource: req.resource, grantedTools: req.grantedTools });
      const verdict = deps.engine.decide(checkRequest);
      if (verdict.decision !== Decision.NEEDS_APPROVAL) {
        throw new KernosError('invalid_argument', `${req.action} on "${req.resource}" does not need approval (policy says ${access.Decision[verdict.decision]}${verdict.reason ? `: ${verdict.reason}` : ''})`);
      }
      const approver = req.governance?.approver.trim() ?? '';
      const at = now();
      const approval = create(access.ApprovalSchema, {
        id,
        ref: req.ref,
        governance: req.governance,
        action: req.action,
        resource: req.resource,
        reason: verdict.reason,
        rule: verdict.rule,
        requester: requesterOf(req.ref),
        approver,
        escalateTo: req.escalateTo.trim(),
        status: ApprovalStatus.PENDING,
        requestedAtUnixMs: BigInt(at),
        deadlineUnixMs: BigInt(at + (req.timeoutMs || deps.defaultTimeoutMs)),
        workflowId: req.ref?.runId ?? '',
        traceId,
      });
      const stored = await deps.store.createIfAbsent(approval);
      if (stored === approval) deps.record({ approval, outcome: 'requested', traceId });
      return stored;
    },

    /** kernos.access.decide: an approver's decision, checked, recorded, then delivered to the workflow. */
    async decide(req: access.DecideRequest, traceId = ''): Promise<Approval> {
      if (!req.approvalId) throw new KernosError('invalid_argument', 'approval_id: required');
      if (!req.approver.trim()) throw new KernosError('invalid_argument', 'approver: required (the identity of the person deciding)');
      const found = await deps.store.get(req.approvalId);
      if (!found) throw new KernosError('not_found', `approval ${req.approvalId} does not exist`);
      const { approval, revision } = found;
      assertMayDecide(approval, req.approver);
      if (approval.status !== ApprovalStatus.PENDING) {
        throw new KernosError('conflict', `approval ${approval.id} is already ${statusName(approval.status)}${approval.decidedBy ? ` by ${approval.decidedBy}` : ''}`);
      }
      if (now() > Number(approval.deadlineUnixMs)) {
        throw new KernosError('conflict', `approval ${approval.id} passed its deadline (${new Date(Number(approval.deadlineUnixMs)).toISOString()}); the run treats it as denied`);
      }
      const decided = create(access.ApprovalSchema, {
        ...approval,
        status: req.approve ? ApprovalStatus.APPROVED : ApprovalStatus.DENIED,
        decidedBy: req.approver.trim(),
        decidedAtUnixMs: BigInt(now()),
        comment: req.comment,
      });
      // Stored first, so that the checks the workflow makes right after the decision (and the gateway's) see it.
      await deps.store.update(decided, revision);
      try {
        await deps.deliver(decided);
      } catch (error) {
        // The workflow refused it or is gone: the decision must not stand on its own, so put the approval back.
        const current = await deps.store.get(approval.id);
        if (current) await deps.store.update(approval, current.revision).catch(() => undefined);
        throw new KernosError('conflict', `approval ${approval.id}: the waiting run did not take the decision: ${(error as Error).message}`, { cause: error });
      }
      deps.record({ approval: decided, outcome: req.approve ? 'approved' : 'denied', traceId });
      return decided;
    },

    /** kernos.access.expire: the workflow's deadline timer fired. Escalates once if it can, else expires (= denied). */
    async expire(req: access.ExpireRequest, traceId = ''): Promise<Approval> {
      const found = await deps.store.get(req.approvalId);
      if (!found) throw new KernosError('not_found', `approval ${req.approvalId} does not exist`);
      const { approval, revision } = found;
      if (approval.status !== ApprovalStatus.PENDING) return approval;
      // The workflow's timer and our clock may disagree a little; never expire early by more than a second.
      if (now() + 1_000 < Number(approval.deadlineUnixMs)) return approval;
      const at = now();
      if (approval.escalateTo && !approval.escalated) {
        const span = Number(approval.deadlineUnixMs) - Number(approval.requestedAtUnixMs);
        const escalated = create(access.ApprovalSchema, { ...approval, approver: approval.escalateTo, escalated: true, deadlineUnixMs: BigInt(at + span) });
        await deps.store.update(escalated, revision);
        deps.record({ approval: escalated, outcome: 'escalated', traceId });
        return escalated;
      }
      const expired = create(access.ApprovalSchema, { ...approval, status: ApprovalStatus.EXPIRED, decidedAtUnixMs: BigInt(at), comment: 'no decision before the deadline' });
      await deps.store.update(expired, revision);
      deps.record({ approval: expired, outcome: 'expired', traceId });
      return expired;
    },

    /** kernos.access.approvals: for the cockpit, newest first. */
    list(req: access.ApprovalsRequest): Approval[] {
      const statuses = req.statuses.length > 0 ? req.statuses : [ApprovalStatus.PENDING];
      return deps.store
        .list()
        .filter((a) => statuses.includes(a.status))
        .filter((a) => !req.tenant || a.ref?.tenant === req.tenant)
        .filter((a) => !req.jobId || a.ref?.jobId === req.jobId)
        .filter((a) => !req.runId || a.ref?.runId === req.runId)
        .filter((a) => !req.approver || sameIdentity(a.approver, req.approver))
        .sort((a, b) => Number(b.requestedAtUnixMs - a.requestedAtUnixMs));
    },

    /** For checks: was this run's action on this resource approved? */
    isApproved(id: string): boolean {
      return deps.store.cached(id)?.status === ApprovalStatus.APPROVED;
    },
  };
}

/** The rules every decision passes, here and again in the workflow's Update validator. */
export function assertMayDecide(approval: Pick<Approval, 'id' | 'approver' | 'requester' | 'ref'>, approver: string): void {
  const agent = approval.ref?.agentId ?? '';
  if (sameIdentity(approver, approval.requester) || (agent !== '' && sameIdentity(approver, agent))) {
    throw new KernosError('denied', `${approver} requested approval ${approval.id} and may not approve it`);
  }
  if (!approval.approver) {
    throw new KernosError('denied', `approval ${approval.id} has no approver (the job's governance names none), so nobody may decide it; it will expire`);
  }
  if (!sameIdentity(approver, approval.approver)) {
    throw new KernosError('denied', `${approver} may not decide approval ${approval.id}: only ${approval.approver} may`);
  }
}

export function statusName(status: access.ApprovalStatus): string {
  return (ApprovalStatus[status] ?? 'UNSPECIFIED').toLowerCase();
}
