import { describe, expect, it } from 'vitest';
import { mulberry32 } from './prng.js';
import { defaultReply, shapeToTokens, synthesizeFromSchema } from './reply.js';
import type { ChatCompletionRequest } from './schemas.js';
import { textPieces } from './tokens.js';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        days: { type: 'integer', minimum: 3 },
        metric: { type: 'boolean' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        note: { type: 'string' },
      },
      required: ['city', 'days', 'metric', 'unit'],
    },
  },
};
const searchTool = { type: 'function' as const, function: { name: 'search', parameters: { type: 'object', properties: {} } } };

const request = (overrides: Partial<ChatCompletionRequest>): ChatCompletionRequest => ({
  model: 'm',
  messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  ...overrides,
});

describe('synthesizeFromSchema', () => {
  it('fills required properties by type and leaves optional ones out', () => {
    expect(synthesizeFromSchema(weatherTool.function.parameters, 'Oslo')).toEqual({
      city: 'Oslo',
      days: 3,
      metric: false,
      unit: 'celsius',
    });
  });

  it('handles nesting, arrays, nullable types and unions', () => {
    const schema = {
      type: 'object',
      required: ['a', 'b', 'c', 'd'],
      properties: {
        a: { type: 'object', required: ['x'], properties: { x: { type: 'number' } } },
        b: { type: 'array', minItems: 2, items: { type: 'string' } },
        c: { type: ['null', 'string'] },
        d: { anyOf: [{ type: 'null' }, { type: 'boolean' }] },
      },
    };
    expect(synthesizeFromSchema(schema, 't')).toEqual({ a: { x: 1 }, b: ['t', 't'], c: 't', d: false });
  });
});

describe('defaultReply', () => {
  it('calls the first offered tool when no tool result followed the last user message', () => {
    const reply = defaultReply(request({ tools: [weatherTool, searchTool] }));
    expect(reply).toEqual({
      kind: 'tool_calls',
      calls: [{ name: 'get_weather', arguments: { city: 'Weather in Oslo?', days: 3, metric: false, unit: 'celsius' } }],
    });
  });

  it('answers with the tool result once there is one', () => {
    const reply = defaultReply(
      request({
        tools: [weatherTool],
        messages: [
          { role: 'user', content: 'Weather in Oslo?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'Sunny, 21C' },
        ],
      }),
    );
    expect(reply).toEqual({ kind: 'text', content: 'Answer: Sunny, 21C' });
  });

  it('obeys a forced tool, required and none', () => {
    const forced = defaultReply(request({ tools: [weatherTool, searchTool], tool_choice: { type: 'function', function: { name: 'search' } } }));
    expect(forced).toMatchObject({ kind: 'tool_calls', calls: [{ name: 'search', arguments: {} }] });
    const none = defaultReply(request({ tools: [weatherTool], tool_choice: 'none' }));
    expect(none.kind).toBe('text');
  });

  it('quotes at most 200 characters of the user message', () => {
    const reply = defaultReply(request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(500) }] }] }));
    expect(reply).toEqual({ kind: 'text', content: `Answer: ${'x'.repeat(200)}` });
  });

  it('produces JSON that follows a json_schema response format', () => {
    const reply = defaultReply(
      request({
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'r', schema: { type: 'object', required: ['answer', 'confidence'], properties: { answer: { type: 'string' }, confidence: { type: 'number' } } } },
        },
      }),
    );
    expect(reply.kind === 'text' && JSON.parse(reply.content)).toEqual({ answer: 'Answer: Weather in Oslo?', confidence: 1 });
  });
});

describe('shapeToTokens', () => {
  it('pads or cuts a text to exactly the target number of tokens, deterministically', () => {
    const long = shapeToTokens('Answer: hi', 40, mulberry32(5), textPieces);
    expect(textPieces(long)).toHaveLength(40);
    expect(long.startsWith('Answer: hi ')).toBe(true);
    expect(shapeToTokens('Answer: hi', 40, mulberry32(5), textPieces)).toBe(long);
    expect(textPieces(shapeToTokens('Answer: a much longer reply than two tokens', 2, mulberry32(5), textPieces))).toHaveLength(2);
  });
});
