import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startProcess, type ManagedProcess } from '@kernos/launcher';

export interface PrivateNatsOptions {
  /**
   * Folder for the server's JetStream store (`<dir>/js`) and log (`<dir>/nats.log`); the caller keeps and removes
   * it (default: a fresh temporary folder that `stop()` removes).
   */
  dir?: string;
  /** Port on 127.0.0.1 (default: a free one). */
  port?: number;
  /**
   * A nats-server config file to start with (`-c`), e.g. the per-role users services/access's identity generator
   * writes; the address, port, JetStream and store flags above still win over it (default none: an open server).
   */
  configFile?: string;
}

export interface PrivateNats {
  /** `nats://127.0.0.1:<port>`, for KERNOS_NATS_URL and connectNats. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The server process, for tests that crash it (`kill()`). */
  readonly process: ManagedProcess;
  /** Stops the server (SIGTERM, then SIGKILL) and removes the folder if this helper made it. */
  stop(): Promise<void>;
}

/**
 * A nats-server with JetStream of a test's own, on loopback: for tests whose kernel must not share the dev stack's
 * NATS, where another engineer's services would answer (and trace, and audit) the same subjects. Uses the binary
 * scripts/setup.sh installed (KERNOS_NATS_SERVER_BIN, else nats-server on PATH or in ~/.cache/kernos/bin).
 */
export async function startPrivateNats(options: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'kernos-nats-'));
  const port = options.port ?? (await freePort());
  let server: ManagedProcess;
  try {
    server = await startProcess({
      name: 'nats-server',
      command: process.env.KERNOS_NATS_SERVER_BIN ?? 'nats-server',
      args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js'), ...(options.configFile ? ['-c', resolve(options.configFile)] : [])],
      env: { PATH: `${process.env.PATH}:/usr/sbin:${process.env.HOME}/.cache/kernos/bin` },
      cwd: dir,
      logFile: join(dir, 'nats.log'),
      readyWhen: /Server is ready/,
    });
  } catch (error) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    process: server,
    async stop() {
      await server.stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
