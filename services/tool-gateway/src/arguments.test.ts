import { describe, expect, it, vi } from 'vitest';
import { KernosError } from '@kernos/errors';
import { argumentPath, createArgumentValidator, describeParameters, parseArgumentsJson } from './arguments.js';
import type { CatalogTool } from './catalog.js';

const tool = (inputSchema: Record<string, unknown>, name = 'echo'): CatalogTool => ({
  name,
  server: 's',
  toolName: name,
  description: '',
  inputSchema: inputSchema as CatalogTool['inputSchema'],
  annotations: undefined,
});

const echo = tool({
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { message: { type: 'string' }, times: { type: 'integer', minimum: 1 } },
  required: ['message'],
});

const rejection = (check: () => void): KernosError => {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(KernosError);
    expect((error as KernosError).code).toBe('invalid_argument');
    expect((error as KernosError).retryable).toBe(false);
    return error as KernosError;
  }
  throw new Error('expected the arguments to be rejected');
};

describe('parseArgumentsJson', () => {
  it('reads a JSON object, and an empty string as no arguments', () => {
    expect(parseArgumentsJson('{"message":"hi"}')).toEqual({ message: 'hi' });
    expect(parseArgumentsJson('')).toEqual({});
  });

  it('rejects bad JSON and non-objects, naming arguments_json', () => {
    expect(rejection(() => parseArgumentsJson('{message:')).message).toMatch(/^arguments_json is not valid JSON/);
    expect(rejection(() => parseArgumentsJson('[1]')).message).toBe('arguments_json must be a JSON object of named arguments, got an array');
    expect(rejection(() => parseArgumentsJson('null')).message).toMatch(/got null$/);
    expect(rejection(() => parseArgumentsJson('"hi"')).message).toMatch(/got a string$/);
  });
});

describe('createArgumentValidator', () => {
  const validator = createArgumentValidator();

  it('passes arguments that match', () => {
    expect(() => validator.check(echo, { message: 'hi', times: 2 })).not.toThrow();
  });

  it('names a missing required argument and says what the tool takes', () => {
    expect(rejection(() => validator.check(echo, {})).message).toBe(
      'invalid arguments for tool "echo": missing required argument "message". It takes: message (string, required), times (integer)',
    );
  });

  it('lists every bad argument with the rule it breaks', () => {
    const message = rejection(() => validator.check(echo, { message: 3, times: 0 })).message;
    expect(message).toContain('argument "message" must be of type string');
    expect(message).toContain('argument "times" must be >= 1');
  });

  it('names enum values, unknown arguments and nested paths', () => {
    const strict = tool({
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['fast', 'slow'] },
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
      },
    });
    const message = rejection(() => validator.check(strict, { mode: 'medium', items: [{ name: 'a' }, {}], colour: 'red' })).message;
    expect(message).toContain('argument "mode" must be one of "fast", "slow"');
    expect(message).toContain('missing required argument "items[1].name"');
    expect(message).toContain('unknown argument "colour"');
  });

  it('checks formats', () => {
    const fetchTool = tool({ type: 'object', properties: { url: { type: 'string', format: 'uri' } } });
    expect(rejection(() => validator.check(fetchTool, { url: 'not a uri' })).message).toContain('argument "url" must be a valid uri');
  });

  it('reads a schema without $schema as JSON Schema 2020-12', () => {
    const pair = tool({ type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] } } });
    expect(() => validator.check(pair, { pair: ['a', 1] })).not.toThrow();
    expect(rejection(() => validator.check(pair, { pair: ['a', 'b'] })).message).toContain('argument "pair[1]" must be of type number');
  });

  it('calls a tool unchecked, once reported, when its schema cannot be compiled', () => {
    const onUncompilableSchema = vi.fn();
    const lenient = createArgumentValidator({ onUncompilableSchema });
    const broken = tool({ type: 'object', properties: { x: { $ref: '#/definitions/missing' } } });
    expect(() => lenient.check(broken, { x: 1 })).not.toThrow();
    expect(() => lenient.check(broken, { x: 2 })).not.toThrow();
    expect(onUncompilableSchema).toHaveBeenCalledTimes(1);
  });
});

describe('argumentPath', () => {
  it('turns JSON pointers into the paths a model writes', () => {
    expect(argumentPath('')).toBe('');
    expect(argumentPath('/items/0/name')).toBe('items[0].name');
    expect(argumentPath('/a~1b/c~0d')).toBe('a/b.c~d');
  });
});

describe('describeParameters', () => {
  it('summarises the top-level parameters', () => {
    expect(describeParameters({ type: 'object', properties: {} })).toBe('no arguments');
    expect(describeParameters({ type: 'object', properties: { a: { type: ['string', 'null'] }, b: { enum: [1] } }, required: ['b'] })).toBe('a (string or null), b (enum, required)');
    expect(describeParameters({ type: 'object' })).toBe('');
  });
});
