import { defaultPayloadConverter, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { KernosError } from '@kernos/errors';
import type { KernelClient } from '@kernos/service-kit';
import { contracts, scheduler } from '@kernos/wire';
import type { AgentInputDoc } from './job.js';

// The operator's protocol with a run is Temporal's: these names are what agent workflows define (the SDK's operator
// controls and approvals). A workflow that lacks one is told so, never signalled blindly: an unhandled signal is
// accepted by Temporal and silently ignored, which is worse than an error.
export const operatorNames = {
  pause: 'pause',
  resume: 'resume',
  cancel: 'cancel',
  state: 'state',
  progress: 'progress',
  pendingApprovals: 'pendingApprovals',
  decideApproval: 'decideApproval',
} as const;

/** Where a run is on the fleet board. */
export type BoardStatus = 'queued' | 'running' | 'waiting_lease' | 'awaiting_approval' | 'paused' | 'done' | 'failed' | 'cancelled';

export interface RunSummary {
  runId: string;
  temporalRunId: string;
  workflowType: string;
  /** Temporal's execution status, e.g. RUNNING, COMPLETED. */
  status: string;
  taskQueue: string;
  startTime: string;
  closeTime: string | null;
  jobId: string;
  tenant: string;
  agentId: string;
  goal: string;
}

export interface ProgressLine {
  at: number;
  service: string;
  message: string;
}

export interface PendingApproval {
  id: string;
  action: string;
  resource: string;
  reason: string;
  approver: string;
}

export interface RunDetail extends RunSummary {
  board: BoardStatus;
  /** What the workflow lets an operator do (from its own metadata). */
  controls: { pause: boolean; resume: boolean; cancelSignal: boolean; approvals: boolean };
  /** The `state` query's answer, when the workflow has one. */
  state: { status: string; reason: string; details: Record<string, unknown> } | null;
  progress: ProgressLine[];
  approvals: PendingApproval[];
  pendingActivities: { type: string; attempt: number; state: string }[];
  result: Record<string, unknown> | null;
  failure: string | null;
  /** Why the run's queries (state, progress, approvals) could not be asked, e.g. a closed run with no worker up; null when they could. */
  queryError: string | null;
  historyLength: number;
}

export interface ListRunsOptions {
  /** Temporal execution status: running, completed, failed, cancelled, terminated, timed_out (default all). */
  status?: string;
  /** Only runs of this workflow type (default all types). */
  workflowType?: string;
  /** Only runs whose memo names this job (default all). */
  jobId?: string;
  /** At most this many runs, newest first (default 50). */
  limit?: number;
  /** Only runs on this task queue (default: the operator's onlyTaskQueue, else all). */
  taskQueue?: string;
}

export interface StartRunOptions {
  input: AgentInputDoc;
  /** Workflow type (default "agentWorkflow"). */
  workflowType?: string;
  /** Run id (= workflow id); default `<jobId>-<time>-<random>`. */
  runId?: string;
  /** Task queue (default "kernos-agents"). */
  taskQueue?: string;
  /** Temporal ends the run after this long (default: none); from the job's `spec.timeouts.run` (runOptionsOf). */
  workflowExecutionTimeoutMs?: number;
  /** Extra memo, e.g. the job's deadline and turn timeout that each scheduled turn applies (runOptionsOf; default none). */
  memo?: Record<string, unknown>;
}

export interface Operator {
  startRun(options: StartRunOptions): Promise<{ runId: string; temporalRunId: string }>;
  listRuns(options?: ListRunsOptions): Promise<RunSummary[]>;
  describeRun(runId: string): Promise<RunDetail>;
  progress(runId: string): Promise<ProgressLine[]>;
  /** The run's start input (its first argument), read from the first history event; null when it has none. */
  runInput(runId: string): Promise<Record<string, unknown> | null>;
  /**
   * Holds a run at its next turn boundary: the workflow's `pause` signal when it has one, else the scheduler's
   * operator control (its queued and future turns wait for a lease until resumed). Says which was used.
   */
  pause(runId: string, reason?: string): Promise<'signal' | 'scheduler'>;
  resume(runId: string): Promise<'signal' | 'scheduler'>;
  /** Cancels at the next turn boundary through the workflow's `cancel` signal, or with Temporal cancellation. */
  cancel(runId: string, options?: { reason?: string; hard?: boolean }): Promise<'signal' | 'temporal'>;
  decide(runId: string, decision: { approvalId: string; approved: boolean; decidedBy: string; note?: string }): Promise<unknown>;
  /** Every pending approval of the running runs (the approvals inbox). */
  pendingApprovals(options?: { limit?: number }): Promise<(PendingApproval & { runId: string; jobId: string; decidable: boolean })[]>;
}

const statusQuery: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  done: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  canceled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
};

