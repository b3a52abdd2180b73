import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { devPasswords, natsAuthorization, natsUser, type KernosRole } from '@kernos/access/identity';
import { queryAudit, runSubject, verifyAudit } from '@kernos/audit';
import { kernelProcessNames, startKernel, type Kernel, type KernelProcessName, type NatsCredentials } from '@kernos/launcher';
import { connectNats, type NatsConnection } from '@kernos/service-kit';
import { privatePort, startPrivateNats, type PrivateNats } from '@kernos/testkit';
import type { AgentResult, ProgressEvent } from '../src/types.js';
import { agentInput, neo4jDriver, temporalClient, uniqueTag } from './helpers.js';

// Issue 5: the whole kernel, every process in its own OS process, on a nats-server locked with the per-role users
// and subject permissions services/access generates (the dev config: user kernos-<role>, password dev-<role>).
// A role that lacks a permission a process needs shows up here as a run that does not complete, or as a
// permissions violation in the server's log.

const tag = uniqueTag();
const taskQueue = `locked-nats-${tag}`;
const dir = mkdtempSync(join(tmpdir(), 'kernos-locked-nats-'));
let nats: PrivateNats;
let kernel: Kernel;
let temporal: Awaited<ReturnType<typeof temporalClient>>;
const connections: NatsConnection[] = [];

async function connectAs(role: KernosRole): Promise<NatsConnection> {
  const nc = await connectNats({ url: nats.url, name: `locked-nats-test-${role}`, user: natsUser(role), pass: devPasswords[role] });
  connections.push(nc);
  return nc;
}

/** Lines of the server's log where it refused a publish or subscribe for a permission ("Publish Violation - User ..."). */
function violations(): string[] {
  return readFileSync(join(dir, 'nats.log'), 'utf8')
    .split('\n')
    .filter((line) => /\b(publish|subscription) violation\b/i.test(line));
}

beforeAll(async () => {
  // What `cli.ts nats-conf --dev` writes.
  const configFile = join(dir, 'nats-auth.conf');
  writeFileSync(configFile, natsAuthorization({ passwords: devPasswords }));
  nats = await startPrivateNats({ dir, port: await privatePort(), configFile });

  // Every kernel process that talks to NATS runs as its own role (the process names are the role names); the
  // emulator serves HTTP only.
  const natsCredentials: Partial<Record<KernelProcessName, NatsCredentials>> = {};
  for (const name of [...kernelProcessNames, 'cockpit'] as const) {
    if (name === 'emulator') continue;
    const role: KernosRole = name;
    natsCredentials[name] = { user: natsUser(role), password: devPasswords[role] };
  }
  kernel = await startKernel({
    env: { ...process.env, KERNOS_NATS_URL: nats.url },
    logDir: join(dir, 'logs'),
    natsCredentials,
    processEnv: { worker: { KERNOS_TASK_QUEUE: taskQueue } },
    cockpit: true,
  });
  temporal = await temporalClient();
});

afterAll(async () => {
  await temporal?.close();
  await kernel?.stop();
  for (const nc of connections) await nc.close().catch(() => undefined);
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the kernel on a NATS server locked with per-role credentials', () => {
  it('refuses a client without credentials', async () => {
    await expect(connectNats({ url: nats.url, name: 'locked-nats-test-anonymous' })).rejects.toThrow(/authoriz/i);
  });

  it('runs an agent to completion: its tool call, its fact in Neo4j and its audit trail, with no permission refused', async () => {
    const input = agentInput(tag);
    const handle = await temporal.client.workflow.start('agentWorkflow', { taskQueue, workflowId: `it-locked-${tag}`, args: [input] });
    const result = (await handle.result()) as AgentResult;

    expect(result.turns).toBe(2);
    expect(result.toolCalls).toBe(1);
    expect(result.factId).toMatch(/^[0-9a-f]{32}$/);
    const progress = await handle.query<ProgressEvent[]>('progress');
    expect(new Set(progress.map((e) => e.service))).toEqual(new Set(['access', 'tool-gateway', 'scheduler', 'graph', 'agent']));
    expect(progress.some((e) => e.service === 'tool-gateway' && e.message.startsWith('echo on everything'))).toBe(true);

    const driver = neo4jDriver();
    try {
      const { records } = await driver.executeQuery(
        'MATCH (e:Episode {id: $runId})-[:ASSERTED]->(f:Fact {id: $factId}) RETURN f.subject AS subject, e.agent_id AS agent',
        { runId: result.runId, factId: result.factId },
      );
      expect(records.map((r) => r.toObject())).toEqual([{ subject: `case-${tag}`, agent: `agent-${tag}` }]);
    } finally {
      await driver.close();
    }

    // The services wrote the run's audit records under their own roles; the cockpit's role may read them back.
    const cockpit = jetstream(await connectAs('cockpit'));
    const trail = await queryAudit(cockpit, { tenant: input.tenant, jobId: input.jobId, runId: result.runId });
    expect(trail.length).toBeGreaterThan(0);
    expect((await verifyAudit(cockpit, { tenant: input.tenant, jobId: input.jobId, runId: result.runId })).ok).toBe(true);

    // No process was refused anything on the way (a refused fire-and-forget publish would fail silently).
    expect(violations()).toEqual([]);
  });

  it("refuses the worker's credentials a direct publish of an audit record", async () => {
    const worker = await connectAs('worker');
    const subject = runSubject({ tenant: 'test', jobId: `job-${tag}`, runId: 'forged' });
    const refused = (async () => {
      for await (const status of worker.status()) {
        if (status.type === 'error' && /permissions violation/i.test(status.error.message) && status.error.message.includes(subject)) return true;
      }
      return false;
    })();
    worker.publish(subject, 'forged');
    await worker.flush();
    expect(await Promise.race([refused, new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000))])).toBe(true);
    // The server's log reaches its file through the launcher's pipe a moment later.
    await expect.poll(() => violations().some((line) => line.includes(natsUser('worker')) && line.includes(subject)), { timeout: 5_000 }).toBe(true);
    // And nothing reached the AUDIT stream on that subject.
    const admin = jetstream(await connectAs('admin'));
    expect(await queryAudit(admin, { tenant: 'test', jobId: `job-${tag}`, runId: 'forged' })).toEqual([]);
  });
});
