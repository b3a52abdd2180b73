import { createServer } from 'node:net';

/** Whether nothing listens on 127.0.0.1:`port` right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port on 127.0.0.1 in 20000-32000, below Linux's ephemeral range (32768-60999), so no outgoing connection
 * can hold it when a test stops a server and starts it again on the same port. Random, so parallel runs rarely pick
 * the same one; `taken` keeps one caller's ports apart (each pick is added to it).
 */
export async function privatePort(taken: Set<number> = new Set()): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!taken.has(port) && (await portFree(port))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port in 20000-32000');
}
