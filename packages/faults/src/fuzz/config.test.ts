import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { KernosError } from '@kernos/errors';
import { loadGraphConfig } from '@kernos/graph';
import { loadConfig as loadEmulatorConfig } from '@kernos/model-emulator';
import { loadSchedulerConfig } from '@kernos/scheduler';
import { natsConfigShape, parseConfig } from '@kernos/service-kit';
import { loadToolGatewayConfig } from '@kernos/tool-gateway';

// Every config parser over random environments: a process either starts with a config, or refuses with one
// KernosError that names the variable at fault. Seeded and bounded.
const runs = { numRuns: 300, seed: 20_261_127 };

/** What a person (or a broken templating step) might put in a variable. */
const anyValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom('', ' ', '0', '-1', '65536', '1e99', 'NaN', 'true', 'null', '[]', '{}', 'nats://127.0.0.1:4222', 'http://127.0.0.1:1/v1', 'bolt://x:1', 'not a url'),
  fc.json({ maxDepth: 2 }),
);

function envArbitrary(keys: readonly string[], special: Record<string, fc.Arbitrary<string>> = {}): fc.Arbitrary<Record<string, string>> {
  const parts = Object.fromEntries(keys.map((key) => [key, special[key] ?? anyValue]));
  return fc.record(parts, { requiredKeys: [] }) as fc.Arbitrary<Record<string, string>>;
}

/** Either a config, or a KernosError(invalid_argument) whose message names one of the variables that were set. */
function expectConfigOrNamedError(load: () => unknown, env: Record<string, string>, owner: string | RegExp, errorClass: new (...args: never[]) => Error = KernosError): void {
  let thrown: unknown;
  try {
    load();
    return;
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(errorClass);
  const message = (thrown as Error).message;
  if (thrown instanceof KernosError) expect(thrown.code).toBe('invalid_argument');
  expect(message).toMatch(owner);
  const named = Object.keys(env).filter((key) => message.includes(key));
  expect(named.length, `"${message}" names none of ${Object.keys(env).join(', ')}`).toBeGreaterThan(0);
}

const shared = Object.keys(natsConfigShape);
const otel = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];

/** JSON lists that look like KERNOS_ENDPOINTS / KERNOS_TOOL_SERVERS, with fields missing, mistyped or unknown. */
const jsonListOf = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> =>
  fc.oneof(
    fc.array(fc.record(fields, { requiredKeys: [] }), { maxLength: 3 }).map((list) => JSON.stringify(list)),
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 20 }),
  );
const anyJsonValue = fc.jsonValue({ maxDepth: 1 });

const endpointsJson = jsonListOf({
  name: fc.oneof(fc.constantFrom('default', 'a', ''), anyJsonValue),
  baseUrl: fc.oneof(fc.constantFrom('http://127.0.0.1:8400/v1', 'ftp://x', 'nope'), anyJsonValue),
  model: fc.oneof(fc.constant('m'), anyJsonValue),
  maxConcurrent: fc.oneof(fc.integer({ min: -2, max: 64 }), anyJsonValue),
  tokensPerMinute: fc.oneof(fc.integer({ min: -2, max: 100_000 }), anyJsonValue),
  policy: fc.oneof(fc.constantFrom('priority', 'fifo', 'composite', 'lottery'), anyJsonValue),
  extra: anyJsonValue,
});

const toolServersJson = jsonListOf({
  name: fc.oneof(fc.constantFrom('fs', 'a.b', 'everything', ''), anyJsonValue),
  transport: fc.oneof(fc.constantFrom('stdio', 'http', 'sse'), anyJsonValue),
  command: fc.oneof(fc.constantFrom('node', ''), anyJsonValue),
  args: fc.oneof(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }), anyJsonValue),
  env: fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }), anyJsonValue),
  url: fc.oneof(fc.constantFrom('http://127.0.0.1:3001/mcp', 'file:///etc/passwd', 'x'), anyJsonValue),
});

