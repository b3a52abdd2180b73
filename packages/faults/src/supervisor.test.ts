import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProcess, type ManagedProcess } from '@kernos/launcher';
import { afterEach, describe, expect, it } from 'vitest';
import { superviseProcesses, type Supervisor } from './supervisor.js';

// Real child processes (plain `node -e`), no servers: a process that dies is started again and its log kept.
const dir = mkdtempSync(join(tmpdir(), 'kernos-supervisor-'));
const logFile = join(dir, 'crashy.log');
let supervisor: Supervisor | undefined;
let current: ManagedProcess | undefined;

afterEach(async () => {
  supervisor?.stop();
  await current?.kill();
  rmSync(dir, { recursive: true, force: true });
});

const startCrashy = async (lifeMs: number) =>
  (current = await startProcess({
    name: 'crashy',
    command: process.execPath,
    args: ['-e', `console.log('crashy ready'); setTimeout(() => { console.error('boom'); process.exit(3); }, ${lifeMs});`],
    env: {},
    cwd: dir,
    logFile,
    readyWhen: /ready/,
  }));

describe('superviseProcesses', () => {
  it('restarts a process that exits, keeps its log, and reports the restart', async () => {
    const lives = [200, 60_000];
    await startCrashy(lives.shift()!);
    const events: string[] = [];
    supervisor = superviseProcesses([{ name: 'crashy', current: () => current, start: () => startCrashy(lives.shift() ?? 60_000), logFile }], { backoffMs: 10, onEvent: (e) => events.push(e) });
    const deadline = Date.now() + 10_000;
    while (supervisor.restarts[0]?.restartMs === undefined && Date.now() < deadline) await sleep(20);
    expect(supervisor.restarts).toMatchObject([{ name: 'crashy', exit: 3, restartMs: expect.any(Number) }]);
    expect(readFileSync(supervisor.restarts[0]!.savedLog!, 'utf8')).toContain('boom');
    expect(events.join('\n')).toMatch(/crashy exited \(3\)/);
  });

  it('does not restart what is stopped on purpose after stop()', async () => {
    await startCrashy(60_000);
    supervisor = superviseProcesses([{ name: 'crashy', current: () => current, start: () => startCrashy(60_000) }], { backoffMs: 10 });
    supervisor.stop();
    await current!.kill();
    await sleep(100);
    expect(supervisor.restarts).toEqual([]);
  });
});
