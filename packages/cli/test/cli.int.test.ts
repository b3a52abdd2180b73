import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditPublisher, ensureAuditStream, runSubject } from '@kernos/audit';
import { connectNats } from '@kernos/service-kit';
import { startPrivateNats } from '@kernos/testkit';
import { audit, create, toBinary } from '@kernos/wire';
import { Client, Connection } from '@temporalio/client';
import { createOperator, type Operator } from '../src/index.js';
import { startFixtureWorker } from './fixtures/index.js';

// The CLI as an operator uses it: a child process against the real Temporal dev server, driving a run of the
// operator fixture workflow on its own task queue.
const bin = fileURLToPath(new URL('../bin/kernos.js', import.meta.url));
const taskQueue = `cli-${Date.now().toString(36)}`;
let worker: { stop(): Promise<void> };
let connection: Connection;
// Waiting is done in-process: each CLI start costs a second or two on a busy machine, so the CLI runs only for the
// commands under test, and the test reads state between them through the same operator API the CLI uses.
let operator: Operator;
let dir: string;
const started: string[] = [];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kernos(...args: string[]): Promise<Result> {
  return kernosWith({}, ...args);
}

function kernosWith(env: Record<string, string>, ...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, KERNOS_TASK_QUEUE: taskQueue, KERNOS_OPERATOR: 'ops@example.com', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const result = await kernos(...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  const value = JSON.parse(result.stdout) as T;
  if (args[0] === 'run') started.push((value as { runId: string }).runId);
  return value;
}

function jobFile(name: string, extra: { maxTurns: number; tools?: string[] }): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    `apiVersion: kernos.dev/v1
kind: Job
metadata: { name: ${name}, tenant: cli-test }
spec:
  workflow: operatorFixtureWorkflow
  goal: fixture goal ${name}
  model: { maxTurns: ${extra.maxTurns} }
  tools: [${(extra.tools ?? []).join(', ')}]
  data: { subject: s, writes: internal }
  governance: { riskLevel: high, dataCategories: [internal], humanOversight: on_risk, approver: lead@example.com }
`,
  );
  return path;
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 100; i += 1) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kernos-cli-'));
  worker = await startFixtureWorker({
    address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default',
    taskQueue,
  });
  connection = await Connection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  operator = createOperator(new Client({ connection, namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default' }), { taskQueue });
});

afterAll(async () => {
  // Runs left waiting (a failed assertion) must not linger on the shared Temporal server.
  for (const runId of started) await operator?.cancel(runId, { hard: true }).catch(() => undefined);
  await worker?.stop();
  await connection?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kernos CLI', () => {
  it('prints usage from the real bin', async () => {
    const help = await kernos('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: kernos <command>');
  });

  // Generous timeouts: each CLI start is a process with its own Temporal connection, slow on a loaded machine.
  it('runs a job, lists it, pauses, resumes and cancels it at turn boundaries', { timeout: 240_000 }, async () => {
    const started = await json<{ runId: string }>('run', '-f', jobFile('cli-pause', { maxTurns: 100 }), '--id', `cli-pause-${taskQueue}`);
    expect(started.runId).toBe(`cli-pause-${taskQueue}`);

    // Visibility is eventually consistent: wait until the run is listed, then ask the CLI.
    await until(() => operator.listRuns({ status: 'running', workflowType: 'operatorFixtureWorkflow', limit: 100 }), (runs) => runs.some((r) => r.runId === started.runId), 'the run in visibility');
    const listed = await json<{ runId: string; jobId: string; status: string }[]>('ps', '--status', 'running', '--type', 'operatorFixtureWorkflow', '--limit', '100');
    expect(listed.find((r) => r.runId === started.runId)).toMatchObject({ jobId: 'cli-pause', status: 'RUNNING' });

    const pause = await kernos('pause', started.runId, '--reason', 'maintenance');
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toContain('pausing');
    const paused = await until(() => operator.describeRun(started.runId), (d) => d.board === 'paused', 'paused');
    // Paused means no new turns: the progress does not move while it is held.
    await new Promise((r) => setTimeout(r, 600));
    const still = await json<{ board: string; progress: unknown[]; state: { reason: string } }>('describe', started.runId);
    expect(still.progress.length).toBe(paused.progress.length);
    expect(still.state.reason).toBe('maintenance');

    expect((await kernos('resume', started.runId)).code).toBe(0);
    await until(() => operator.describeRun(started.runId), (d) => d.board === 'running' && d.progress.length > still.progress.length, 'turns again');

    const readable = await kernos('describe', started.runId);
    expect(readable.stdout).toMatch(/controls\s+pause, resume, cancel \(at turn boundary\), approve\/deny/);

    const cancel = await json<{ via: string }>('cancel', started.runId, '--reason', 'done testing');
    expect(cancel.via).toBe('signal');
    await until(() => operator.describeRun(started.runId), (d) => d.status !== 'RUNNING', 'the end');
    expect((await json<{ board: string }>('describe', started.runId)).board).toBe('cancelled');

    const logs = await kernos('logs', started.runId);
    expect(logs.stdout, logs.stderr).toContain('paused: maintenance');
    expect(logs.stdout).toContain('resumed');
  });

  it('approves a pending action, and refuses a second decision', { timeout: 240_000 }, async () => {
    const started = await json<{ runId: string }>('run', '-f', jobFile('cli-approve', { maxTurns: 100, tools: ['send-email'] }));
    const waiting = await until(() => operator.describeRun(started.runId), (d) => d.board === 'awaiting_approval', 'the approval');
    const approve = await kernos('approve', started.runId, '--reason', 'looks fine');
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain(`approved ${waiting.approvals[0]!.id} of run ${started.runId} as ops@example.com`);
    const again = await kernos('deny', started.runId, waiting.approvals[0]!.id);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('no pending approval');
    const after = await until(() => operator.describeRun(started.runId), (d) => d.board === 'running', 'the run to go on');
    expect(after.progress.map((p) => p.message)).toContain(`approval ${waiting.approvals[0]!.id} approved by ops@example.com: looks fine`);
  });

  it('runs a job to its end with --wait, and reads the dev stack status', async () => {
    const result = await kernos('run', '-f', jobFile('cli-wait', { maxTurns: 2 }));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/started run cli-wait-\S+ of job cli-wait/);
    started.push(/started run (\S+)/.exec(result.stdout)![1]!);
    const waited = await kernos('run', '-f', jobFile('cli-wait2', { maxTurns: 2 }), '--wait');
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stdout).toContain('answer: fixture fixture goal cli-wait2');
    // Progress streams to stderr while it waits, so stdout stays the result.
    expect(waited.stderr).toContain('done after 2 turns');

    // The integration setup runs (or reuses) the dev stack, so status must find it healthy.
    const status = await json<{ healthy: boolean; servers: { name: string }[] }>('status');
    expect(status.healthy).toBe(true);
    expect(status.servers.map((s) => s.name).sort()).toEqual(['nats', 'neo4j', 'temporal']);
  });

  it('says when a run does not exist', async () => {
    const missing = await kernos('describe', 'no-such-run-xyz');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no run "no-such-run-xyz"');
  });
});

