import type { JetStreamClient } from '@nats-io/jetstream';
import { KernosError, toKernosError } from '@kernos/errors';
import type { BoardStatus, Operator, RunDetail, RunSummary } from '@kernos/cli';
import type { KernelClient } from '@kernos/service-kit';
import type { OtlpReceiver } from '@kernos/telemetry';
import { access, audit, contracts, graph, scheduler, toJson } from '@kernos/wire';
import { permissions } from './auth.js';
import type { CockpitUser } from './config.js';

/** What the cockpit reads from and steers: Temporal (through the operator), the kernel over NATS, the audit stream. */
export interface CockpitDeps {
  operator: Operator;
  kernel: KernelClient;
  /** JetStream, for the audit search; unset: the audit view says it is unavailable. */
  js?: JetStreamClient;
  /** The audit stream's name (default AUDIT). */
  auditStream?: string;
  /** The cockpit's own trace receiver, to show a run's spans; unset: only the trace id and link. */
  receiver?: OtlpReceiver;
  /** Link template for a trace, `{traceId}` replaced (default: none). */
  traceUrl?: string;
  /** USD per million tokens by model (default: none). */
  prices?: Record<string, { input: number; output: number }>;
}

export const boardColumns: BoardStatus[] = ['queued', 'running', 'waiting_lease', 'awaiting_approval', 'paused', 'done', 'failed', 'cancelled'];

export interface RunCard {
  runId: string;
  jobId: string;
  workflowType: string;
  board: BoardStatus;
  startTime: string;
  lastProgress: string;
}

/** Audit kinds by name, for the search form and the records' display. */
const kindNames: Record<number, string> = {
  [audit.Kind.LLM_TURN]: 'llm_turn',
  [audit.Kind.TOOL_ATTEMPT]: 'tool_attempt',
  [audit.Kind.ACCESS_DECISION]: 'access_decision',
  [audit.Kind.APPROVAL]: 'approval',
  [audit.Kind.GRAPH_WRITE]: 'graph_write',
  [audit.Kind.LEASE]: 'lease',
  [audit.Kind.RUN]: 'run',
};

export interface AuditSearch {
  tenant?: string;
  job?: string;
  run?: string;
  agent?: string;
  kind?: string;
  /** Free text matched against run, job, agent, action, resource, outcome and detail. */
  q?: string;
  /** Only records newer than this many ms (default 24 h). */
  sinceMs?: number;
  limit?: number;
}