describe('config parsers refuse bad environments with an error naming the variable', () => {
  it('the settings every process shares (worker, access and every service)', () => {
    const schema = z.object(natsConfigShape);
    fc.assert(
      fc.property(envArbitrary(shared), (env) => expectConfigOrNamedError(() => parseConfig(schema, env, 'worker'), env, /^invalid worker configuration: /)),
      runs,
    );
  });

  it('scheduler, including the JSON in KERNOS_ENDPOINTS', () => {
    const keys = [...shared, ...otel, 'KERNOS_OPENAI_BASE_URL', 'KERNOS_ENDPOINTS', 'KERNOS_LEASE_TTL_MS'];
    fc.assert(
      fc.property(envArbitrary(keys, { KERNOS_ENDPOINTS: endpointsJson }), (env) =>
        expectConfigOrNamedError(() => loadSchedulerConfig(env), env, /^invalid scheduler configuration: /),
      ),
      runs,
    );
  });

  it('tool-gateway, including the JSON in KERNOS_TOOL_SERVERS', () => {
    const keys = [...shared, ...otel, 'KERNOS_TOOL_SERVERS', 'KERNOS_TOOL_TIMEOUT_MS'];
    fc.assert(
      fc.property(envArbitrary(keys, { KERNOS_TOOL_SERVERS: toolServersJson }), (env) =>
        expectConfigOrNamedError(() => loadToolGatewayConfig(env, { nodeExecutable: 'node' }), env, /^invalid tool-gateway configuration: /),
      ),
      runs,
    );
  });

  it('KERNOS_TOOL_SERVERS alone: every refusal says what is wrong where', () => {
    let refused = 0;
    fc.assert(
      fc.property(toolServersJson, (text) => {
        try {
          loadToolGatewayConfig({ KERNOS_TOOL_SERVERS: text }, { nodeExecutable: 'node' });
        } catch (error) {
          refused += 1;
          expect(error).toBeInstanceOf(KernosError);
          // e.g. "KERNOS_TOOL_SERVERS.0.name: use letters, digits..." or "KERNOS_TOOL_SERVERS: not valid JSON: ..."
          expect((error as Error).message).toMatch(/KERNOS_TOOL_SERVERS(\.\d+(\.\w+)*)?: \S/);
        }
      }),
      runs,
    );
    expect(refused).toBeGreaterThan(0);
  });

  it('graph', () => {
    const keys = [...shared, ...otel, 'KERNOS_NEO4J_URI', 'KERNOS_NEO4J_USER', 'KERNOS_NEO4J_PASSWORD', 'KERNOS_NEO4J_DATABASE', 'KERNOS_NEO4J_TIMEOUT_MS', 'KERNOS_OPENAI_BASE_URL', 'KERNOS_GRAPH_SYNC_WAIT_MS', 'KERNOS_GRAPH_OUTBOX_STREAM'];
    fc.assert(
      fc.property(envArbitrary(keys), (env) => expectConfigOrNamedError(() => loadGraphConfig(env), env, /^invalid graph configuration: /)),
      runs,
    );
  });

  it('model emulator (a plain Error: the emulator depends on nothing of the kernel)', () => {
    const keys = [
      'KERNOS_EMULATOR_HOST', 'KERNOS_EMULATOR_PORT', 'KERNOS_EMULATOR_SEED', 'KERNOS_EMULATOR_MODELS', 'KERNOS_EMULATOR_MAX_CONCURRENT',
      'KERNOS_EMULATOR_MAX_QUEUE', 'KERNOS_EMULATOR_TOKENS_PER_SECOND', 'KERNOS_EMULATOR_LATENCY_MS', 'KERNOS_EMULATOR_LATENCY_SIGMA',
      'KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN', 'KERNOS_EMULATOR_TIME_SCALE', 'KERNOS_EMULATOR_RETRY_AFTER_MS',
    ];
    fc.assert(
      fc.property(envArbitrary(keys), (env) => expectConfigOrNamedError(() => loadEmulatorConfig(env), env, /^Invalid model emulator configuration: /, Error)),
      runs,
    );
  });
});
