import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { neo4jDriver } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

// The README's demo, run as a user runs it (against the stack the global setup started, which it reuses),
// then checked from the outside: every fact it reports is in Neo4j, read with neo4j-driver.
describe('the demo', () => {
  it('runs a fleet through all four services and leaves its facts in Neo4j', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--agents', '3', '--json'], {
      cwd: root,
      env: { ...process.env, KERNOS_EMULATOR_LATENCY_MS: '20' },
      maxBuffer: 16 * 1024 * 1024,
    });
    for (const service of ['scheduler', 'tool-gateway', 'access', 'graph']) expect(stdout).toContain(service);
    expect(stdout).toContain('demo passed');

    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { ok: boolean; runs: Array<{ runId: string; factId: string; subject: string }> };
    expect(summary.ok).toBe(true);
    const written = summary.runs.filter((r) => r.factId);
    expect(written.length).toBe(2); // the compliance agent's write is denied by design

    const driver = neo4jDriver();
    try {
      for (const run of written) {
        const { records } = await driver.executeQuery('MATCH (:Episode {id: $runId})-[:ASSERTED]->(f:Fact {id: $factId}) RETURN f.subject AS subject', run);
        expect(records.map((r) => r.get('subject'))).toEqual([run.subject]);
      }
    } finally {
      await driver.close();
    }
  });
});
