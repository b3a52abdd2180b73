import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Driver } from 'neo4j-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack } from '@kernos/devstack';
import { freePort, type Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient, type KernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { createNeo4jDriver } from '../src/neo4j.js';
import { createGraphService } from '../src/service.js';
import { eventually, governanceFor, graphService, rejectionOf, startPeers, tracer } from './helpers.js';

// This test stops Neo4j, so it runs on a stack of its own (own state dir and ports): the shared stack that other
// tests and engineers use is never touched.
let stack: RunningStack;
let stateDir: string;
let peers: Kernel;
let nc: NatsConnection;
let client: KernelClient;
let driver: Driver;
let service: ReturnType<typeof createGraphService>;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'kernos-graph-outage-'));
  stack = await startStack({
    stateDir,
    natsPort: await freePort(),
    natsMonitorPort: await freePort(),
    temporalPort: await freePort(),
    neo4jPort: await freePort(),
    reuse: false,
  });
  const { natsUrl, neo4jUri } = stack.endpoints;
  peers = await startPeers({ ...process.env, KERNOS_NATS_URL: natsUrl });
  nc = await connectNats({ url: natsUrl, name: 'graph-outage-test' });
  client = createKernelClient(nc, tracer);
  // Short bounds, so attempts against the stopped database fail fast and are retried from the outbox.
  driver = createNeo4jDriver({ uri: neo4jUri, timeoutMs: 2_000 });
  service = graphService({ nc, driver, uri: neo4jUri, openaiBaseUrl: peers.openaiBaseUrl, syncWaitMs: 2_000 });
  await service.start();
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await driver?.close();
  await peers?.stop();
  await nc?.drain();
  await stack?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 120_000);

describe('the graph outbox through a Neo4j outage', () => {
  it('accepts writes while Neo4j is down and applies every one of them after it is back', async () => {
    const tag = randomUUID().slice(0, 8);
    const governance = governanceFor('public');
    const ref = { tenant: 'acme', jobId: `job-${tag}`, runId: `run-${tag}`, agentId: 'outage-agent' };
    const writeNumber = (i: number, sync = false) =>
      client.call(contracts.graph.writeFact, { ref, governance, dataCategory: 'public', subject: `sensor ${tag}`, predicate: 'reading', object: `value ${i}`, sync });
    const count = async () => {
      const { records } = await driver.executeQuery('MATCH (f:Fact) WHERE f.subject = $subject RETURN count(f) AS n', { subject: `sensor ${tag}` });
      return records[0]!.get('n').toNumber() as number;
    };

    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) ids.add((await writeNumber(i)).factId);
    expect(await eventually(async () => (await count()) === 20, 20_000)).toBe(true);

    await stack.stopServer('neo4j');
    // Mid-run: every write is still accepted, because it only has to reach the outbox.
    for (let i = 20; i < 50; i++) {
      const reply = await writeNumber(i);
      expect(reply).toMatchObject({ accepted: true, applied: false });
      ids.add(reply.factId);
    }
    // A sync write cannot be confirmed while Neo4j is down: unavailable (retryable), yet it is safely queued too.
    const sync = await rejectionOf(writeNumber(50, true));
    expect(sync).toMatchObject({ code: 'unavailable', retryable: true });
    expect(sync.message).toContain('safely in the graph outbox');

    await stack.startServer('neo4j');
    expect(await eventually(async () => (await count()) === 51, 90_000, 500), 'every accepted write lands after the restart').toBe(true);
    const { records } = await driver.executeQuery('MATCH (f:Fact) WHERE f.subject = $subject RETURN f.id AS id', { subject: `sensor ${tag}` });
    expect(new Set(records.map((r) => r.get('id') as string))).toEqual(new Set([...ids, (await writeNumber(50, true)).factId]));
  }, 240_000);
});
