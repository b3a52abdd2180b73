import { describe, expect, it } from 'vitest';
import { loadModelGatewayConfig, parseApiKeys } from './config.js';

const key = {
  key: 'kernos-key-0123456789',
  tenant: 'acme',
  jobId: 'support-bot',
  governance: { riskLevel: 'limited', dataCategories: ['tickets'], humanOversight: 'none', approver: 'lead@example.com' },
};

describe('model-gateway config', () => {
  it('fills defaults for a minimal key', () => {
    expect(parseApiKeys(JSON.stringify([key]))).toEqual([{ ...key, endpoints: ['default'], priority: 0, maxOutputTokens: 1024 }]);
  });

  it('names every bad field of every key at once', () => {
    const bad = [{ ...key, key: 'short', governance: { ...key.governance, riskLevel: 'extreme' } }, { ...key, endpoints: [] }];
    let message = '';
    try {
      parseApiKeys(JSON.stringify(bad));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('KERNOS_MODEL_GATEWAY_KEYS.0.key: expected at least 16 characters');
    expect(message).toContain('KERNOS_MODEL_GATEWAY_KEYS.0.governance.riskLevel: expected one of');
    expect(message).toContain('KERNOS_MODEL_GATEWAY_KEYS.1.endpoints: expected at least one endpoint');
  });

  it('rejects duplicate keys, unknown fields and text that is not JSON', () => {
    expect(() => parseApiKeys(JSON.stringify([key, key]))).toThrow(/KERNOS_MODEL_GATEWAY_KEYS.1.key: duplicate key/);
    expect(() => parseApiKeys(JSON.stringify([{ ...key, budget: 5 }]))).toThrow(/KERNOS_MODEL_GATEWAY_KEYS.0: Unrecognized key: "budget"/);
    expect(() => parseApiKeys('[{')).toThrow(/KERNOS_MODEL_GATEWAY_KEYS: not JSON/);
  });

  it('reads the environment, with no keys by default', () => {
    const config = loadModelGatewayConfig({ KERNOS_MODEL_GATEWAY_PORT: '0' });
    expect(config.keys).toEqual([]);
    expect(config.KERNOS_MODEL_GATEWAY_PORT).toBe(0);
    expect(() => loadModelGatewayConfig({ KERNOS_MODEL_GATEWAY_PORT: 'x' })).toThrow(/KERNOS_MODEL_GATEWAY_PORT/);
  });
});
