import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '@kernos/audit';
import { startKernel, type Kernel } from '@kernos/launcher';
import { connectNats, createKernelClient, type NatsConnection } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import { trace } from '@opentelemetry/api';
import type { ApiKeyConfig } from '../src/config.js';

// An unchanged `openai` client against the kernel's endpoint, on the real stack: the gateway, access, scheduler and
// the model emulator each in their own process (the gateway started by the launcher from its main.ts).
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
// See workflows/test/sdk.int.test.ts: concurrent kernels on one NATS share the scheduler's subjects.
const natsUrl = process.env.KERNOS_SDK_IT_NATS_URL ?? process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222';
const governance = { riskLevel: 'limited' as const, dataCategories: [], humanOversight: 'none' as const, approver: '' };
const keys: ApiKeyConfig[] = [
  { key: `kernos-test-good-${tag}`, tenant: 'test', jobId: `gw-${tag}`, endpoints: ['default'], priority: 0, maxOutputTokens: 256, governance },
  { key: `kernos-test-banned-${tag}`, tenant: 'test', jobId: `gw-banned-${tag}`, endpoints: ['default'], priority: 0, maxOutputTokens: 256, governance: { ...governance, riskLevel: 'unacceptable' } },
  { key: `kernos-test-budget-${tag}`, tenant: 'test', jobId: `gw-budget-${tag}`, endpoints: ['default'], priority: 0, maxOutputTokens: 256, tokenBudget: 30, governance },
];

let kernel: Kernel;
let nc: NatsConnection;
const client = (key = keys[0]!.key) => new OpenAI({ baseURL: kernel.modelGatewayUrl, apiKey: key, maxRetries: 0 });
const stats = async () => (await createKernelClient(nc, trace.getTracer('test')).call(contracts.scheduler.stats, {})).endpoints.find((e) => e.endpoint === 'default')!;

beforeAll(async () => {
  kernel = await startKernel({
    only: ['emulator', 'access', 'scheduler', 'model-gateway'],
    logDir: join(tmpdir(), `kernos-model-gateway-${tag}`),
    env: { ...process.env, KERNOS_NATS_URL: natsUrl, KERNOS_MODEL_GATEWAY_KEYS: JSON.stringify(keys), KERNOS_EMULATOR_LATENCY_MS: '1', KERNOS_EMULATOR_LATENCY_SIGMA: '0' },
  });
  nc = await connectNats({ url: natsUrl, name: 'model-gateway-int-test' });
});

afterAll(async () => {
  await nc?.drain();
  await kernel?.stop();
});

const weatherTool: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('the OpenAI-compatible kernel endpoint', () => {
  it('lists the endpoints the key’s job may use as models', async () => {
    const models = await client().models.list();
    expect(models.data.map((m) => m.id)).toEqual(['default']);
  });

  it('schedules a completion through the scheduler and releases the lease with the real usage', async () => {
    const before = await stats();
    const completion = await client().chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Hello from an unchanged client' }] });
    expect(completion.choices[0]?.message.content).toBe('Answer: Hello from an unchanged client');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    const after = await stats();
    expect(after.grantedTotal - before.grantedTotal).toBe(1n);
    expect(after.tokensTotal - before.tokensTotal).toBe(BigInt(completion.usage!.total_tokens));
    expect(after.active).toBe(0);
  });

  it('streams tool calls, then the answer to the tool result with usage when asked', async () => {
    const stream = await client().chat.completions.create({
      model: 'default',
      messages: [{ role: 'user', content: 'Oslo' }],
      tools: [weatherTool],
      stream: true,
    });
    let name = '';
    let args = '';
    let finish = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      // Without stream_options.include_usage the client gets no usage-only chunk, exactly as from OpenAI.
      expect(chunk.choices.length).toBe(1);
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks).toBeGreaterThan(1);
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Oslo' });
    expect(finish).toBe('tool_calls');

    const answer = await client().chat.completions.create({
      model: 'default',
      messages: [
        { role: 'user', content: 'Oslo' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 C' },
      ],
      tools: [weatherTool],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of answer) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe('Answer: Sunny, 21 C');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    // The lease was given back before the stream ended, so the client never races its own slot.
    expect((await stats()).active).toBe(0);
  });

  it('refuses what a native agent would be refused, in OpenAI’s error shapes', async () => {
    await expect(client('not-a-kernos-key-at-all').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(client().chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client().chat.completions.create({ model: 'default', messages: [] })).rejects.toMatchObject({ status: 400, param: 'messages' });
    // services/access denies every action of an "unacceptable" job, model.use included.
    await expect(client(keys[1]!.key).chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({ status: 403, code: 'denied' });
  });

  it('stops a job at its token budget', async () => {
    const budgeted = client(keys[2]!.key);
    await budgeted.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Spend more than thirty tokens on this question, please, with a long answer.' }] });
    await expect(budgeted.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'again' }] })).rejects.toMatchObject({ status: 429, code: 'budget_exhausted' });
  });

  it('audits every request under the key’s job, with its governance', async () => {
    const records = await queryAudit(jetstream(nc), { tenant: 'test', jobId: `gw-${tag}` });
    const outcomes = records.map((r) => [r.record.service, r.record.action, r.record.outcome]);
    expect(outcomes.length).toBeGreaterThanOrEqual(3);
    // The access decision (written by services/access) and the turn (written by the gateway), as for a native agent.
    expect(new Set(outcomes.map((o) => o.join(' ')))).toEqual(new Set(['access model.use allow', 'model-gateway chat.completions ok']));
    expect(records.every((r) => r.record.governance?.riskLevel === 'limited')).toBe(true);
    const turns = records.filter((r) => r.record.service === 'model-gateway');
    expect(JSON.parse(turns[0]!.record.detailJson)).toMatchObject({ model: 'kernos-emu-small', stream: false, inputTokens: expect.any(Number) });
    const denied = await queryAudit(jetstream(nc), { tenant: 'test', jobId: `gw-banned-${tag}` });
    expect(denied.filter((r) => r.record.service === 'model-gateway').map((r) => r.record.outcome)).toEqual(['denied']);
  });
});
