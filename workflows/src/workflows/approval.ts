import { condition, defineQuery, defineUpdate, patched, setHandler } from '@temporalio/workflow';
import type { ApprovalRequestInput, ApprovalView, GovernanceInput, RunIdentity } from '../types.js';

/** An approver's decision, delivered by services/access (kernos.access.decide) as a Temporal Update. */
export interface ApprovalDecisionArgs {
  approvalId: string;
  approver: string;
  approve: boolean;
  comment: string;
}

/** The Update services/access sends; its validator refuses a decision this run cannot take. */
export const approvalDecisionUpdate = defineUpdate<{ accepted: true }, [ApprovalDecisionArgs]>('approvalDecision');
/** Approvals this run is waiting for right now. */
export const pendingApprovalsQuery = defineQuery<ApprovalView[]>('pendingApprovals');

export interface ApprovalOutcome {
  approved: boolean;
  approvalId: string;
  /** Who decided, or "" when the deadline passed. */
  decidedBy: string;
  /** For a person and for the model: why the run may or may not go on. */
  reason: string;
}

/** One finished approval wait, recorded as a span by an activity (workflow code cannot use OpenTelemetry itself). */
export interface ApprovalWaitInput {
  run: RunIdentity;
  approvalId: string;
  action: ApprovalRequestInput['action'];
  resource: string;
  approver: string;
  /** Workflow time when the approval was requested and when it was decided (or expired), ms since the epoch. */
  requestedAtMs: number;
  decidedAtMs: number;
  status: ApprovalView['status'];
  decidedBy: string;
}

/** The activities the gate needs (a subset of KernosActivities, so tests can pass others). */
export interface ApprovalActivities {
  requestApproval(input: ApprovalRequestInput): Promise<ApprovalView>;
  expireApproval(approvalId: string): Promise<ApprovalView>;
  /** Records the wait as a span in the run's trace (optional: gates built on other activities skip it). */
  recordApprovalWait?(input: ApprovalWaitInput): Promise<void>;
}

export interface ApprovalGateOptions {
  /** How long the approver has, in ms (default: services/access's KERNOS_APPROVAL_TIMEOUT). */
  timeoutMs?: number;
  /** Who may decide once the first deadline passed; unset = the deadline denies. */
  escalateTo?: string;
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * Suspends the run on a needs_approval decision until the approver decides or the deadline passes. The wait is a
 * workflow condition with a timer: it holds no worker slot and survives worker restarts. A decision arrives as an
 * Update whose validator checks, again, that it names an approval this run waits for, that the approver is the
 * approval's approver, and that the requester (this run's agent) is not approving itself.
 */
export function createApprovalGate(run: RunIdentity, governance: GovernanceInput, activities: ApprovalActivities, options: ApprovalGateOptions = {}) {
  const waiting = new Map<string, ApprovalView>();
  const decisions = new Map<string, ApprovalDecisionArgs>();

  setHandler(pendingApprovalsQuery, () => [...waiting.values()]);
  setHandler(
    approvalDecisionUpdate,
    (args) => {
      decisions.set(args.approvalId, args);
      return { accepted: true as const };
    },
    {
      validator: (args) => {
        const approval = waiting.get(args.approvalId);
        if (!approval) throw new Error(`run ${run.runId} is not waiting for approval ${args.approvalId}`);
        if (same(args.approver, `agent:${run.agentId}`) || same(args.approver, run.agentId)) {
          throw new Error(`${args.approver} requested approval ${args.approvalId} and may not approve it`);
        }
        if (!same(args.approver, approval.approver)) throw new Error(`only ${approval.approver} may decide approval ${args.approvalId}`);
      },
    },
  );

  const outcomeOf = (view: ApprovalView): ApprovalOutcome => ({
    approved: view.status === 'approved',
    approvalId: view.id,
    decidedBy: view.decidedBy,
    reason:
      view.status === 'approved'
        ? `approved by ${view.decidedBy}${view.comment ? `: ${view.comment}` : ''}`
        : view.status === 'denied'
          ? `denied by ${view.decidedBy}${view.comment ? `: ${view.comment}` : ''}`
          : `no decision by ${view.approver} before the deadline`,
  });

  return {
    /** Registers the approval with services/access and waits for it. */
    async await(request: { action: ApprovalRequestInput['action']; resource: string; grantedTools: string[] }): Promise<ApprovalOutcome> {
      const requestedAtMs = Date.now();
      let view = await activities.requestApproval({
        run,
        governance,
        action: request.action,
        resource: request.resource,
        grantedTools: request.grantedTools,
        timeoutMs: options.timeoutMs ?? 0,
        escalateTo: options.escalateTo ?? '',
      });
      while (view.status === 'pending') {
        waiting.set(view.id, view);
        const id = view.id;
        const decided = await condition(() => decisions.has(id), Math.max(view.deadlineUnixMs - Date.now(), 1));
        if (decided) {
          const decision = decisions.get(id)!;
          view = { ...view, status: decision.approve ? 'approved' : 'denied', decidedBy: decision.approver, comment: decision.comment };
          break;
        }
        // The deadline passed: services/access escalates once (and we wait again) or marks it expired.
        view = await activities.expireApproval(id);
      }
      waiting.delete(view.id);
      // patched(): runs that were already waiting when this landed replay without the new activity.
      if (activities.recordApprovalWait && patched('approval-wait-span')) {
        await activities.recordApprovalWait({
          run,
          approvalId: view.id,
          action: request.action,
          resource: request.resource,
          approver: view.approver,
          requestedAtMs,
          decidedAtMs: Date.now(),
          status: view.status,
          decidedBy: view.decidedBy,
        });
      }
      return outcomeOf(view);
    },
  };
}