export function createSources(deps: CockpitDeps) {
  const closedCache = new Map<string, RunCard>();

  const card = (summary: RunSummary, detail?: RunDetail): RunCard => ({
    runId: summary.runId,
    jobId: summary.jobId,
    workflowType: summary.workflowType,
    board: detail?.board ?? closedBoard(summary.status),
    startTime: summary.startTime,
    lastProgress: detail?.progress.at(-1)?.message ?? '',
  });

  const auditRecords = async (search: AuditSearch, user?: CockpitUser) => {
    if (!deps.js) throw new KernosError('unavailable', 'audit search needs NATS JetStream, which the cockpit is not connected to');
    const { queryAudit } = await import('@kernos/audit');
    const kind = search.kind ? Object.entries(kindNames).find(([, name]) => name === search.kind)?.[0] : undefined;
    if (search.kind && kind === undefined) throw new KernosError('invalid_argument', `kind: expected one of ${Object.values(kindNames).join(', ')}`);
    let stored;
    try {
      stored = await queryAudit(
        deps.js,
        {
          ...(search.tenant ? { tenant: search.tenant } : {}),
          ...(search.job ? { jobId: search.job } : {}),
          ...(search.run ? { runId: search.run } : {}),
          ...(search.agent ? { agentId: search.agent } : {}),
          ...(kind === undefined ? {} : { kind: Number(kind) as audit.Kind }),
          since: new Date(Date.now() - (search.sinceMs ?? 24 * 3600_000)),
          limit: 5_000,
        },
        { stream: deps.auditStream ?? 'AUDIT' },
      );
    } catch (error) {
      const text = String((error as Error).message);
      if (/stream not found/i.test(text)) return [];
      throw toKernosError(error);
    }
    const q = search.q?.trim().toLowerCase();
    const out = stored
      .map(({ record, streamSeq }) => ({
        streamSeq,
        kind: kindNames[record.kind] ?? 'unspecified',
        time: new Date(Number(record.timeUnixMs)).toISOString(),
        tenant: record.ref?.tenant ?? '',
        jobId: record.ref?.jobId ?? '',
        runId: record.ref?.runId ?? '',
        agentId: record.ref?.agentId ?? '',
        service: record.service,
        action: record.action,
        resource: record.resource,
        outcome: record.outcome,
        riskLevel: record.governance?.riskLevel ?? '',
        traceId: record.traceId,
        detail: record.detailJson,
        // What data the record concerns: a graph write's category, else the categories its job declared.
        dataCategories: record.kind === audit.Kind.GRAPH_WRITE ? [record.resource] : [...(record.governance?.dataCategories ?? [])],
        seq: Number(record.seq),
        hash: record.hash,
      }));
    const visible = user ? visibleAudit(user, out) : out;
    const found = visible
      // Matched after redaction, so a viewer cannot find records by guessing what their hidden detail says.
      .filter((r) => !q || [r.runId, r.jobId, r.agentId, r.action, r.resource, r.outcome, r.detail].some((v) => v.toLowerCase().includes(q)));
    // Newest first, like every other list in the cockpit.
    return found.reverse().slice(0, search.limit ?? 200);
  };

  const kernelApprovals = async (filter: { runId?: string; identity?: string; all?: boolean }) => {
    const reply = await deps.kernel.call(contracts.access.approvals, {
      ...(filter.runId ? { runId: filter.runId } : {}),
      ...(filter.all ? { statuses: [access.ApprovalStatus.PENDING, access.ApprovalStatus.APPROVED, access.ApprovalStatus.DENIED, access.ApprovalStatus.EXPIRED] } : {}),
    });
    return reply.approvals.map((a) => ({
      source: 'access' as const,
      id: a.id,
      runId: a.ref?.runId ?? a.workflowId,
      jobId: a.ref?.jobId ?? '',
      action: a.action,
      resource: a.resource,
      reason: a.reason,
      approver: a.approver,
      status: access.ApprovalStatus[a.status]?.toLowerCase() ?? 'unknown',
      riskLevel: a.governance?.riskLevel ?? '',
      requestedAt: new Date(Number(a.requestedAtUnixMs)).toISOString(),
      deadline: a.deadlineUnixMs > 0n ? new Date(Number(a.deadlineUnixMs)).toISOString() : '',
      decidedBy: a.decidedBy,
      comment: a.comment,
      traceId: a.traceId,
      mayDecide: filter.identity ? a.approver.toLowerCase() === filter.identity.toLowerCase() : false,
    }));
  };

  const traceOf = (runId: string, auditTrace: string | undefined) => {
    let traceId = auditTrace ?? '';
    const spans = deps.receiver?.spans() ?? [];
    if (!traceId) traceId = spans.find((s) => s.attributes['kernos.run.id'] === runId)?.traceId ?? '';
    const trace = traceId && deps.receiver ? deps.receiver.trace(traceId) : [];
    return {
      traceId,
      url: traceId && deps.traceUrl ? deps.traceUrl.replace('{traceId}', traceId) : '',
      spans: trace.map((s) => ({
        spanId: s.spanId,
        parentSpanId: s.parentSpanId,
        name: s.name,
        service: s.service,
        startUnixNano: s.startUnixNano,
        durationMs: Number(BigInt(s.endUnixNano) - BigInt(s.startUnixNano)) / 1e6,
        error: s.statusCode === 2,
      })),
    };
  };

  const registeredJobs = async () => {
    let listed;
    try {
      listed = await deps.kernel.call(contracts.scheduler.listJobs, {}, { timeoutMs: 3_000 });
    } catch {
      // No registry answering (a scheduler without one, or none running): the view falls back to the runs.
      return [];
    }
    return Promise.all(
      listed.jobs.map(async (job) => {
        const described = await deps.kernel.call(contracts.scheduler.describeJob, { tenant: job.tenant, name: job.name }).catch(() => undefined);
        const spec = (safeJson(described?.documentJson ?? '{}').spec ?? {}) as Record<string, unknown>;
        return {
          jobId: job.name,
          tenant: job.tenant,
          workflowType: job.workflow,
          registered: true,
          schedule: job.schedule,
          priority: job.priority,
          endpoint: job.endpoint,
          generation: Number(job.generation),
          governance: (spec.governance as Record<string, unknown> | undefined) ?? null,
          tools: (spec.tools as string[] | undefined) ?? [],
        };
      }),
    );
  };

  return {
    /** The operator verbs (pause, resume, cancel) go straight to Temporal. */
    operator: deps.operator,

    /** The fleet board: runs by column. Open runs are described (queries), closed ones come from visibility alone. */
    async board(options: { limit?: number } = {}) {
      const runs = await deps.operator.listRuns({ limit: options.limit ?? 100 });
      const cards = await Promise.all(
        runs.map(async (run) => {
          if (run.status !== 'RUNNING') {
            const cached = closedCache.get(`${run.runId}/${run.temporalRunId}`);
            if (cached) return cached;
            const closed = card(run);
            closedCache.set(`${run.runId}/${run.temporalRunId}`, closed);
            return closed;
          }
          const detail = await deps.operator.describeRun(run.runId).catch(() => undefined);
          return card(run, detail);
        }),
      );
      const columns = Object.fromEntries(boardColumns.map((c) => [c, [] as RunCard[]])) as Record<BoardStatus, RunCard[]>;
      for (const c of cards) columns[c.board].push(c);
      return { columns, total: cards.length, at: new Date().toISOString() };
    },

    async run(runId: string, user: CockpitUser) {
      const [detail, input] = await Promise.all([deps.operator.describeRun(runId), deps.operator.runInput(runId).catch(() => null)]);
      // Token use is counted from every record (it is a number, not content); only what the user may read is shown.
      const allRecords = deps.js ? await auditRecords({ run: runId, sinceMs: 30 * 24 * 3600_000, limit: 1_000 }).catch(() => []) : [];
      const records = visibleAudit(user, allRecords);
      const approvals = await kernelApprovals({ runId, identity: user.identity, all: true }).catch(() => []);
      const tokens = tokenUse(detail, allRecords);
      const model = String((allRecords.find((r) => r.kind === 'llm_turn') && safeJson(allRecords.find((r) => r.kind === 'llm_turn')!.detail).model) || '');
      const price = deps.prices?.[model];
      return {
        ...detail,
        input,
        governance: (input?.governance as Record<string, unknown> | undefined) ?? null,
        approvals: [
          ...detail.approvals
            .filter((a) => !approvals.some((k) => k.id === a.id))
            .map((a) => ({ ...a, source: 'workflow' as const, status: 'pending', runId, mayDecide: detail.controls.approvals })),
          ...approvals,
        ],
        toolCalls: records.filter((r) => r.kind === 'tool_attempt'),
        accessDecisions: records.filter((r) => r.kind === 'access_decision'),
        turns: records.filter((r) => r.kind === 'llm_turn'),
        audit: records,
        tokens,
        cost: price ? { usd: (tokens.input * price.input + tokens.output * price.output) / 1e6, model } : null,
        trace: traceOf(runId, allRecords.find((r) => r.traceId)?.traceId),
      };
    },

    /** The approvals inbox: the access service's pending approvals, plus approvals runs hold themselves. */
    async approvals(user: CockpitUser) {
      const fromAccess = await kernelApprovals({ identity: user.identity }).catch((error: unknown) => {
        const e = toKernosError(error);
        if (e.code === 'unavailable') return [];
        throw e;
      });
      const fromRuns = await deps.operator.pendingApprovals({ limit: 50 }).catch(() => []);
      // A run waiting on an approval services/access holds lists it too; the access record is the one to decide.
      const known = new Set(fromAccess.map((a) => a.id));
      return [
        ...fromAccess,
        ...fromRuns
          .filter((a) => !known.has(a.id))
          .map((a) => ({ ...a, source: 'workflow' as const, status: 'pending', riskLevel: '', requestedAt: '', deadline: '', decidedBy: '', comment: '', traceId: '', mayDecide: a.decidable })),
      ];
    },

    async decide(user: CockpitUser, input: { source: 'access' | 'workflow'; approvalId: string; runId?: string; approve: boolean; comment: string }) {
      if (input.source === 'access') {
        const reply = await deps.kernel.call(contracts.access.decide, { approvalId: input.approvalId, approver: user.identity, approve: input.approve, comment: input.comment });
        return reply.approval ? toJson(access.ApprovalSchema, reply.approval) : null;
      }
      if (!input.runId) throw new KernosError('invalid_argument', 'runId: required for an approval held by a run');
      return deps.operator.decide(input.runId, { approvalId: input.approvalId, approved: input.approve, decidedBy: user.identity, note: input.comment });
    },

    async scheduler() {
      const reply = await deps.kernel.call(contracts.scheduler.stats, {});
      return toJson(scheduler.StatsReplySchema, reply, { alwaysEmitImplicit: true });
    },

    /** A scheduler operator control (drain/resume an endpoint, hold/release a job); resolves with the turns affected. */
    async control(action: scheduler.ControlAction, target: string, reason: string) {
      const reply = await deps.kernel.call(contracts.scheduler.control, { action, target, reason });
      return reply.affected;
    },

    /** The audit search as `user` may see it (see visibleAudit). */
    audit: (search: AuditSearch, user: CockpitUser) => auditRecords(search, user),

    /** Facts about a subject (or matching a search), limited to the categories this person may read. */
    async graph(user: CockpitUser, params: { subject?: string; q?: string; limit?: number }) {
      const ref = { tenant: 'cockpit', jobId: 'cockpit', runId: `cockpit-${user.name}`, agentId: `person:${user.identity}` };
      const governance = { riskLevel: 'minimal', dataCategories: user.dataCategories, humanOversight: 'none', approver: user.identity };
      if (params.q) {
        const reply = await deps.kernel.call(contracts.graph.search, { ref, governance, query: params.q, limit: params.limit ?? 20 });
        return { mode: 'search', result: toJson(graph.SearchReplySchema, reply) };
      }
      if (!params.subject) throw new KernosError('invalid_argument', 'subject or q: give a subject to list its facts, or q to search');
      const reply = await deps.kernel.call(contracts.graph.facts, { ref, governance, subject: params.subject, limit: params.limit ?? 100 });
      return { mode: 'facts', result: toJson(graph.FactsReplySchema, reply) };
    },

    /**
     * The job registry: the scheduler's registered jobs (kernos.scheduler.listJobs, with each document's governance)
     * joined with what recent runs show; without a registry answering, the jobs seen in recent runs.
     */
    async jobs() {
      const runs = await deps.operator.listRuns({ limit: 200 });
      const byJob = new Map<string, { jobId: string; tenant: string; runs: number; running: number; failed: number; lastRunId: string; lastStart: string; workflowType: string }>();
      for (const r of runs) {
        const key = r.jobId || `(${r.workflowType})`;
        const entry = byJob.get(key) ?? { jobId: key, tenant: r.tenant, runs: 0, running: 0, failed: 0, lastRunId: r.runId, lastStart: r.startTime, workflowType: r.workflowType };
        entry.runs += 1;
        if (r.status === 'RUNNING') entry.running += 1;
        if (['FAILED', 'TERMINATED', 'TIMED_OUT'].includes(r.status)) entry.failed += 1;
        byJob.set(key, entry);
      }
      const registry = await registeredJobs();
      const fromRuns = await Promise.all(
        [...byJob.values()]
          .filter((job) => !registry.some((r) => r.jobId === job.jobId))
          .map(async (job) => {
            const input = job.jobId.startsWith('(') ? null : await deps.operator.runInput(job.lastRunId).catch(() => null);
            return {
              ...job,
              registered: false,
              schedule: '',
              governance: input?.governance ?? null,
              tools: input?.tools ?? [],
              endpoint: input?.endpoint ?? 'default',
              priority: input?.priority ?? 0,
            };
          }),
      );
      const fromRegistry = registry.map((job) => {
        const seen = byJob.get(job.jobId);
        return { runs: 0, running: 0, failed: 0, lastRunId: '', lastStart: '', ...seen, ...job };
      });
      return [...fromRegistry, ...fromRuns];
    },

    trace: (traceId: string) => (deps.receiver ? deps.receiver.trace(traceId) : []),
  };
}

