import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { StackError } from './errors.js';
import { assertPortFree, LOOPBACK } from './net.js';

describe('assertPortFree', () => {
  let occupier: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((done) => (occupier ? occupier.close(() => done()) : done()));
    occupier = undefined;
  });

  async function occupyPort(): Promise<number> {
    occupier = createServer();
    await new Promise<void>((done) => occupier!.listen(0, LOOPBACK, done));
    return (occupier.address() as { port: number }).port;
  }

  it('names the port, the server and the variable in one line when the port is taken', async () => {
    const port = await occupyPort();
    const error = await assertPortFree({ port, owner: 'nats-server', envVar: 'KERNOS_NATS_PORT' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect(error).toMatchObject({ code: 'port_in_use', retryable: false });
    expect((error as Error).message).toBe(
      `kernos: port ${port} (nats-server) is already in use by another process; stop it or set KERNOS_NATS_PORT`,
    );
  });

  it('passes for a free port and leaves it free', async () => {
    const port = await occupyPort();
    await new Promise<void>((done) => occupier!.close(() => done()));
    occupier = undefined;
    await assertPortFree({ port, owner: 'neo4j', envVar: 'KERNOS_NEO4J_PORT' });
    await assertPortFree({ port, owner: 'neo4j', envVar: 'KERNOS_NEO4J_PORT' });
  });
});