describe('kernos audit verify', () => {
  it('passes an intact run chain and fails a tampered one, on a private nats-server', async () => {
    const nats = await startPrivateNats({ dir });
    const nc = await connectNats({ url: nats.url, name: 'cli-audit-test' });
    try {
      await ensureAuditStream(await jetstreamManager(nc));
      const publisher = createAuditPublisher(jetstream(nc));
      const ref = { tenant: 't', jobId: 'j', runId: 'r-audit', agentId: 'a' };
      for (const action of ['model.use', 'tool.call', 'data.write']) {
        await publisher.publish({ kind: audit.Kind.ACCESS_DECISION, ref, service: 'access', action, resource: 'x', outcome: 'allow' });
      }
      const env = { KERNOS_NATS_URL: nats.url };
      const ok = await kernosWith(env, 'audit', 'verify', '--run', 'r-audit');
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('audit chain intact: 3 records in 1 run chain(s)');

      // A record slipped in by hand: its prev_hash does not match the chain's head.
      const forged = create(audit.AuditRecordSchema, { kind: audit.Kind.ACCESS_DECISION, ref, seq: 4n, prevHash: 'f'.repeat(64), hash: '0'.repeat(64), action: 'tool.call' });
      await jetstream(nc).publish(runSubject(ref), toBinary(audit.AuditRecordSchema, forged));
      const broken = await kernosWith(env, 'audit', 'verify', '--run', 'r-audit', '--json');
      expect(broken.code).toBe(1);
      const result = JSON.parse(broken.stdout) as { ok: boolean; problems: { problem: string }[] };
      expect(result.ok).toBe(false);
      expect(result.problems.map((p) => p.problem)).toContain('prev-hash-mismatch');
    } finally {
      await nc.drain();
      await nats.stop();
    }
  });
});