/** The operator's verbs over Temporal, shared by the `kernos` CLI and the cockpit. */
export interface OperatorDefaults {
  /** Task queue new runs start on (default kernos-agents). */
  taskQueue?: string;
  /** How long a query may take before the run is shown without its answer (default 3000 ms): a run whose worker is gone never answers. */
  queryTimeoutMs?: number;
  /** Only list runs on this task queue (default: every run in the namespace). */
  onlyTaskQueue?: string;
  /**
   * The kernel over NATS, for the scheduler's operator controls: pausing a run whose workflow has no `pause` signal
   * holds its turns at the scheduler instead. Default: unset (such runs cannot be paused).
   */
  kernel?: KernelClient;
}

export function createOperator(client: Client, defaults: OperatorDefaults = {}): Operator {
  const queryTimeoutMs = defaults.queryTimeoutMs ?? 3_000;
  const query = <T>(runId: string, name: string): Promise<T> =>
    client.withDeadline(Date.now() + queryTimeoutMs, () => client.workflow.getHandle(runId).query<T>(name));
  const metadataOf = async (runId: string): Promise<{ signals: Set<string>; queries: Set<string>; updates: Set<string> }> => {
    try {
      const meta = await query<{ definition?: WorkflowDefinition }>(runId, '__temporal_workflow_metadata');
      const d = meta.definition ?? {};
      return {
        signals: new Set((d.signalDefinitions ?? []).map((s) => s.name ?? '')),
        queries: new Set((d.queryDefinitions ?? []).map((q) => q.name ?? '')),
        updates: new Set((d.updateDefinitions ?? []).map((u) => u.name ?? '')),
      };
    } catch (error) {
      throw notFoundOr(error, runId);
    }
  };

  const require = async (runId: string, kind: 'signals' | 'updates', name: string, verb: string) => {
    const meta = await metadataOf(runId);
    if (!meta[kind].has(name)) {
      throw new KernosError('invalid_argument', `run ${runId} cannot be ${verb}: its workflow defines no "${name}" ${kind === 'signals' ? 'signal' : 'update'}${verb === 'paused' || verb === 'resumed' ? ' (cancel still works)' : ''}`);
    }
  };

  const queryOr = async <T>(runId: string, name: string, fallback: T, available: Set<string>): Promise<T> => {
    if (!available.has(name)) return fallback;
    try {
      return await query<T>(runId, name);
    } catch {
      // A closed run whose worker is gone cannot answer queries; the rest of the detail still helps.
      return fallback;
    }
  };

  const describeRun = async (runId: string): Promise<RunDetail> => {
    const handle = client.workflow.getHandle(runId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      throw notFoundOr(error, runId);
    }
    const summary = toSummary(description);
    const running = description.status.name === 'RUNNING';
    // Closed runs still answer queries while a worker for their type is up; the metadata query tells which exist.
    let queryError: string | null = null;
    const fetched = await metadataOf(runId).catch((error: Error) => {
      queryError = describeFailure(error);
      return undefined;
    });
    const meta = running && fetched ? fetched : emptyMeta();
    const available = fetched?.queries ?? new Set<string>();
    const [state, progress, approvals] = await Promise.all([
      queryOr<RunDetail['state']>(runId, operatorNames.state, null, available),
      queryOr<ProgressLine[]>(runId, operatorNames.progress, [], available),
      running ? queryOr<PendingApproval[]>(runId, operatorNames.pendingApprovals, [], available) : Promise.resolve([]),
    ]);
    let result: Record<string, unknown> | null = null;
    let failure: string | null = null;
    if (description.status.name === 'COMPLETED') {
      result = (await handle.result().catch(() => null)) as Record<string, unknown> | null;
    } else if (!running) {
      failure = await handle.result().then(
        () => null,
        (error: Error) => describeFailure(error),
      );
    }
    const pendingActivities = (description.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name ?? '',
      attempt: a.attempt ?? 0,
      state: String(a.state ?? ''),
    }));
    return {
      ...summary,
      board: boardStatus(description.status.name, { state, approvals, pendingActivities, progress, result, signals: meta.signals }),
      controls: {
        pause: meta.signals.has(operatorNames.pause) || (running && defaults.kernel !== undefined),
        resume: meta.signals.has(operatorNames.resume) || (running && defaults.kernel !== undefined),
        cancelSignal: meta.signals.has(operatorNames.cancel),
        approvals: meta.updates.has(operatorNames.decideApproval),
      },
      state,
      progress,
      approvals,
      pendingActivities,
      result,
      failure,
      queryError,
      historyLength: description.historyLength,
    };
  };

  return {
    async startRun(options) {
      const runId = options.runId ?? `${options.input.jobId}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
      const handle = await client.workflow.start(options.workflowType ?? 'agentWorkflow', {
        taskQueue: options.taskQueue ?? defaults.taskQueue ?? 'kernos-agents',
        workflowId: runId,
        args: [options.input],
        // The memo lets `ps` and the fleet board show the job without replaying anything.
        memo: { ...options.memo, jobId: options.input.jobId, tenant: options.input.tenant, agentId: options.input.agentId, goal: options.input.goal.slice(0, 200) },
        ...(options.workflowExecutionTimeoutMs ? { workflowExecutionTimeout: options.workflowExecutionTimeoutMs } : {}),
      });
      return { runId, temporalRunId: handle.firstExecutionRunId };
    },

    async listRuns(options = {}) {
      const clauses: string[] = [];
      if (options.status) {
        const status = statusQuery[options.status.toLowerCase()];
        if (!status) throw new KernosError('invalid_argument', `status: expected one of ${Object.keys(statusQuery).join(', ')}, got "${options.status}"`);
        clauses.push(`ExecutionStatus = '${status}'`);
      }
      if (options.workflowType) clauses.push(`WorkflowType = '${options.workflowType.replace(/'/g, '')}'`);
      const taskQueue = options.taskQueue ?? defaults.onlyTaskQueue;
      if (taskQueue) clauses.push(`TaskQueue = '${taskQueue.replace(/'/g, '')}'`);
      const limit = options.limit ?? 50;
      const out: RunSummary[] = [];
      for await (const info of client.workflow.list({ query: clauses.join(' AND ') || undefined, pageSize: Math.min(limit, 100) })) {
        const summary = toSummary(info);
        if (options.jobId && summary.jobId !== options.jobId) continue;
        out.push(summary);
        if (out.length >= limit) break;
      }
      return out;
    },

    describeRun,

    async progress(runId) {
      try {
        return await query<ProgressLine[]>(runId, operatorNames.progress);
      } catch (error) {
        throw notFoundOr(error, runId);
      }
    },

    async runInput(runId) {
      try {
        // Only the first page is needed: the start event is always event 1.
        const history = await client.workflowService.getWorkflowExecutionHistory({
          namespace: client.options.namespace,
          execution: { workflowId: runId },
          maximumPageSize: 1,
        });
        const payload = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        return payload ? (defaultPayloadConverter.fromPayload(payload) as Record<string, unknown>) : null;
      } catch (error) {
        throw notFoundOr(error, runId);
      }
    },

    async pause(runId, reason) {
      if (defaults.kernel && !(await metadataOf(runId)).signals.has(operatorNames.pause)) {
        await defaults.kernel.call(contracts.scheduler.control, { action: scheduler.ControlAction.PAUSE_RUN, target: runId, reason: reason ?? 'paused by operator' });
        return 'scheduler';
      }
      await require(runId, 'signals', operatorNames.pause, 'paused');
      await client.workflow.getHandle(runId).signal(operatorNames.pause, reason ?? 'paused by operator');
      return 'signal';
    },

    async resume(runId) {
      if (defaults.kernel && !(await metadataOf(runId)).signals.has(operatorNames.resume)) {
        await defaults.kernel.call(contracts.scheduler.control, { action: scheduler.ControlAction.RESUME_RUN, target: runId, reason: '' });
        return 'scheduler';
      }
      await require(runId, 'signals', operatorNames.resume, 'resumed');
      await client.workflow.getHandle(runId).signal(operatorNames.resume);
      return 'signal';
    },

    async cancel(runId, options = {}) {
      const handle = client.workflow.getHandle(runId);
      const meta = await metadataOf(runId);
      if (!options.hard && meta.signals.has(operatorNames.cancel)) {
        await handle.signal(operatorNames.cancel, options.reason ?? 'cancelled by operator');
        return 'signal';
      }
      await handle.cancel();
      return 'temporal';
    },

    async decide(runId, decision) {
      await require(runId, 'updates', operatorNames.decideApproval, 'approved or denied');
      try {
        return await client.workflow.getHandle(runId).executeUpdate(operatorNames.decideApproval, {
          args: [{ id: decision.approvalId, approved: decision.approved, decidedBy: decision.decidedBy, note: decision.note ?? '' }],
        });
      } catch (error) {
        // The workflow's validator says why (e.g. no such pending approval); that reason is what the operator needs.
        if (error instanceof WorkflowUpdateFailedError) {
          throw new KernosError('conflict', `run ${runId}: decision rejected: ${(error.cause as Error | undefined)?.message ?? error.message}`);
        }
        throw notFoundOr(error, runId);
      }
    },

    async pendingApprovals(options = {}) {
      const running = await this.listRuns({ status: 'running', limit: options.limit ?? 100 });
      const all = await Promise.all(
        running.map(async (run) => {
          const meta = await metadataOf(run.runId).catch(() => emptyMeta());
          const pending = await queryOr<PendingApproval[]>(run.runId, operatorNames.pendingApprovals, [], meta.queries);
          // A run whose approvals services/access holds has no decideApproval update: those are decided through access.
          const decidable = meta.updates.has(operatorNames.decideApproval);
          return pending.map((p) => ({ ...p, runId: run.runId, jobId: run.jobId, decidable }));
        }),
      );
      return all.flat();
    },
  };
}

