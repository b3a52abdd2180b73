import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface DelayProxyOptions {
  /** Where connections are forwarded. */
  target: { host: string; port: number };
  /** Delay added to every chunk, in each direction (default 50 ms). */
  delayMs?: number;
  /** Port to listen on, on 127.0.0.1 (default: a free one). */
  port?: number;
}

export interface DelayProxy {
  readonly port: number;
  /** Bytes forwarded in both directions so far. */
  bytesForwarded(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy that delays every chunk by a fixed time, keeping order: network latency between two local
 * processes, injected without root (no tc/netem) and without touching either process.
 */
export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const delayMs = options.delayMs ?? 50;
  const sockets = new Set<Socket>();
  let forwarded = 0;

  const pipeDelayed = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      // Each chunk leaves delayMs after it arrived; timers of equal delay fire in order, so the stream stays intact.
      setTimeout(() => {
        if (!to.destroyed) {
          forwarded += chunk.length;
          to.write(chunk);
        }
      }, delayMs);
    });
    from.on('end', () => setTimeout(() => to.end(), delayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), delayMs));
  };

  const server = createServer((client) => {
    const upstream = connect(options.target.port, options.target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
    }
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    bytesForwarded: () => forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
