import type { KV } from '@nats-io/kv';
import type { Client } from '@temporalio/client';
import { KernosError } from '@kernos/errors';
import { parseJobDocument, runInputOf, runOptionsOf, type JobDocument } from './job-document.js';

export interface JobRecord {
  tenant: string;
  name: string;
  generation: number;
  /** The validated document with defaults filled in, as stored. */
  document: JobDocument;
  /** The Temporal Schedule starting its runs; empty without spec.schedule. */
  scheduleId: string;
}

/** Keeps Temporal Schedules in step with jobs; `upsert` with no schedule removes it. */
export interface ScheduleSync {
  upsert(job: JobRecord): Promise<void>;
}

/** Where job records live: a KV bucket in production (survives restarts, shared by replicas) or memory in tests. */
export interface JobStore {
  get(key: string): Promise<JobRecord | undefined>;
  put(key: string, record: JobRecord): Promise<void>;
  list(): Promise<JobRecord[]>;
}

export function memoryJobStore(): JobStore {
  const records = new Map<string, JobRecord>();
  return {
    get: async (key) => records.get(key),
    put: async (key, record) => void records.set(key, record),
    list: async () => [...records.values()],
  };
}

export function kvJobStore(kv: KV): JobStore {
  return {
    async get(key) {
      const entry = await kv.get(key);
      return entry && entry.operation === 'PUT' && entry.length > 0 ? entry.json<JobRecord>() : undefined;
    },
    put: async (key, record) => void (await kv.put(key, JSON.stringify(record))),
    async list() {
      const out: JobRecord[] = [];
      for await (const key of await kv.keys('job.>')) {
        const record = await this.get(key);
        if (record) out.push(record);
      }
      return out;
    },
  };
}

const keyOf = (tenant: string, name: string) => `job.${Buffer.from(tenant).toString('base64url')}.${name}`;
/** Schedule ids are stable per job, so re-applying updates the same schedule instead of creating another. */
export const scheduleIdOf = (tenant: string, name: string) => `kernos-job-${tenant}-${name}`;

/**
 * The jobs registry: applies Job documents idempotently (the same document again is `unchanged` and touches
 * nothing; a changed one bumps `generation`) and keeps each job's Temporal Schedule in sync. A document that
 * fails validation changes nothing that was applied before.
 */
export class JobRegistry {
  constructor(
    private readonly store: JobStore,
    private readonly schedules: ScheduleSync | undefined,
  ) {}

  async apply(documentJson: string): Promise<{ record: JobRecord; outcome: 'created' | 'updated' | 'unchanged' }> {
    const document = parseJobDocument(documentJson);
    const { tenant, name } = document.metadata;
    const key = keyOf(tenant, name);
    const existing = await this.store.get(key);
    const scheduleId = document.spec.schedule ? scheduleIdOf(tenant, name) : '';
    if (existing && JSON.stringify(existing.document) === JSON.stringify(document)) return { record: existing, outcome: 'unchanged' };
    const record: JobRecord = { tenant, name, generation: (existing?.generation ?? 0) + 1, document, scheduleId };
    // Schedule first: if Temporal refuses it (a cron it cannot parse), the job stays as it was.
    if (this.schedules && (document.spec.schedule || existing?.scheduleId)) await this.schedules.upsert(record);
    await this.store.put(key, record);
    return { record, outcome: existing ? 'updated' : 'created' };
  }

  async list(tenant = ''): Promise<JobRecord[]> {
    const all = await this.store.list();
    return all.filter((r) => tenant === '' || r.tenant === tenant).sort((a, b) => (a.tenant === b.tenant ? a.name.localeCompare(b.name) : a.tenant.localeCompare(b.tenant)));
  }

  async describe(tenant: string, name: string): Promise<JobRecord> {
    const record = await this.store.get(keyOf(tenant || 'default', name));
    if (!record) throw new KernosError('not_found', `no job "${name}" in tenant "${tenant || 'default'}"; list them with kernos.scheduler.listJobs`);
    return record;
  }
}

/** Temporal Schedules for jobs: create or update the job's schedule, or delete it when the job lost its cron. */
export function temporalScheduleSync(client: Client, taskQueue = 'kernos-agents'): ScheduleSync {
  return {
    async upsert(job) {
      const id = scheduleIdOf(job.tenant, job.name);
      const cron = job.document.spec.schedule;
      const handle = client.schedule.getHandle(id);
      if (!cron) {
        await handle.delete().catch(() => undefined);
        return;
      }
      const run = runOptionsOf(job.document);
      const action = {
        type: 'startWorkflow' as const,
        workflowType: job.document.spec.workflow,
        taskQueue,
        // Each run's workflow id is the schedule id plus the fire time (Temporal appends it), so runs never collide.
        workflowId: `${id}-run`,
        args: [runInputOf(job.document)],
        // Enforced, not just stored: Temporal ends a run past spec.timeouts.run; the deadline and turn timeout reach
        // each turn through the memo (see runOptionsOf).
        ...(run.workflowExecutionTimeoutMs === undefined ? {} : { workflowExecutionTimeout: run.workflowExecutionTimeoutMs }),
        memo: run.memo,
      };
      try {
        await handle.update((previous) => ({ ...previous, spec: { cronExpressions: [cron] }, action }));
      } catch (error) {
        if ((error as Error).name !== 'ScheduleNotFoundError') throw new KernosError('invalid_argument', `spec.schedule: Temporal refused the schedule: ${(error as Error).message}`);
        try {
          await client.schedule.create({ scheduleId: id, spec: { cronExpressions: [cron] }, action, memo: { tenant: job.tenant, job: job.name } });
        } catch (createError) {
          throw new KernosError('invalid_argument', `spec.schedule: Temporal refused the schedule: ${(createError as Error).message}`);
        }
      }
    },
  };
}
