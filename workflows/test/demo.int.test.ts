import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { neo4jDriver } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface DemoRun {
  agentId: string;
  kind: 'triage' | 'research';
  tenant: string;
  priority: number;
  runId: string;
  ok: boolean;
  status: string;
  subject: string;
  factId: string;
  decisions: number;
  escalation?: string;
  published?: string;
}

// The README's demo, run as a user runs it (against the stack the global setup started, which it reuses),
// then checked from the outside: every fact it reports is in Neo4j, read with neo4j-driver, asserted by the run
// and tenant that the demo says wrote it.
describe('the demo', () => {
  it('runs a fleet of triage and research agents of several tenants and priorities, and leaves their facts in Neo4j', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--agents', '4', '--json'], {
      cwd: root,
      env: { ...process.env, KERNOS_EMULATOR_LATENCY_MS: '20' },
      maxBuffer: 16 * 1024 * 1024,
      // Ended before the test's own timeout, so the demo's SIGTERM handler stops its kernel instead of orphaning it.
      timeout: 110_000,
    });
    for (const service of ['scheduler', 'tool-gateway', 'access', 'graph']) expect(stdout).toContain(service);
    expect(stdout).toContain('demo passed');

    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ok: boolean; runs: DemoRun[] };
    expect(summary.ok).toBe(true);
    const runs = summary.runs;
    expect(runs.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    // A fleet of the example agents, not one kind: both kinds, three tenants, three priorities.
    expect(runs.map((r) => r.kind).sort()).toEqual(['research', 'research', 'triage', 'triage']);
    expect(new Set(runs.map((r) => r.tenant))).toEqual(new Set(['acme', 'globex', 'initech']));
    expect(new Set(runs.map((r) => r.priority))).toEqual(new Set([10, 1, 5]));

    const byAgent = new Map(runs.map((r) => [r.agentId, r]));
    // The critical ticket was escalated only after the demo's approver decided; the routine one asked nobody.
    expect(byAgent.get('triage-1')).toMatchObject({ escalation: 'approved', decisions: 1 });
    expect(byAgent.get('helpdesk-1')).toMatchObject({ escalation: 'not_needed', decisions: 0 });
    expect(byAgent.get('research-1')).toMatchObject({ published: 'yes', decisions: 0 });
    // Approved by a person, still refused by services/access: its job was not granted the "health" category.
    expect(byAgent.get('compliance-1')).toMatchObject({ published: 'no', decisions: 1, factId: '' });

    const written = runs.filter((r) => r.factId);
    expect(written.map((r) => r.agentId).sort()).toEqual(['helpdesk-1', 'research-1', 'triage-1']);
    const driver = neo4jDriver();
    try {
      for (const run of written) {
        const { records } = await driver.executeQuery(
          'MATCH (e:Episode {id: $runId})-[:ASSERTED]->(f:Fact {id: $factId}) RETURN f.subject AS subject, e.tenant AS tenant, e.agent_id AS agentId',
          { runId: run.runId, factId: run.factId },
        );
        expect(records.map((r) => r.toObject())).toEqual([{ subject: run.subject, tenant: run.tenant, agentId: run.agentId }]);
      }
    } finally {
      await driver.close();
    }
  });
});
