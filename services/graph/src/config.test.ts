import { describe, expect, it } from 'vitest';
import { loadGraphConfig } from './config.js';

describe('loadGraphConfig', () => {
  it('defaults to the local dev stack', () => {
    const config = loadGraphConfig({});
    expect(config.KERNOS_NEO4J_URI).toBe('bolt://127.0.0.1:7687');
    expect(config.KERNOS_NEO4J_DATABASE).toBe('neo4j');
    expect(config.KERNOS_NEO4J_PASSWORD).toBeUndefined();
    expect(config.KERNOS_NEO4J_TIMEOUT_MS).toBe(5_000);
  });

  it('names every bad variable', () => {
    expect(() => loadGraphConfig({ KERNOS_NEO4J_URI: 'not a uri', KERNOS_NEO4J_TIMEOUT_MS: '-1' })).toThrow(
      /KERNOS_NEO4J_URI.*KERNOS_NEO4J_TIMEOUT_MS/,
    );
  });
});
