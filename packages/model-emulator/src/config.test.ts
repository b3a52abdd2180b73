import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    expect(loadConfig({})).toMatchObject({
      host: '127.0.0.1',
      port: 8400,
      models: ['kernos-emu-small', 'kernos-emu-large'],
      maxConcurrent: 16,
      maxQueue: Infinity,
      timeScale: 1,
      embeddingDimensions: 256,
      apiKey: undefined,
      outputTokens: undefined,
    });
  });

  it('reads every variable, treating empty ones as unset', () => {
    const config = loadConfig({
      KERNOS_EMULATOR_PORT: '0',
      KERNOS_EMULATOR_HOST: '0.0.0.0',
      KERNOS_EMULATOR_SEED: '9',
      KERNOS_EMULATOR_MAX_CONCURRENT: '4',
      KERNOS_EMULATOR_MAX_QUEUE: '10',
      KERNOS_EMULATOR_TOKENS_PER_SECOND: '250',
      KERNOS_EMULATOR_LATENCY_MS: '300',
      KERNOS_EMULATOR_MODELS: ' a , b,,c ',
      KERNOS_EMULATOR_API_KEY: '',
      KERNOS_EMULATOR_OUTPUT_TOKENS_MEDIAN: '120',
      KERNOS_EMULATOR_TIME_SCALE: '10',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '0.0.0.0',
      seed: 9,
      maxConcurrent: 4,
      maxQueue: 10,
      tokensPerSecond: 250,
      latencyMs: 300,
      models: ['a', 'b', 'c'],
      apiKey: undefined,
      outputTokens: { median: 120, sigma: 0.8 },
      timeScale: 10,
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ KERNOS_EMULATOR_MAX_CONCURRENT: 'lots' })).toThrow(/KERNOS_EMULATOR_MAX_CONCURRENT/);
    expect(() => loadConfig({ KERNOS_EMULATOR_PORT: '70000' })).toThrow(/KERNOS_EMULATOR_PORT/);
    expect(() => loadConfig({ KERNOS_EMULATOR_MODELS: ' , ' })).toThrow(/KERNOS_EMULATOR_MODELS/);
  });
});
