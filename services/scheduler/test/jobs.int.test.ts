import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { Kvm, type KV } from '@nats-io/kv';
import { Client, Connection } from '@temporalio/client';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { JobRegistry, kvJobStore, temporalScheduleSync } from '../src/jobs/registry.js';
import { createSchedulerService, type SchedulerService } from '../src/service.js';

// The jobs registry over real NATS (its own subject prefix and KV bucket) with real Temporal Schedules.
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const prefix = `test-${tag}.`;
const tenant = `t${tag}`;
const tracer = trace.getTracer('scheduler-jobs-int-test');
let nc: NatsConnection;
let kv: KV;
let client: KernelClient;
let service: SchedulerService;
let connection: Connection;
let temporal: Client;

const doc = (schedule: string | undefined, priority = 5) => ({
  apiVersion: 'kernos.dev/v1',
  kind: 'Job',
  metadata: { name: 'nightly', tenant },
  spec: {
    goal: 'Triage the open tickets.',
    ...(schedule ? { schedule } : {}),
    priority,
    tools: ['echo'],
    data: { subject: 'tickets', writes: 'internal' },
    governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
  },
});
const apply = (document: unknown) => client.call(contracts.scheduler.applyJob, { documentJson: JSON.stringify(document) });

beforeAll(async () => {
  nc = await connectNats({ url: process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222', name: 'scheduler-jobs-int-test' });
  kv = await new Kvm(nc).create(`kernos-jobs-test-${tag}`, { history: 1 });
  connection = await Connection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  temporal = new Client({ connection, namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default' });
  client = createKernelClient(nc, tracer, { subjectPrefix: prefix });
  service = createSchedulerService({
    nc,
    tracer,
    logger: createLogger('scheduler', () => undefined),
    endpoints: [{ name: 'default', baseUrl: 'http://127.0.0.1:8400/v1', model: 'm', maxConcurrent: 1, policy: 'composite' }],
    subjectPrefix: prefix,
    jobs: new JobRegistry(kvJobStore(kv), temporalScheduleSync(temporal, `jobs-test-${tag}`)),
  });
  await service.start();
});

afterAll(async () => {
  await temporal?.schedule.getHandle(`kernos-job-${tenant}-nightly`).delete().catch(() => undefined);
  await service?.stop();
  await kv?.destroy().catch(() => undefined);
  await connection?.close();
  await nc?.drain();
});

describe('jobs registry over NATS', () => {
  it('applies a Job idempotently, syncs its Temporal Schedule, and lists and describes it', async () => {
    const created = await apply(doc('0 2 * * *'));
    expect(created).toMatchObject({ outcome: 'created', job: { tenant, name: 'nightly', schedule: '0 2 * * *', generation: 1n, scheduleId: `kernos-job-${tenant}-nightly` } });
    const schedule = await temporal.schedule.getHandle(`kernos-job-${tenant}-nightly`).describe();
    // Temporal stores a cron expression as a calendar: 0 2 * * * is minute 0 of hour 2.
    expect(schedule.spec.calendars?.[0]).toMatchObject({ minute: [expect.objectContaining({ start: 0 })], hour: [expect.objectContaining({ start: 2 })] });
    expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'agentWorkflow', taskQueue: `jobs-test-${tag}` });
    expect((schedule.action as { args?: unknown[] }).args?.[0]).toMatchObject({ tenant, jobId: 'nightly', priority: 5, dataCategory: 'internal' });

    expect(await apply(doc('0 2 * * *'))).toMatchObject({ outcome: 'unchanged', job: { generation: 1n } });
    expect(await apply(doc('30 3 * * *', 7))).toMatchObject({ outcome: 'updated', job: { generation: 2n, priority: 7 } });
    const updated = await temporal.schedule.getHandle(`kernos-job-${tenant}-nightly`).describe();
    expect(updated.spec.calendars?.[0]).toMatchObject({ minute: [expect.objectContaining({ start: 30 })], hour: [expect.objectContaining({ start: 3 })] });

    // A bad document names its fields and leaves the applied job as it was.
    await expect(apply({ ...doc('0 2 * * *'), spec: { ...doc('0 2 * * *').spec, governance: { riskLevel: 'unacceptable', dataCategories: ['internal'], humanOversight: 'none', approver: 'x' } } })).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('spec.governance.riskLevel: an "unacceptable" risk job cannot be applied'),
    });
    const describedJob = await client.call(contracts.scheduler.describeJob, { tenant, name: 'nightly' });
    expect(describedJob.job).toMatchObject({ generation: 2n, schedule: '30 3 * * *' });
    expect(JSON.parse(describedJob.documentJson)).toMatchObject({ spec: { priority: 7, workflow: 'agentWorkflow' } });
    expect((await client.call(contracts.scheduler.listJobs, { tenant })).jobs.map((j) => j.name)).toEqual(['nightly']);

    // The deadline and timeouts are enforced, not only stored: a run the schedule starts has the run timeout as its
    // execution timeout and carries the deadline and turn timeout that each scheduled turn applies (lease.ts).
    const timed = { ...doc('30 3 * * *', 7), spec: { ...doc('30 3 * * *', 7).spec, deadline: '90s', timeouts: { run: '20m', turn: '45s' } } };
    expect(await apply(timed)).toMatchObject({ outcome: 'updated', job: { generation: 3n } });
    const handle = temporal.schedule.getHandle(`kernos-job-${tenant}-nightly`);
    expect((await handle.describe()).action).toMatchObject({ workflowExecutionTimeout: 1_200_000 });
    await handle.trigger();
    let runId: string | undefined;
    for (let i = 0; i < 100 && !runId; i++) {
      runId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!runId) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runId).toBeDefined();
    // No worker polls this task queue: the run just sits there to be inspected, then is terminated.
    const run = temporal.workflow.getHandle(runId!);
    const described = await run.describe();
    expect(Number(described.raw.executionConfig?.workflowExecutionTimeout?.seconds)).toBe(1_200);
    expect(await described.memo).toMatchObject({ tenant, job: 'nightly', 'kernos.deadlineAfterMs': 90_000, 'kernos.turnTimeoutMs': 45_000 });
    await run.terminate('test done');
    expect(await apply(doc('30 3 * * *', 7))).toMatchObject({ outcome: 'updated', job: { generation: 4n } });

    // Dropping the schedule deletes the Temporal Schedule.
    expect(await apply(doc(undefined, 7))).toMatchObject({ outcome: 'updated', job: { scheduleId: '' } });
    await expect(temporal.schedule.getHandle(`kernos-job-${tenant}-nightly`).describe()).rejects.toThrow();
    await expect(client.call(contracts.scheduler.describeJob, { tenant, name: 'nope' })).rejects.toMatchObject({ code: 'not_found' });
  });
});