interface WorkflowDefinition {
  signalDefinitions?: { name?: string | null }[] | null;
  queryDefinitions?: { name?: string | null }[] | null;
  updateDefinitions?: { name?: string | null }[] | null;
}

function emptyMeta() {
  return { signals: new Set<string>(), queries: new Set<string>(), updates: new Set<string>() };
}

function toSummary(info: Pick<WorkflowExecutionInfo, 'workflowId' | 'runId' | 'type' | 'status' | 'taskQueue' | 'startTime' | 'closeTime' | 'memo'>): RunSummary {
  const memo = (info.memo ?? {}) as Record<string, unknown>;
  return {
    runId: info.workflowId,
    temporalRunId: info.runId,
    workflowType: info.type,
    status: info.status.name,
    taskQueue: info.taskQueue,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime ? info.closeTime.toISOString() : null,
    jobId: typeof memo.jobId === 'string' ? memo.jobId : '',
    tenant: typeof memo.tenant === 'string' ? memo.tenant : '',
    agentId: typeof memo.agentId === 'string' ? memo.agentId : '',
    goal: typeof memo.goal === 'string' ? memo.goal : '',
  };
}

/** The scheduler's grant signal (workflows/src/workflows/lease.ts) and the activities that queue for a lease. */
const leaseGrantedSignal = 'kernos.scheduler.leaseGranted';
const leaseActivities = new Set(['requestLease', 'leaseStatus']);

