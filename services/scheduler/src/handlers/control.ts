import { KernosError } from '@kernos/errors';
import { scheduler, type MessageInitShape } from '@kernos/wire';
import type { Admission, ControlAction } from '../admission/admission.js';

const actions: Partial<Record<scheduler.ControlAction, ControlAction>> = {
  [scheduler.ControlAction.PAUSE_RUN]: 'pause-run',
  [scheduler.ControlAction.RESUME_RUN]: 'resume-run',
  [scheduler.ControlAction.CANCEL_RUN]: 'cancel-run',
  [scheduler.ControlAction.HOLD_JOB]: 'hold-job',
  [scheduler.ControlAction.RELEASE_JOB]: 'release-job',
  [scheduler.ControlAction.DRAIN_ENDPOINT]: 'drain-endpoint',
  [scheduler.ControlAction.RESUME_ENDPOINT]: 'resume-endpoint',
};

/** kernos.scheduler.control: pause/resume/cancel a run, hold/release a job, drain/resume an endpoint. */
export function control(admission: Admission, request: scheduler.ControlRequest): MessageInitShape<typeof scheduler.ControlReplySchema> {
  const action = actions[request.action];
  const problems: string[] = [];
  if (!action) problems.push(`action: expected one of ${Object.values(actions).join(', ')}, got ${request.action}`);
  if (request.target.trim() === '') problems.push('target: required (the run id, job id or endpoint name)');
  if (problems.length > 0) throw new KernosError('invalid_argument', `kernos.scheduler.control: ${problems.join('; ')}`);
  return { affected: admission.control(action!, request.target, request.reason) };
}

/** kernos.scheduler.budget: sets or removes a run or job token budget. */
export function budget(admission: Admission, request: scheduler.BudgetRequest): MessageInitShape<typeof scheduler.BudgetReplySchema> {
  const problems: string[] = [];
  const hasRun = request.runId.trim() !== '';
  const hasJob = request.jobId.trim() !== '';
  if (hasRun === hasJob) problems.push('run_id, job_id: set exactly one');
  if (request.maxTokens < 0) problems.push(`max_tokens: must not be negative, got ${request.maxTokens}`);
  if (problems.length > 0) throw new KernosError('invalid_argument', `kernos.scheduler.budget: ${problems.join('; ')}`);
  const scope = hasRun ? 'run' : 'job';
  const result = admission.setBudget(
    scope,
    hasRun ? request.runId : request.jobId,
    request.maxTokens === 0n ? undefined : { maxTokens: Number(request.maxTokens), onExceed: request.onExceed === scheduler.BudgetAction.STOP ? 'stop' : 'pause' },
  );
  return { spentTokens: BigInt(result.spent), exceeded: result.exceeded };
}
