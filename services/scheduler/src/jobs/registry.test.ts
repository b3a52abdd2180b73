import { describe, expect, it } from 'vitest';
import { parseJobDocument } from './job-document.js';
import { JobRegistry, memoryJobStore, type JobRecord, type ScheduleSync } from './registry.js';

const jobDoc = (overrides: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'kernos.dev/v1',
  kind: 'Job',
  metadata: { name: 'nightly-triage', tenant: 'acme' },
  spec: {
    goal: 'Triage the open tickets.',
    schedule: '0 2 * * *',
    priority: 5,
    model: { endpoint: 'default', tokenBudget: 20000 },
    tools: ['echo'],
    data: { subject: 'tickets', writes: 'internal' },
    governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
    ...spec,
  },
  ...overrides,
});

function registry() {
  const synced: JobRecord[] = [];
  const sync: ScheduleSync = { upsert: async (job) => void synced.push(job) };
  return { registry: new JobRegistry(memoryJobStore(), sync), synced };
}

describe('job documents', () => {
  it('fill defaults', () => {
    const job = parseJobDocument(JSON.stringify(jobDoc()));
    expect(job.spec).toMatchObject({ workflow: 'agentWorkflow', capabilities: [], timeouts: {} });
  });

  it('report every problem, each naming its field', () => {
    const bad = jobDoc({ apiVersion: 'kernos.dev/v2', extra: 1 }, { schedule: 'every night', priority: 500, governance: { riskLevel: 'scary', dataCategories: ['internal'], humanOversight: 'none', approver: 'x' } });
    let message = '';
    try {
      parseJobDocument(JSON.stringify(bad));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('apiVersion: expected "kernos.dev/v1"');
    expect(message).toContain('spec.schedule: expected a cron expression like "0 2 * * *"');
    expect(message).toContain('spec.priority:');
    expect(message).toContain('spec.governance.riskLevel:');
    expect(message).toContain('Unrecognized key: "extra"');
    expect(() => parseJobDocument('{not json')).toThrow(/document_json: not valid JSON/);
    expect(() => parseJobDocument(JSON.stringify(jobDoc({}, { data: { subject: 's', writes: 'pii' } })))).toThrow(
      'spec.data.writes: "pii" is not in spec.governance.dataCategories (internal)',
    );
  });
});

describe('JobRegistry', () => {
  it('applies idempotently: same document unchanged, a change bumps the generation and re-syncs the schedule', async () => {
    const { registry: jobs, synced } = registry();
    const first = await jobs.apply(JSON.stringify(jobDoc()));
    expect(first).toMatchObject({ outcome: 'created', record: { tenant: 'acme', name: 'nightly-triage', generation: 1, scheduleId: 'kernos-job-acme-nightly-triage' } });
    expect((await jobs.apply(JSON.stringify(jobDoc()))).outcome).toBe('unchanged');
    expect(synced).toHaveLength(1);
    const changed = await jobs.apply(JSON.stringify(jobDoc({}, { schedule: '30 3 * * *' })));
    expect(changed).toMatchObject({ outcome: 'updated', record: { generation: 2 } });
    expect(synced.map((j) => j.document.spec.schedule)).toEqual(['0 2 * * *', '30 3 * * *']);
    // Dropping the schedule syncs once more (the sync deletes the Temporal Schedule).
    expect((await jobs.apply(JSON.stringify(jobDoc({}, { schedule: undefined })))).record.scheduleId).toBe('');
    expect(synced).toHaveLength(3);
  });

  it('keeps what was applied when a document is bad or the schedule is refused', async () => {
    const { registry: jobs } = registry();
    await jobs.apply(JSON.stringify(jobDoc()));
    await expect(jobs.apply(JSON.stringify(jobDoc({}, { priority: 'high' })))).rejects.toMatchObject({ code: 'invalid_argument' });
    const refusing = new JobRegistry(memoryJobStore(), { upsert: async () => Promise.reject(new Error('bad cron')) });
    await expect(refusing.apply(JSON.stringify(jobDoc()))).rejects.toThrow('bad cron');
    expect(await refusing.list()).toEqual([]);
    expect((await jobs.describe('acme', 'nightly-triage')).document.spec.priority).toBe(5);
  });

  it('lists by tenant and name, and describes or answers not_found', async () => {
    const { registry: jobs } = registry();
    await jobs.apply(JSON.stringify(jobDoc({ metadata: { name: 'b', tenant: 'zeta' } })));
    await jobs.apply(JSON.stringify(jobDoc({ metadata: { name: 'b', tenant: 'acme' } })));
    await jobs.apply(JSON.stringify(jobDoc({ metadata: { name: 'a', tenant: 'acme' } })));
    expect((await jobs.list()).map((j) => `${j.tenant}/${j.name}`)).toEqual(['acme/a', 'acme/b', 'zeta/b']);
    expect((await jobs.list('zeta')).map((j) => j.name)).toEqual(['b']);
    await expect(jobs.describe('acme', 'nope')).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('no job "nope" in tenant "acme"') });
  });
});

describe('describeJob', () => {
  it('refuses a name no job can have, naming the field, instead of passing it to the store as a key', async () => {
    const { registry: jobs } = registry();
    const { describeJob } = await import('../handlers/jobs.js');
    const { create } = await import('@bufbuild/protobuf');
    const { scheduler } = await import('@kernos/wire');
    for (const name of ['', 'job.with.{}', 'ZGVmYXVsdA.,', 'Ünïcode']) {
      await expect(describeJob(jobs, create(scheduler.DescribeJobRequestSchema, { tenant: 'acme', name }))).rejects.toMatchObject({
        code: 'invalid_argument',
        message: expect.stringContaining('name:'),
      });
    }
  });
});

describe('run options of a job', () => {
  it('turn the deadline and timeouts into what Temporal and the lease workflow enforce', async () => {
    const { runOptionsOf, durationMs } = await import('./job-document.js');
    const job = parseJobDocument(JSON.stringify(jobDoc({}, { deadline: '90s', timeouts: { run: '2h', turn: '45s' } })));
    expect(runOptionsOf(job)).toEqual({
      workflowExecutionTimeoutMs: 7_200_000,
      memo: { tenant: 'acme', job: 'nightly-triage', 'kernos.deadlineAfterMs': 90_000, 'kernos.turnTimeoutMs': 45_000 },
    });
    // Without them nothing is enforced beyond the defaults.
    expect(runOptionsOf(parseJobDocument(JSON.stringify(jobDoc())))).toEqual({ memo: { tenant: 'acme', job: 'nightly-triage' } });
    expect([durationMs('250ms'), durationMs('3m'), durationMs('1d')]).toEqual([250, 180_000, 86_400_000]);
    expect(() => durationMs('soon')).toThrow('expected a duration');
  });

  it('use the memo keys the lease workflow reads', async () => {
    const { deadlineMemoKey, turnTimeoutMemoKey } = await import('../../../../workflows/src/workflows/lease.js');
    const { runOptionsOf } = await import('./job-document.js');
    const memo = runOptionsOf(parseJobDocument(JSON.stringify(jobDoc({}, { deadline: '1m', timeouts: { turn: '2m' } })))).memo;
    expect(Object.keys(memo)).toEqual(expect.arrayContaining([deadlineMemoKey, turnTimeoutMemoKey]));
  });
});
