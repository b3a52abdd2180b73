import { KernosError } from '@kernos/errors';
import type { MessageInitShape, scheduler } from '@kernos/wire';
import { jobNameSchema } from '../jobs/job-document.js';
import type { JobRecord, JobRegistry } from '../jobs/registry.js';

type Summary = MessageInitShape<typeof scheduler.JobSummarySchema>;

function summary(record: JobRecord): Summary {
  const spec = record.document.spec;
  return {
    tenant: record.tenant,
    name: record.name,
    workflow: spec.workflow,
    schedule: spec.schedule ?? '',
    priority: spec.priority,
    endpoint: spec.model.endpoint,
    generation: BigInt(record.generation),
    scheduleId: record.scheduleId,
  };
}

/** kernos.scheduler.applyJob: validates (errors name the field) and applies idempotently. */
export async function applyJob(jobs: JobRegistry, request: scheduler.ApplyJobRequest): Promise<MessageInitShape<typeof scheduler.ApplyJobReplySchema>> {
  if (request.documentJson.trim() === '') throw new KernosError('invalid_argument', 'kernos.scheduler.applyJob: document_json: required (a Job document as JSON)');
  try {
    const { record, outcome } = await jobs.apply(request.documentJson);
    return { job: summary(record), outcome };
  } catch (error) {
    if (error instanceof KernosError && error.code === 'invalid_argument') {
      throw new KernosError('invalid_argument', `kernos.scheduler.applyJob: ${error.message}`);
    }
    throw error;
  }
}

export async function listJobs(jobs: JobRegistry, request: scheduler.ListJobsRequest): Promise<MessageInitShape<typeof scheduler.ListJobsReplySchema>> {
  return { jobs: (await jobs.list(request.tenant)).map(summary) };
}

export async function describeJob(jobs: JobRegistry, request: scheduler.DescribeJobRequest): Promise<MessageInitShape<typeof scheduler.DescribeJobReplySchema>> {
  // Only a DNS-style name can name a job; anything else is refused here rather than reaching the KV store as a bad key.
  const name = jobNameSchema.safeParse(request.name);
  if (!name.success) throw new KernosError('invalid_argument', `kernos.scheduler.describeJob: name: ${name.error.issues[0]?.message ?? 'invalid'}`);
  const record = await jobs.describe(request.tenant, request.name);
  return { job: summary(record), documentJson: JSON.stringify(record.document) };
}
