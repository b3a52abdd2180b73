import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator, type Emulator } from '@kernos/model-emulator';

// The emulator's HTTP bodies, as any client could send them: junk, arbitrary JSON, and valid requests with one
// field replaced by anything. The emulator answers 2xx or a 4xx OpenAI-style error that names the parameter;
// never a 5xx, never a dropped connection. One in-process emulator per test, on loopback.
const runs = { numRuns: 100, seed: 20_261_127 };
// Each run is an HTTP round trip; on a busy machine a hundred of them outlast vitest's 5 s default.
const timeout = 60_000;

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(): Promise<string> {
  emulator = createEmulator({ latencyMs: 0, latencySigma: 0, tokensPerSecond: 0, seed: 1 });
  return (await emulator.start()).url;
}

const anyJson = fc.jsonValue({ maxDepth: 3 });

/** A valid body with some of its fields replaced by arbitrary JSON (or removed), as text; or junk text. */
function bodies(valid: Record<string, unknown>, fields: readonly string[]): fc.Arbitrary<string> {
  const mutated = fc
    .record(Object.fromEntries(fields.map((field) => [field, fc.oneof(anyJson, fc.constant(undefined))])), { requiredKeys: [] })
    .map((overrides) => JSON.stringify({ ...valid, ...overrides }));
  return fc.oneof(mutated, anyJson.map((v) => JSON.stringify(v)), fc.string({ maxLength: 40 }), fc.constant(''));
}

async function expectAnswered(url: string, path: string, body: string): Promise<void> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  expect(response.status, `${path} ${body} -> ${response.status} ${text}`).toBeLessThan(500);
  if (response.status >= 400) {
    const { error } = JSON.parse(text) as { error: { message: string; type: string; param: string | null } };
    expect(error.message.length).toBeGreaterThan(0);
    expect(error.type).toBeTruthy();
    // A refused field is named, as OpenAI does: in `param` and in the message.
    if (error.param) expect(error.message).toContain(error.param);
  }
}

describe('model emulator HTTP bodies', { timeout }, () => {
  it('POST /v1/chat/completions', async () => {
    const url = await start();
    const valid = { model: 'kernos-emu-small', messages: [{ role: 'user', content: 'hello' }], max_tokens: 8 };
    const fields = ['model', 'messages', 'stream', 'tools', 'tool_choice', 'max_tokens', 'n', 'response_format', 'temperature', 'top_p', 'user', 'stream_options'];
    await fc.assert(fc.asyncProperty(bodies(valid, fields), (body) => expectAnswered(url, '/v1/chat/completions', body)), runs);
    // Still answering after all that.
    await expectAnswered(url, '/v1/chat/completions', JSON.stringify(valid));
  });

  it('POST /v1/chat/completions with damaged messages and tools', async () => {
    const url = await start();
    const message = fc.record(
      { role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer', 'function', 'robot'), anyJson), content: anyJson, tool_call_id: anyJson, tool_calls: anyJson, name: anyJson },
      { requiredKeys: ['role'] },
    );
    const tool = fc.record({ type: fc.oneof(fc.constant('function'), anyJson), function: fc.oneof(fc.record({ name: anyJson, parameters: anyJson }, { requiredKeys: [] }), anyJson) }, { requiredKeys: [] });
    const body = fc
      .record({ messages: fc.array(message, { maxLength: 3 }), tools: fc.option(fc.array(tool, { maxLength: 2 }), { nil: undefined }), tool_choice: fc.option(anyJson, { nil: undefined }) })
      .map((parts) => JSON.stringify({ model: 'kernos-emu-small', max_tokens: 8, ...parts }));
    await fc.assert(fc.asyncProperty(body, (text) => expectAnswered(url, '/v1/chat/completions', text)), runs);
  });

  it('POST /v1/embeddings', async () => {
    const url = await start();
    const valid = { model: 'kernos-emu-small', input: ['a', 'b'] };
    await fc.assert(fc.asyncProperty(bodies(valid, ['model', 'input', 'dimensions', 'encoding_format', 'user']), (body) => expectAnswered(url, '/v1/embeddings', body)), runs);
  });

  it('POST /emulator/script', async () => {
    const url = await start();
    const valid = { responses: [{ content: 'scripted' }], times: 1 };
    await fc.assert(fc.asyncProperty(bodies(valid, ['model', 'user', 'contains', 'responses', 'times', 'extra']), (body) => expectAnswered(url, '/emulator/script', body)), runs);
  });
});
