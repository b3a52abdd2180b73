import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopStack } from '@kernos/devstack';
import { portFree, privatePort } from '@kernos/testkit';
import { connectNats } from '@kernos/service-kit';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `kernos up` / `kernos down` as a person runs them, against a stack of its own: a private state dir and private
// ports (below Linux's ephemeral range 32768-60999, where an outgoing connection could take one), so the dev stack
// everyone shares on the default ports is never touched.
const bin = fileURLToPath(new URL('../bin/kernos.js', import.meta.url));
let stateDir: string;
let env: Record<string, string>;
let ports: { nats: number; monitor: number; temporal: number; neo4j: number };

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kernos(...args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'kernos-cli-stack-'));
  const taken = new Set<number>();
  ports = { nats: await privatePort(taken), monitor: await privatePort(taken), temporal: await privatePort(taken), neo4j: await privatePort(taken) };
  env = {
    KERNOS_STATE_DIR: stateDir,
    KERNOS_NATS_PORT: String(ports.nats),
    KERNOS_NATS_MONITOR_PORT: String(ports.monitor),
    KERNOS_TEMPORAL_PORT: String(ports.temporal),
    KERNOS_NEO4J_PORT: String(ports.neo4j),
    // An open server like the dev stack's, whatever per-role config the calling shell points at.
    KERNOS_NATS_CONFIG: '',
  };
});

afterAll(async () => {
  // Whatever the test got to: nothing of this stack may outlive it.
  if (stateDir) {
    await stopStack({ stateDir, env: { ...process.env, ...env } }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
});

describe('kernos up / down', () => {
  it('starts a whole stack on the given state dir and ports, reuses it, reports it, and stops it', async () => {
    const up = await kernos('up', '--json');
    expect(up.code, up.stderr).toBe(0);
    const started = JSON.parse(up.stdout) as { started: string[]; endpoints: { natsUrl: string; temporalAddress: string; neo4jUri: string }; env: Record<string, string> };
    expect([...started.started].sort()).toEqual(['nats', 'neo4j', 'temporal']);
    expect(started.endpoints.natsUrl).toBe(`nats://127.0.0.1:${ports.nats}`);
    expect(started.endpoints.temporalAddress).toBe(`127.0.0.1:${ports.temporal}`);
    expect(started.endpoints.neo4jUri).toBe(`bolt://127.0.0.1:${ports.neo4j}`);

    // The servers really answer there: a NATS client and a Temporal client connect.
    const nc = await connectNats({ url: started.endpoints.natsUrl, name: 'cli-stack-test' });
    expect(nc.info?.port).toBe(ports.nats);
    await nc.close();
    const temporal = await Connection.connect({ address: started.endpoints.temporalAddress });
    await temporal.workflowService.getSystemInfo({});
    await temporal.close();

    const status = await kernos('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    const servers = (JSON.parse(status.stdout) as { healthy: boolean; servers: { name: string; healthy: boolean; port: number }[] }).servers;
    expect(servers.map((s) => [s.name, s.port, s.healthy]).sort()).toEqual(
      [
        ['nats', ports.nats, true],
        ['neo4j', ports.neo4j, true],
        ['temporal', ports.temporal, true],
      ].sort(),
    );

    // A second `up` finds the stack healthy and starts nothing; readable output says so.
    const again = await kernos('up');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('(all reused)');

    const down = await kernos('down', '--json');
    expect(down.code, down.stderr).toBe(0);
    expect([...(JSON.parse(down.stdout) as { stopped: string[] }).stopped].sort()).toEqual(['nats', 'neo4j', 'temporal']);
    for (const port of [ports.nats, ports.temporal, ports.neo4j]) expect(await portFree(port), `port ${port} released`).toBe(true);

    const after = await kernos('status');
    expect(after.code).toBe(1);
    const downAgain = await kernos('down');
    expect(downAgain.code, downAgain.stderr).toBe(0);
    expect(downAgain.stdout).toContain('no stack was running');
  });
});
