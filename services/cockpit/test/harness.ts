import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createOperator, type Operator } from '@kernos/cli';
import { startFixtureWorker } from '@kernos/cli/testing';
import { startKernel, type Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient, createLogger, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { startPrivateNats, type PrivateNats } from '@kernos/testkit';
import { jetstream } from '@nats-io/jetstream';
import { trace } from '@opentelemetry/api';
import { createCockpitService, type CockpitService, type CockpitUser } from '../src/index.js';

export const users: CockpitUser[] = [
  { name: 'Olga Operator', identity: 'lead@example.com', role: 'operator', token: 'operator-token-0123456789', dataCategories: ['public', 'internal'] },
  { name: 'Vic Viewer', identity: 'viewer@example.com', role: 'viewer', token: 'viewer-token-0123456789ab', dataCategories: ['public'] },
];

export interface Harness {
  url: string;
  natsUrl: string;
  operator: Operator;
  kernel: KernelClient;
  taskQueue: string;
  /** Starts a fixture run (operator protocol, timer turns) and remembers it for clean-up. */
  startRun(name: string, input?: { maxTurns?: number; tools?: string[]; workflowType?: string }): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The cockpit against real servers: its own nats-server (JetStream: audit stream, approvals KV) so no other
 * engineer's services answer, the real access and scheduler services, the shared Temporal with a fixture worker
 * on a private task queue, and the cockpit service itself in this process.
 */
export async function startHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'kernos-cockpit-'));
  const taskQueue = `cockpit-${Date.now().toString(36)}`;
  const temporalAddress = process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default';
  const started: string[] = [];
  let nats: PrivateNats | undefined;
  let kernel: Kernel | undefined;
  let worker: { stop(): Promise<void> } | undefined;
  let nc: NatsConnection | undefined;
  let connection: Connection | undefined;
  let cockpit: CockpitService | undefined;

  const stop = async () => {
    if (connection) {
      const client = new Client({ connection, namespace });
      for (const runId of started) await client.workflow.getHandle(runId).terminate('test over').catch(() => undefined);
    }
    await cockpit?.stop();
    await worker?.stop();
    await nc?.drain().catch(() => undefined);
    await connection?.close();
    await kernel?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    nats = await startPrivateNats({ dir });
    const natsUrl = nats.url;
    const env = { ...process.env, KERNOS_NATS_URL: natsUrl, KERNOS_TASK_QUEUE: taskQueue };
    [kernel, worker] = await Promise.all([
      startKernel({ env, only: ['access', 'scheduler'], logDir: join(dir, 'logs') }),
      startFixtureWorker({ address: temporalAddress, namespace, taskQueue }),
    ]);
    nc = await connectNats({ url: natsUrl, name: 'cockpit-test' });
    connection = await Connection.connect({ address: temporalAddress });
    // The shared Temporal holds every engineer's runs; the cockpit under test shows only this harness's queue.
    const kernelClient = createKernelClient(nc, trace.getTracer('cockpit-test'));
    const operator = createOperator(new Client({ connection, namespace }), { taskQueue, onlyTaskQueue: taskQueue, kernel: kernelClient });
    cockpit = createCockpitService({
      operator,
      kernel: kernelClient,
      js: jetstream(nc),
      users,
      logger: createLogger('cockpit', () => undefined),
      port: 0,
      refreshMs: 500,
    });
    const { url } = await cockpit.start();
    return {
      url,
      natsUrl,
      operator,
      kernel: kernelClient,
      taskQueue,
      async startRun(name, input = {}) {
        const { runId } = await operator.startRun({
          workflowType: input.workflowType ?? 'operatorFixtureWorkflow',
          runId: `${name}-${Date.now().toString(36)}`,
          input: {
            tenant: 'cockpit-test',
            jobId: name,
            agentId: `agent-${name}`,
            goal: `fixture ${name}`,
            tools: input.tools ?? [],
            subject: name,
            dataCategory: 'internal',
            governance: { riskLevel: 'high', dataCategories: ['internal'], humanOversight: 'on_risk', approver: 'lead@example.com' },
            ...(input.maxTurns ? { maxTurns: input.maxTurns } : {}),
          },
        });
        started.push(runId);
        return runId;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, tries = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i += 1) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