/** The fleet board's column for a run, from Temporal's status and what the run says about itself. */
export function boardStatus(
  temporalStatus: string,
  seen: {
    state: RunDetail['state'];
    approvals: PendingApproval[];
    pendingActivities: { type: string }[];
    progress: ProgressLine[];
    result?: Record<string, unknown> | null;
    /** Signals the workflow handles (from its metadata). */
    signals?: Set<string>;
  },
): BoardStatus {
  switch (temporalStatus) {
    case 'RUNNING':
      break;
    case 'COMPLETED':
      return seen.result && seen.result.status === 'cancelled' ? 'cancelled' : 'done';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'failed';
  }
  if (seen.approvals.length > 0) return 'awaiting_approval';
  if (seen.state?.status === 'paused') return 'paused';
  const busy = seen.pendingActivities.filter((a) => !leaseActivities.has(a.type));
  if (seen.progress.length === 0 && seen.pendingActivities.length === 0) return 'queued';
  // A turn waits for its lease suspended (no activity running) after enqueueing: a workflow that listens for the
  // scheduler's grant signal and runs nothing else is waiting in the scheduler's queue.
  if (seen.pendingActivities.length > busy.length) return 'waiting_lease';
  if (busy.length === 0 && seen.signals?.has(leaseGrantedSignal)) return 'waiting_lease';
  return 'running';
}

function describeFailure(error: Error): string {
  const parts: string[] = [];
  for (let cur: unknown = error; cur && parts.length < 4; cur = (cur as { cause?: unknown }).cause) parts.push((cur as Error).message);
  return parts.join(': ');
}

function notFoundOr(error: unknown, runId: string): Error {
  if (error instanceof WorkflowNotFoundError || (error as Error)?.name === 'WorkflowNotFoundError' || /not found/i.test(String((error as Error)?.message))) {
    return new KernosError('not_found', `no run "${runId}" in Temporal (check the id with: kernos ps)`);
  }
  return error as Error;
}
