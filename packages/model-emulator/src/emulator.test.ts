import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { cosineSimilarity } from './embeddings.js';
import { createEmulator, type Emulator, type EmulatorOptions } from './emulator.js';
import { encode } from './tokens.js';

const MODEL = 'kernos-emu-small';

let running: Emulator[] = [];

/** Starts an emulator on a free port with no latency or pacing unless a test asks for them. */
async function start(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; client: OpenAI; url: string }> {
  const emulator = createEmulator({ port: 0, latencyMs: 0, tokensPerSecond: 0, ...options });
  running.push(emulator);
  const { url } = await emulator.start();
  // No retries: the tests look at the exact status the emulator sent.
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: options.apiKey ?? 'unused', maxRetries: 0 });
  return { emulator, client, url };
}

afterEach(async () => {
  await Promise.all(running.map((e) => e.stop()));
  running = [];
});

const weatherTools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, days: { type: 'integer' }, unit: { type: 'string', enum: ['c', 'f'] } },
        required: ['city', 'days', 'unit'],
      },
    },
  },
  {
    type: 'function',
    function: { name: 'search_web', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
  },
];

describe('model emulator over HTTP with the openai client', () => {
  it('lists the configured models', async () => {
    const { client } = await start();
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['kernos-emu-small', 'kernos-emu-large']);
    await expect(client.models.retrieve('kernos-emu-large')).resolves.toMatchObject({ id: 'kernos-emu-large' });
  });

  it('answers a plain completion with real token usage', async () => {
    const { client } = await start();
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'What is the capital of France?' },
      ],
    });
    const choice = completion.choices[0]!;
    expect(choice.message.content).toBe('Answer: What is the capital of France?');
    expect(choice.finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(encode('Answer: What is the capital of France?').length);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(encode('What is the capital of France?').length);
    expect(completion.usage?.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('streams the same text and reports usage when asked', async () => {
    const { client } = await start();
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Stream me a reply about 世界 🎉 please' }];
    const plain = await client.chat.completions.create({ model: MODEL, messages });
    const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage).toEqual(plain.usage);
    expect(chunks).toBeGreaterThan(5); // token by token, not one blob
  });

  it('round-trips a tool call: call with schema-shaped arguments, then a final answer from the result', async () => {
    const { client } = await start();
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo?' }];
    const first = await client.chat.completions.create({ model: MODEL, messages, tools: weatherTools });
    const call = first.choices[0]!.message.tool_calls?.[0];
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Weather in Oslo?', days: 1, unit: 'c' });

    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21C' });
    const second = await client.chat.completions.create({ model: MODEL, messages, tools: weatherTools });
    expect(second.choices[0]!.finish_reason).toBe('stop');
    expect(second.choices[0]!.message.content).toBe('Answer: Sunny, 21C');
  });

  it('streams tool calls in the shape the client’s stream helper assembles', async () => {
    const { client } = await start({ tokensPerSecond: 5_000 });
    const runner = client.chat.completions.stream({ model: MODEL, messages: [{ role: 'user', content: 'Oslo' }], tools: weatherTools });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Oslo', days: 1, unit: 'c' });
  });

  it('calls the tool forced by tool_choice', async () => {
    const { client } = await start();
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'kernos scheduler' }],
      tools: weatherTools,
      tool_choice: { type: 'function', function: { name: 'search_web' } },
    });
    const call = completion.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function).toEqual({ name: 'search_web', arguments: '{"query":"kernos scheduler"}' });
  });

  it('truncates at max_tokens with finish_reason length', async () => {
    const { client } = await start();
    const completion = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'a fairly long question with many words in it' }],
      max_completion_tokens: 3,
    });
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(3);
    expect(completion.choices[0]!.message.content).toBe('Answer: a');
  });

  it('serves scripted responses in order, then falls back to the default', async () => {
    const { client, emulator } = await start();
    emulator.script({
      contains: 'plan',
      responses: [{ toolCalls: [{ name: 'search_web', arguments: { query: 'scripted' } }] }, { content: 'Scripted final answer.' }],
    });
    const ask = (content: string) => client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], tools: weatherTools });
    const first = await ask('make a plan');
    const call = first.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function).toEqual({ name: 'search_web', arguments: '{"query":"scripted"}' });
    expect((await ask('plan it')).choices[0]!.message.content).toBe('Scripted final answer.');
    const fallback = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'plan' }] });
    expect(fallback.choices[0]!.message.content).toBe('Answer: plan');
  });

  it('injects scripted errors that the client sees as APIError with the status', async () => {
    const { client, emulator } = await start();
    emulator.script({ user: 'flaky', responses: [{ error: { status: 503, message: 'emulated overload' } }] });
    const error = await client.chat.completions
      .create({ model: MODEL, user: 'flaky', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('emulated overload');
    // Only that user's request was affected, and only once.
    await expect(client.chat.completions.create({ model: MODEL, user: 'flaky', messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeDefined();
  });

  it('accepts scripts, stats and resets over HTTP', async () => {
    const { client, url } = await start();
    const posted = await fetch(`${url}/emulator/script`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'kernos-emu-large', times: 'forever', responses: [{ content: 'from http' }] }),
    });
    expect(posted.status).toBe(201);
    const ask = () => client.chat.completions.create({ model: 'kernos-emu-large', messages: [{ role: 'user', content: 'x' }] });
    expect((await ask()).choices[0]!.message.content).toBe('from http');
    expect((await ask()).choices[0]!.message.content).toBe('from http');

    const bad = await fetch(`${url}/emulator/script`, { method: 'POST', body: JSON.stringify({ responses: [{ content: 1 }] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toMatch(/^responses\[0\]/);

    expect((await fetch(`${url}/emulator/script`, { method: 'DELETE' })).status).toBe(200);
    expect((await ask()).choices[0]!.message.content).toBe('Answer: x');

    const stats = (await (await fetch(`${url}/emulator/stats`)).json()) as Record<string, number>;
    expect(stats).toMatchObject({ requestsTotal: 3, completed: 3, inFlight: 0, queued: 0, maxObservedConcurrency: 1, rateLimited: 0 });
    expect(stats.tokensIn).toBeGreaterThan(0);
    expect(stats.tokensOut).toBe(encode('from http').length * 2 + encode('Answer: x').length);
  });


  it('records the tools each chat request offered, newest last, over HTTP too', async () => {
    const { emulator, client, url } = await start();
    const tool = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object' } } });
    await client.chat.completions.create({ model: MODEL, user: 'agent-1', messages: [{ role: 'user', content: 'first' }], tools: [tool('echo'), tool('add')] });
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'second' }] });
    expect(emulator.requests()).toEqual([
      { model: MODEL, user: 'agent-1', lastUserText: 'first', tools: ['echo', 'add'] },
      { model: MODEL, user: undefined, lastUserText: 'second', tools: [] },
    ]);
    const served = (await (await fetch(`${url}/emulator/requests`)).json()) as { requests: Array<{ tools: string[] }> };
    expect(served.requests.map((r) => r.tools)).toEqual([['echo', 'add'], []]);
  });
  it('rejects bad bodies with 400 naming the field, n>1, and unknown models with 404', async () => {
    const { client } = await start();
    const fail = (body: Record<string, unknown>) =>
      client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).then(
        () => {
          throw new Error('expected the request to fail');
        },
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );

    const badRole = await fail({ model: MODEL, messages: [{ role: 'robot', content: 'x' }] });
    expect(badRole.status).toBe(400);
    expect(badRole.param).toBe('messages[0].role');
    expect(badRole.message).toContain("'messages[0].role'");

    const badMax = await fail({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: -5 });
    expect([badMax.status, badMax.param]).toEqual([400, 'max_tokens']);

    const twoChoices = await fail({ model: MODEL, messages: [{ role: 'user', content: 'x' }], n: 2 });
    expect([twoChoices.status, twoChoices.param]).toEqual([400, 'n']);

    const unknown = await fail({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] });
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.code).toBe('model_not_found');
  });

  it('requires the API key when one is configured', async () => {
    const { url } = await start({ apiKey: 'sk-emu' });
    const wrong = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const right = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-emu', maxRetries: 0 });
    await expect(right.models.list()).resolves.toBeDefined();
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
  });

  it('returns deterministic, normalised embeddings that honour dimensions and rank similar texts higher', async () => {
    const { client } = await start();
    const texts = ['The cat sat on the mat.', 'the cat sat on a mat', 'Quarterly revenue grew in the enterprise segment.'];
    // The client asks for base64 by default and decodes it; float must agree.
    const viaBase64 = await client.embeddings.create({ model: MODEL, input: texts });
    const viaFloat = await client.embeddings.create({ model: MODEL, input: texts, encoding_format: 'float' });
    const again = await client.embeddings.create({ model: MODEL, input: texts[0]!, encoding_format: 'float' });
    const [cat, cat2, revenue] = viaFloat.data.map((d) => d.embedding);

    expect(cat).toHaveLength(256);
    expect(again.data[0]!.embedding).toEqual(cat);
    expect(viaBase64.data.map((d) => d.embedding)).toEqual(viaFloat.data.map((d) => d.embedding));
    expect(Math.hypot(...cat!)).toBeCloseTo(1, 5);
    expect(cosineSimilarity(cat!, cat2!)).toBeGreaterThan(cosineSimilarity(cat!, revenue!));
    expect(cosineSimilarity(cat!, cat2!)).toBeGreaterThan(0.5);
    expect(viaFloat.usage.prompt_tokens).toBe(texts.reduce((n, t) => n + encode(t).length, 0));

    const small = await client.embeddings.create({ model: MODEL, input: 'hello', dimensions: 64, encoding_format: 'float' });
    expect(small.data[0]!.embedding).toHaveLength(64);
  });

  it('keeps at most maxConcurrent requests in service and queues the rest', async () => {
    const { client, emulator } = await start({ maxConcurrent: 2, latencyMs: 150, latencySigma: 0 });
    const requests = Array.from({ length: 6 }, (_, i) =>
      client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `request ${i}` }] }),
    );
    await expect.poll(() => emulator.stats().queued).toBe(4);
    expect(emulator.stats().inFlight).toBe(2);
    const results = await Promise.all(requests);
    expect(results.map((r) => r.choices[0]!.message.content)).toEqual(requests.map((_, i) => `Answer: request ${i}`));
    expect(emulator.stats()).toMatchObject({ maxObservedConcurrency: 2, inFlight: 0, queued: 0, requestsTotal: 6, completed: 6 });
  });

  it('answers 429 with retry-after when the queue is full', async () => {
    const { client, emulator } = await start({ maxConcurrent: 1, maxQueue: 1, latencyMs: 300, latencySigma: 0 });
    const ask = () =>
      client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
        .then(() => 'ok' as const, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const first = ask();
    await expect.poll(() => emulator.stats().inFlight).toBe(1);
    const second = ask();
    await expect.poll(() => emulator.stats().queued).toBe(1);
    const third = await ask();
    expect(third).toBeInstanceOf(OpenAI.RateLimitError);
    if (third === 'ok') throw new Error('expected a 429');
    expect(third.status).toBe(429);
    expect(Number(third.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await first).toBe('ok');
    expect(await second).toBe('ok');
    expect(emulator.stats().rateLimited).toBe(1);
  });

  it('paces output tokens at the shared tokens-per-second rate (behaviour check, loose bounds)', async () => {
    const tokensPerSecond = 1_000;
    const { client, emulator } = await start({ tokensPerSecond });
    const content = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');
    const perRequest = encode(content).length;
    emulator.script({ times: 2, responses: [{ content }] });
    const started = performance.now();
    const arrivals: number[][] = [];
    await Promise.all(
      [0, 1].map(async (i) => {
        arrivals[i] = [];
        const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'go' }], stream: true });
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals[i]!.push(performance.now() - started);
      }),
    );
    const elapsedMs = performance.now() - started;
    const idealMs = ((2 * perRequest) / tokensPerSecond) * 1000;
    expect(elapsedMs).toBeGreaterThan(idealMs * 0.7);
    expect(elapsedMs).toBeLessThan(idealMs * 4 + 500);
    // Chunks really arrive over time, and the two streams share the rate (both run until near the end).
    for (const times of arrivals) {
      expect(times.at(-1)! - times[0]!).toBeGreaterThan(idealMs * 0.5);
    }
    expect(emulator.stats().tokensOut).toBe(2 * perRequest);
  });

  it('speeds everything up with timeScale', async () => {
    const { client } = await start({ latencyMs: 2_000, latencySigma: 0, tokensPerSecond: 10, timeScale: 100 });
    const started = performance.now();
    await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'quick' }] });
    // Emulated: 2 s latency + ~4 tokens at 10 tok/s = ~2.4 s; at 100x that is ~24 ms of wall time.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('pads default replies to lengths drawn from outputTokens', async () => {
    const { client } = await start({ outputTokens: { median: 30, sigma: 0 } });
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.usage?.completion_tokens).toBe(30);
    expect(completion.choices[0]!.message.content).toMatch(/^Answer: hi /);
  });

  it('drops a queued request whose client went away', async () => {
    const { client, emulator } = await start({ maxConcurrent: 1, latencyMs: 100, latencySigma: 0 });
    const busy = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'first' }] });
    const controller = new AbortController();
    const queued = client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'second' }] }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await expect.poll(() => emulator.stats().queued).toBe(1);
    controller.abort();
    await queued;
    await expect.poll(() => emulator.stats().queued).toBe(0);
    await busy;
    expect(emulator.stats()).toMatchObject({ inFlight: 0, completed: 1 });
  });

  it('stops promptly with requests in flight', async () => {
    const { client, emulator } = await start({ latencyMs: 10_000, latencySigma: 0 });
    const pending = client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    await expect.poll(() => emulator.stats().inFlight).toBe(1);
    const started = performance.now();
    await emulator.stop();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('frees the slot when a streaming client disconnects', async () => {
    const { client, emulator } = await start({ maxConcurrent: 1, tokensPerSecond: 50 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'a long enough question to take a while to answer' }], stream: true },
      { signal: controller.signal },
    );
    const consumed = (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) controller.abort();
    })().catch(() => undefined);
    await consumed;
    await expect.poll(() => emulator.stats().inFlight, { timeout: 2_000 }).toBe(0);
    // The next request gets the slot straight away.
    await expect(client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'next' }] })).resolves.toBeDefined();
  });
});
