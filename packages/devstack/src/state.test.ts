import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emptyState, liveLeases, readState, stateFile, withStateLock, writeState, type StackState } from './state.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'kernos-state-'));

/** A pid that surely belongs to no running process: a child that has already exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

const sample: StackState = {
  version: 1,
  servers: { nats: { pid: 123, port: 4222, monitorPort: 8222, log: '/tmp/nats.log', startedAt: '2026-01-01T00:00:00.000Z', detached: false } },
  leases: [],
};

describe('state file', () => {
  it('is null when absent and round-trips what was written', () => {
    const dir = tempDir();
    expect(readState(dir)).toBeNull();
    writeState(dir, sample);
    expect(readState(dir)).toEqual(sample);
    expect(existsSync(`${stateFile(dir)}.${process.pid}.tmp`)).toBe(false);
  });

  it('is removed once no server is left', () => {
    const dir = tempDir();
    writeState(dir, sample);
    writeState(dir, emptyState());
    expect(existsSync(stateFile(dir))).toBe(false);
  });

  it('rejects a file that is not a state file instead of ignoring the servers it may list', () => {
    const dir = tempDir();
    writeFileSync(stateFile(dir), '{"servers": ');
    expect(() => readState(dir)).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => readState(dir)).toThrow(/stack\.json is not a stack state file/);
  });

  it('drops leases of processes that have exited', () => {
    expect(liveLeases({ ...sample, leases: [process.pid, deadPid()] })).toEqual([process.pid]);
  });
});

describe('withStateLock', () => {
  it('runs holders one at a time', async () => {
    const dir = tempDir();
    const order: string[] = [];
    const hold = (name: string) =>
      withStateLock(dir, async () => {
        order.push(`${name}:in`);
        await new Promise((done) => setTimeout(done, 50));
        order.push(`${name}:out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(order).toEqual(['a:in', 'a:out', 'b:in', 'b:out']);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  });

  it('takes over a lock left by a dead process', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'stack.lock'), String(deadPid()));
    await expect(withStateLock(dir, async () => 'ran', 2_000)).resolves.toBe('ran');
  });

  it('takes over an empty lock left by a process killed between creating and writing it', async () => {
    const dir = tempDir();
    const lock = join(dir, 'stack.lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await expect(withStateLock(dir, async () => 'ran', 2_000)).resolves.toBe('ran');
  });

  it('gives up with a message naming the holder when the lock is held too long', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'stack.lock'), String(process.pid));
    await expect(withStateLock(dir, async () => 'ran', 300)).rejects.toThrow(`is held by pid ${process.pid}`);
    expect(readFileSync(join(dir, 'stack.lock'), 'utf8')).toBe(String(process.pid));
  });
});
