import { condition, defineQuery, defineUpdate, setHandler, uuid4 } from '@temporalio/workflow';

// MINIMAL, AND ONLY FOR THE AUTHOR'S OWN QUESTIONS. Approvals of kernel actions (a tool call, a data write the
// access policy marks needs_approval) go through services/access and its gate (workflows/src/workflows/approval.ts,
// re-exported by the SDK as the Agent's awaitApproval), with lineage and audit. This is for decisions that are the
// agent's business, not a policy's ("escalate this ticket?", "publish this report?"): the run waits, costing no
// worker slot, until a Temporal Update decides or the timeout passes.

export interface DecisionRequest {
  /** What is being decided, e.g. "ticket.escalate". */
  action: string;
  /** On what, e.g. the ticket id. */
  resource: string;
  /** Shown to the person deciding. */
  reason: string;
  /** Who should decide (default: the job's governance approver). */
  approver: string;
}

export interface PendingDecision extends DecisionRequest {
  id: string;
}

export interface DecisionInput {
  id: string;
  approved: boolean;
  /** Who decided. */
  decidedBy: string;
  note?: string;
}

export type DecisionOutcome =
  | { approved: true; decidedBy: string; note: string }
  | { approved: false; decidedBy: string; note: string; timedOut: boolean };

/** Decide: `handle.executeUpdate(decideUpdate, { args: [{ id, approved, decidedBy }] })`. */
export const decideUpdate = defineUpdate<DecisionOutcome, [DecisionInput]>('decide');
/** Decisions the run is waiting for. */
export const pendingDecisionsQuery = defineQuery<PendingDecision[]>('pendingDecisions');

export interface DecisionGate {
  /** Waits until a person decides through the update, or the timeout passes (then not approved; default 24 hours). */
  awaitDecision(request: DecisionRequest, options?: { timeout?: string | number }): Promise<DecisionOutcome>;
}

/**
 * Registers the `decide` update and the `pendingDecisions` query on the current workflow; call it once at the
 * start of the run. State lives in the returned gate, not in module variables.
 */
export function installDecisions(): DecisionGate {
  const pending = new Map<string, PendingDecision>();
  const decided = new Map<string, DecisionOutcome>();
  setHandler(pendingDecisionsQuery, () => [...pending.values()]);
  setHandler(
    decideUpdate,
    (input) => {
      const outcome: DecisionOutcome = input.approved
        ? { approved: true, decidedBy: input.decidedBy, note: input.note ?? '' }
        : { approved: false, decidedBy: input.decidedBy, note: input.note ?? '', timedOut: false };
      decided.set(input.id, outcome);
      pending.delete(input.id);
      return outcome;
    },
    {
      // The validator rejects bad decisions before they enter history, and names the field.
      validator: (input) => {
        if (typeof input?.id !== 'string' || !pending.has(input.id)) throw new Error(`id: no pending decision "${String(input?.id)}"`);
        if (typeof input.approved !== 'boolean') throw new Error('approved: expected true or false');
        if (typeof input.decidedBy !== 'string' || input.decidedBy.trim() === '') throw new Error('decidedBy: expected who decided');
      },
    },
  );
  return {
    async awaitDecision(request, options = {}) {
      const id = uuid4();
      pending.set(id, { id, ...request });
      await condition(() => decided.has(id), options.timeout ?? '24h');
      pending.delete(id);
      return decided.get(id) ?? { approved: false, decidedBy: '', note: 'no decision before the timeout', timedOut: true };
    },
  };
}