export type Sources = ReturnType<typeof createSources>;

function closedBoard(status: string): BoardStatus {
  if (status === 'COMPLETED') return 'done';
  if (status === 'CANCELLED') return 'cancelled';
  return status === 'RUNNING' ? 'running' : 'failed';
}

function safeJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function tokenUse(detail: RunDetail, records: { kind: string; detail: string }[]): { input: number; output: number } {
  if (detail.result && typeof detail.result.inputTokens === 'number') {
    return { input: detail.result.inputTokens, output: Number(detail.result.outputTokens ?? 0) };
  }
  // A run still going has no result yet; its LLM-turn audit records carry the usage so far.
  let input = 0;
  let output = 0;
  for (const r of records) {
    if (r.kind !== 'llm_turn') continue;
    const d = safeJson(r.detail);
    input += Number(d.inputTokens ?? d.input_tokens ?? 0);
    output += Number(d.outputTokens ?? d.output_tokens ?? 0);
  }
  return { input, output };
}

/**
 * What of the audit trail a user may read. Records: only those whose data categories (a graph write's category, else
 * the categories its job declared) are all among the user's `dataCategories`, the same rule as the graph explorer.
 * Fields: a role without the `audit-detail` permission (viewer) gets each record without its detail (prompts, tool
 * arguments, reasons), so it sees that something happened, by whom and with what outcome, but not the content.
 */
export function visibleAudit<R extends { dataCategories: string[]; detail: string }>(user: CockpitUser, records: readonly R[]): R[] {
  const allowed = new Set(user.dataCategories);
  const detail = permissions[user.role].has('audit-detail');
  return records.filter((r) => r.dataCategories.every((c) => allowed.has(c))).map((r) => (detail ? r : { ...r, detail: '' }));
}
