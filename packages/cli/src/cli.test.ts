import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

// Commands that need no server, run in-process; the integration test runs the real bin against real servers.
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  // Unreachable servers: these commands must work (or fail clearly) without any.
  const code = await runCli(argv, { env: { KERNOS_NATS_URL: 'nats://127.0.0.1:1', KERNOS_TEMPORAL_ADDRESS: '127.0.0.1:1' }, out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'kernos-cli-unit-'));
const good = join(dir, 'good.yaml');
writeFileSync(
  good,
  `apiVersion: kernos.dev/v1
kind: Job
metadata: { name: nightly, tenant: acme }
spec:
  goal: Summarise the day
  schedule: "0 2 * * *"
  data: { subject: day, writes: internal }
  governance: { riskLevel: limited, dataCategories: [internal], humanOversight: none, approver: lead@example.com }
`,
);

describe('kernos CLI without servers', () => {
  it('prints usage, and rejects unknown commands and options with exit code 2', async () => {
    expect((await cli('--help')).stdout).toContain('usage: kernos <command>');
    expect(await cli()).toMatchObject({ code: 2 });
    expect(await cli('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(await cli('ps', '--colour')).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--colour'") });
    const json = await cli('frobnicate', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'invalid_argument', message: 'unknown command "frobnicate"; run kernos --help' } });
  });

  it('validates job documents with apply and says they are not applied yet', async () => {
    const applied = await cli('apply', '-f', good, '--json');
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ applied: false, jobs: [{ name: 'nightly', tenant: 'acme', schedule: '0 2 * * *', valid: true, applied: false }] });
    expect((await cli('apply', '-f', good)).stdout).toContain('not applied: no jobs registry answered on kernos.scheduler.applyJob');

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apiVersion: kernos.dev/v1\nkind: Job\nmetadata: { name: Bad_Name }\nspec: { goal: x }\n');
    const rejected = await cli('apply', '-f', bad, '--json');
    expect(rejected.code).toBe(2);
    expect(JSON.parse(rejected.stdout).error.code).toBe('invalid_argument');
    expect(rejected.stderr).toContain(`${bad}: metadata.name: expected a DNS-style name`);
    expect(rejected.stderr).toContain(`${bad}: spec.governance:`);
    expect(await cli('apply', '-f', join(dir, 'missing.yaml'))).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot read') });
    expect(await cli('apply')).toMatchObject({ code: 2, stderr: expect.stringContaining('-f: give a job document') });
  });

  it('asks for what a command needs', async () => {
    expect(await cli('audit', 'verify')).toMatchObject({ code: 2, stderr: expect.stringContaining('give --run, --job or --tenant') });
    expect(await cli('pause')).toMatchObject({ code: 2, stderr: expect.stringContaining('pause: give the run id') });
    expect(await cli('ps', '--limit', 'many')).toMatchObject({ code: 2 });
  });

  it('says when Temporal is unreachable, with exit code 3', { timeout: 20_000 }, async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['ps'], { env: { KERNOS_TEMPORAL_ADDRESS: '127.0.0.1:1' }, out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(3);
    expect(err.join('\n')).toContain('cannot reach Temporal at 127.0.0.1:1 (is the stack up? kernos up)');
  });
});
