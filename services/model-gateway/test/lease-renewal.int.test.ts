import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKernel, type Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient, type NatsConnection } from '@kernos/service-kit';
import { startPrivateNats, type PrivateNats } from '@kernos/testkit';
import { contracts } from '@kernos/wire';
import { trace } from '@opentelemetry/api';
import type { ApiKeyConfig } from '../src/config.js';

// A completion slower than its lease's TTL, on a kernel of its own (a private nats-server: its scheduler has a
// 600 ms TTL that must not answer anyone else's leases). Without renewal the scheduler would reclaim the slot
// mid-completion and could grant it to another caller while this one still runs on the endpoint.
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const ttlMs = 600;
const latencyMs = 2_000;
const key: ApiKeyConfig = {
  key: `kernos-test-slow-${tag}`,
  tenant: 'test',
  jobId: `gw-slow-${tag}`,
  endpoints: ['default'],
  priority: 0,
  maxOutputTokens: 64,
  governance: { riskLevel: 'limited', dataCategories: [], humanOversight: 'none', approver: '' },
};

let nats: PrivateNats;
let kernel: Kernel;
let nc: NatsConnection;
const stats = async () => (await createKernelClient(nc, trace.getTracer('test')).call(contracts.scheduler.stats, {})).endpoints.find((e) => e.endpoint === 'default')!;

beforeAll(async () => {
  nats = await startPrivateNats();
  kernel = await startKernel({
    only: ['emulator', 'access', 'scheduler', 'model-gateway'],
    logDir: join(tmpdir(), `kernos-model-gateway-renew-${tag}`),
    env: {
      ...process.env,
      KERNOS_NATS_URL: nats.url,
      KERNOS_MODEL_GATEWAY_KEYS: JSON.stringify([key]),
      KERNOS_LEASE_TTL_MS: String(ttlMs),
      KERNOS_EMULATOR_LATENCY_MS: String(latencyMs),
      KERNOS_EMULATOR_LATENCY_SIGMA: '0',
    },
  });
  nc = await connectNats({ url: nats.url, name: 'model-gateway-renew-test' });
}, 60_000);

afterAll(async () => {
  await nc?.drain();
  await kernel?.stop();
  await nats?.stop();
});

describe('a completion longer than its lease TTL', () => {
  it('keeps its lease while it runs, then releases it with the real usage', async () => {
    const before = await stats();
    const client = new OpenAI({ baseURL: kernel.modelGatewayUrl, apiKey: key.key, maxRetries: 0 });
    const pending = client.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'take your time' }] });

    // Well past two TTLs and still short of the answer: the lease is still held, and none has expired.
    await sleep(ttlMs * 2 + 300);
    const during = await stats();
    expect(during.active).toBe(1);
    expect(during.expiredTotal).toBe(before.expiredTotal);

    const completion = await pending;
    expect(completion.choices[0]?.message.content).toBe('Answer: take your time');
    const after = await stats();
    expect(after.active).toBe(0);
    expect(after.expiredTotal).toBe(before.expiredTotal);
    // Released, not expired: the release found the lease, so its tokens were counted.
    expect(after.tokensTotal - before.tokensTotal).toBe(BigInt(completion.usage!.total_tokens));

    // And renewal stops with the release: a TTL later nothing is left to expire.
    await sleep(ttlMs + 300);
    expect((await stats()).expiredTotal).toBe(before.expiredTotal);
  });
});
