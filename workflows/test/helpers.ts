import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import neo4j, { type Driver } from 'neo4j-driver';
import type { AgentInput } from '../src/types.js';

/** Attaches to the Temporal dev server the integration global setup started (its own download fails offline). */
export async function temporalClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const env = await TestWorkflowEnvironment.createFromExistingServer({
    address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default',
  });
  return { client: env.client, close: () => env.teardown() };
}

/** A neo4j-driver session straight to the database, to check what the graph service wrote. */
export function neo4jDriver(): Driver {
  const password = process.env.KERNOS_NEO4J_PASSWORD;
  return neo4j.driver(
    process.env.KERNOS_NEO4J_URI ?? 'bolt://127.0.0.1:7687',
    password ? neo4j.auth.basic(process.env.KERNOS_NEO4J_USER ?? 'neo4j', password) : undefined,
  );
}

export function agentInput(tag: string, overrides: Partial<AgentInput> = {}): AgentInput {
  return {
    tenant: 'test',
    jobId: `job-${tag}`,
    agentId: `agent-${tag}`,
    goal: `Look into case ${tag} and report back.`,
    tools: ['echo'],
    subject: `case-${tag}`,
    dataCategory: 'internal',
    governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
    ...overrides,
  };
}

export function uniqueTag(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
