import { createConnection, createServer, type Socket } from 'node:net';
import { StackError } from './errors.js';

export const LOOPBACK = '127.0.0.1';

/** A port a server needs, and who to blame in the message when it is taken. */
export interface PortClaim {
  port: number;
  /** What listens there, e.g. `nats-server` or `nats-server monitor`. */
  owner: string;
  /** Variable that moves it. */
  envVar: string;
}

/**
 * Throws `port_in_use` when the port cannot be bound on loopback. Binding (not connecting) is the test
 * because it also catches a listener on 0.0.0.0 and anything that is not yet accepting.
 */
export async function assertPortFree(claim: PortClaim): Promise<void> {
  const free = await new Promise<boolean>((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolvePromise(false);
      else reject(error);
    });
    server.listen({ host: LOOPBACK, port: claim.port, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
  if (!free) {
    throw new StackError(
      'port_in_use',
      `kernos: port ${claim.port} (${claim.owner}) is already in use by another process; stop it or set ${claim.envVar}`,
    );
  }
}

/**
 * Connects, writes `hello` (if any) and resolves with the first `bytes` bytes (or first line when
 * `bytes` is 'line') the server sends. Rejects on refusal, close or timeout.
 */
export function exchange(port: number, options: { hello?: Buffer; until: number | 'line'; timeoutMs: number }): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    let received = Buffer.alloc(0);
    const socket: Socket = createConnection({ host: LOOPBACK, port });
    const finish = (error: Error | null, data?: Buffer) => {
      socket.destroy();
      if (error) reject(error);
      else resolvePromise(data!);
    };
    socket.setTimeout(options.timeoutMs, () => finish(new Error(`no answer on port ${port} within ${options.timeoutMs}ms`)));
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`port ${port} closed the connection`)));
    socket.once('connect', () => {
      if (options.hello) socket.write(options.hello);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (options.until === 'line') {
        const end = received.indexOf('\n');
        if (end >= 0) finish(null, received.subarray(0, end + 1));
      } else if (received.length >= options.until) {
        finish(null, received.subarray(0, options.until));
      }
    });
  });
}

/** True when a NATS server answers on `port` with an INFO line that has JetStream enabled. */
export async function natsInfoOk(port: number, timeoutMs = 2_000): Promise<boolean> {
  try {
    const line = (await exchange(port, { until: 'line', timeoutMs })).toString('utf8');
    if (!line.startsWith('INFO ')) return false;
    const info = JSON.parse(line.slice(5)) as { jetstream?: boolean };
    return info.jetstream === true;
  } catch {
    return false;
  }
}

// Bolt handshake: magic preamble, then four version proposals. 0x00080805 asks for any of 5.8 down to
// 5.0; 0x00000404 for 4.4. A Bolt server answers with the 4-byte version it picked (zero means none).
const BOLT_HANDSHAKE = Buffer.from([0x60, 0x60, 0xb0, 0x17, 0, 8, 8, 5, 0, 0, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0]);

/** True when a Bolt server on `port` agrees on a protocol version. */
export async function boltHandshakeOk(port: number, timeoutMs = 2_000): Promise<boolean> {
  try {
    const answer = await exchange(port, { hello: BOLT_HANDSHAKE, until: 4, timeoutMs });
    return answer.readUInt32BE(0) !== 0;
  } catch {
    return false;
  }
}

/** True when `GET url` answers 2xx within the timeout. */
export async function httpOk(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
