import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLauncherLib, findTool, launcherHash, launcherSourceDir, natsServerTool, javaTool } from './binaries.js';
import { startStack } from './stack.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'kernos-devstack-'));

describe('findTool', () => {
  it('reports a bad env override by its variable', () => {
    const cacheDir = tempDir();
    expect(() => findTool(natsServerTool, { cacheDir, env: { KERNOS_NATS_SERVER_BIN: '/nonexistent/nats-server', PATH: '/usr/bin' } })).toThrow(
      'kernos: nats-server not found at KERNOS_NATS_SERVER_BIN=/nonexistent/nats-server; fix the path or unset KERNOS_NATS_SERVER_BIN',
    );
  });

  it('says where it looked and to run setup when the binary is nowhere', () => {
    const home = tempDir();
    const cacheDir = join(home, '.cache', 'kernos');
    expect(() => findTool(natsServerTool, { cacheDir, env: { HOME: home, PATH: '' } })).toThrow(
      'kernos: nats-server not found on PATH or in ~/.cache/kernos/bin; run: bash scripts/setup.sh',
    );
  });

  it('mentions JAVA_HOME and how to install Java for java', () => {
    const cacheDir = tempDir();
    expect(() => findTool(javaTool, { cacheDir, env: { PATH: '' } })).toThrow(/^kernos: java not found on PATH, in JAVA_HOME or in .*; install Java 17\+/);
  });

  it('prefers the cache bin over PATH', () => {
    const cacheDir = tempDir();
    const pathDir = tempDir();
    for (const dir of [join(cacheDir, 'bin'), pathDir]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'nats-server'), '#!/bin/sh\n');
      chmodSync(join(dir, 'nats-server'), 0o755);
    }
    expect(findTool(natsServerTool, { cacheDir, env: { PATH: pathDir } })).toBe(join(cacheDir, 'bin', 'nats-server'));
  });
});

describe('neo4j launcher lookup', () => {
  it('hashes the sources exactly as scripts/setup.sh does', () => {
    const script = 'find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16';
    const fromShell = execFileSync('bash', ['-c', script], { cwd: launcherSourceDir, encoding: 'utf8' }).trim();
    expect(launcherHash()).toBe(fromShell);
  });

  it('asks for setup when the current sources are not built', () => {
    const cacheDir = tempDir();
    expect(() => findLauncherLib({ cacheDir, env: {} })).toThrow(
      /^kernos: Neo4j launcher is not built for the current tools\/neo4j-launcher sources \(no .*\/neo4j-launcher\/[0-9a-f]{16}\/lib\); run: bash scripts\/setup\.sh$/,
    );
  });
});

describe('startStack without binaries', () => {
  it('fails with missing_binary before spawning anything', async () => {
    const stateDir = tempDir();
    const home = tempDir();
    const attempt = startStack({ stateDir, cacheDir: join(home, '.cache', 'kernos'), env: { HOME: home, PATH: '' } });
    await expect(attempt).rejects.toMatchObject({
      code: 'missing_binary',
      message: 'kernos: nats-server not found on PATH or in ~/.cache/kernos/bin; run: bash scripts/setup.sh',
    });
  });
});
