import { createConnection } from 'node:net';
import { Connection } from '@temporalio/client';
import { stackEndpoints } from '@kernos/testkit';
import neo4j from 'neo4j-driver';
import { afterAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack } from '@kernos/devstack';

/** Reads the INFO line a NATS server greets every client with. */
function natsInfo(url: string): Promise<{ jetstream?: boolean; version: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let text = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no INFO within 5s')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      text += chunk.toString();
      const end = text.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      resolve(JSON.parse(text.slice('INFO '.length, end)));
    });
  });
}

describe('dev stack', () => {
  const endpoints = stackEndpoints();

  it('exports the endpoints to the environment', () => {
    expect(process.env.KERNOS_NATS_URL).toBe(endpoints.natsUrl);
    expect(process.env.KERNOS_NEO4J_URI).toBe(endpoints.neo4jUri);
  });

  it('runs NATS with JetStream', async () => {
    expect(await natsInfo(endpoints.natsUrl)).toMatchObject({ jetstream: true });
  });

  it('runs Temporal with the default namespace', async () => {
    const connection = await Connection.connect({ address: endpoints.temporalAddress });
    try {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: endpoints.temporalNamespace });
      expect(namespaceInfo?.name).toBe('default');
    } finally {
      await connection.close();
    }
  });

  it('runs Neo4j 5.26 behind Bolt', async () => {
    const driver = neo4j.driver(endpoints.neo4jUri, neo4j.auth.basic(endpoints.neo4jUser, endpoints.neo4jPassword));
    try {
      const { records, summary } = await driver.executeQuery('RETURN 1 + 1 AS two');
      expect(records[0]?.get('two').toNumber()).toBe(2);
      expect(summary.server.agent).toMatch(/^Neo4j\/5\.26\./);
    } finally {
      await driver.close();
    }
  });

  describe('fault control', () => {
    // A second handle on the same stack (same env, same state dir) is how fault tests stop and restart servers.
    let stack: RunningStack;
    afterAll(() => stack?.release());

    it('stops and restarts NATS on the same port', async () => {
      stack = await startStack();
      expect(stack.endpoints).toEqual(endpoints);
      await stack.stopServer('nats');
      await expect(natsInfo(endpoints.natsUrl)).rejects.toThrow(/ECONNREFUSED/);
      await stack.startServer('nats');
      expect(await natsInfo(endpoints.natsUrl)).toMatchObject({ jetstream: true });
    });
  });
});
