import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import neo4j, { type Driver } from 'neo4j-driver';
import { startStack, stackEnv, type RunningStack } from '@kernos/devstack';
import type { AgentInput, AgentResult } from '@kernos/workflows';

/**
 * Ports of a private stack: away from the shared dev stack's defaults, and below Linux's ephemeral range
 * (32768-60999), where any outgoing connection of the test run may already hold the port.
 */
export interface PrivatePorts {
  natsPort: number;
  natsMonitorPort: number;
  temporalPort: number;
  neo4jPort: number;
}

/** The fault tests' private stack (the load benchmark uses `benchPorts`, so both can run at once). */
export const faultPorts: PrivatePorts = { natsPort: 24222, natsMonitorPort: 28222, temporalPort: 27233, neo4jPort: 27687 };
export const benchPorts: PrivatePorts = { natsPort: 24322, natsMonitorPort: 28322, temporalPort: 27333, neo4jPort: 27787 };

export interface PrivateStack {
  stack: RunningStack;
  /** KERNOS_* endpoints of this stack, to hand to startKernel. */
  env: Record<string, string>;
  temporal: Client;
  neo4j: Driver;
  close(): Promise<void>;
}

/**
 * Starts NATS, Temporal and Neo4j of their own, in a fresh temporary state dir, so a test that stops NATS or
 * Neo4j (or a benchmark that loads them) never touches the shared stack other work runs on.
 */
export async function startPrivateStack(
  ports: PrivatePorts,
  label: string,
  /** Extra environment for the stack's binary lookup, e.g. `KERNOS_TEMPORAL_BIN` (default none). */
  stackExtraEnv: Record<string, string> = {},
): Promise<PrivateStack> {
  const stateDir = mkdtempSync(join(tmpdir(), `kernos-${label}-`));
  // Only these variables, so no KERNOS_*_PORT of the caller's shell points this stack at the shared one's ports.
  const stack = await startStack({ stateDir, ...ports, reuse: false, env: { HOME: process.env.HOME, PATH: process.env.PATH, KERNOS_CACHE: process.env.KERNOS_CACHE, ...stackExtraEnv } });
  const env = stackEnv(stack.endpoints) as Record<string, string>;
  const connection = await Connection.connect({ address: stack.endpoints.temporalAddress });
  const temporal = new Client({ connection, namespace: 'default' });
  const driver = neo4j.driver(stack.endpoints.neo4jUri);
  return {
    stack,
    env,
    temporal,
    neo4j: driver,
    async close() {
      await driver.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await stack.stop();
      // Neo4j's store alone is tens of MB; nothing in it is needed once the servers are gone.
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** One fleet member's input: a tool-using agent that ends by writing one fact about its own subject. */
export function fleetInput(tag: string, index: number): AgentInput {
  const id = `${tag}-${index}`;
  return {
    tenant: 'fleet',
    jobId: `job-${id}`,
    agentId: `agent-${id}`,
    goal: `Look into case ${id} and report back.`,
    tools: ['echo'],
    subject: `case-${id}`,
    dataCategory: 'internal',
    governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
  };
}

export interface FleetRun {
  workflowId: string;
  subject: string;
  handle: WorkflowHandle;
}

/**
 * Starts `count` agentWorkflow runs; the workflow id is `<tag>-<index>`, the fact's subject `case-<tag>-<index>`.
 * At most `parallel` start calls are in flight (default 50): a thousand at once time out on a busy Temporal dev
 * server. A start that timed out may have happened, so it is retried with the same id and "already started" counts.
 */
export async function startFleet(
  client: Client,
  taskQueue: string,
  tag: string,
  count: number,
  parallel = 50,
  /**
   * How long one workflow task may take in a worker before Temporal hands it out again (default: Temporal's 10 s).
   * A benchmark on a CPU-starved machine raises it so slow tasks finish rather than being redone.
   */
  workflowTaskTimeout?: string,
): Promise<FleetRun[]> {
  const runs: FleetRun[] = new Array<FleetRun>(count);
  let next = 0;
  const startOne = async (index: number): Promise<void> => {
    const input = fleetInput(tag, index);
    const workflowId = `${tag}-${index}`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const handle = await client.workflow.start('agentWorkflow', { taskQueue, workflowId, args: [input], ...(workflowTaskTimeout ? { workflowTaskTimeout } : {}) });
        runs[index] = { workflowId, subject: input.subject, handle };
        return;
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          runs[index] = { workflowId, subject: input.subject, handle: client.workflow.getHandle(workflowId) };
          return;
        }
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) await startOne(next++);
    }),
  );
  return runs;
}

export interface RunAudit {
  workflowId: string;
  /** The result, or the failure's message. */
  result?: AgentResult;
  error?: string;
  /** WorkflowExecutionCompleted events in the run's history (exactly-once completion means 1). */
  completions: number;
  /** Executions with this workflow id (a duplicate start or a continue-as-new would make it more than 1). */
  executions: number;
  /** Fact nodes about the run's subject, episodes with the run's id, and ASSERTED edges between them. */
  facts: number;
  episodes: number;
  asserted: number;
  /** Activity attempts beyond the first: the work the fault made Temporal redo. */
  retriedActivities: number;
}

/** Waits for every run and reads back what it left in Temporal and Neo4j, for "nothing lost, nothing twice". */
export async function auditFleet(client: Client, driver: Driver, runs: readonly FleetRun[]): Promise<RunAudit[]> {
  return Promise.all(
    runs.map(async (run): Promise<RunAudit> => {
      let result: AgentResult | undefined;
      let error: string | undefined;
      try {
        result = (await run.handle.result()) as AgentResult;
      } catch (thrown) {
        error = String((thrown as Error).cause ?? thrown);
      }
      const history = await run.handle.fetchHistory();
      const events = history.events ?? [];
      const completions = events.filter((e) => e.workflowExecutionCompletedEventAttributes).length;
      const retriedActivities = events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
      let executions = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${run.workflowId}'` })) executions += 1;
      const { records } = await driver.executeQuery(
        `OPTIONAL MATCH (f:Fact {subject: $subject}) WITH count(f) AS facts
         OPTIONAL MATCH (e:Episode {id: $runId}) WITH facts, count(e) AS episodes
         OPTIONAL MATCH (:Episode {id: $runId})-[a:ASSERTED]->(:Fact {subject: $subject})
         RETURN facts, episodes, count(a) AS asserted`,
        { subject: run.subject, runId: run.workflowId },
      );
      const row = records[0]!;
      return {
        workflowId: run.workflowId,
        result,
        error,
        completions,
        executions,
        facts: row.get('facts').toNumber(),
        episodes: row.get('episodes').toNumber(),
        asserted: row.get('asserted').toNumber(),
        retriedActivities,
      };
    }),
  );
}
