import { describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import { loadSchedulerConfig } from './config.js';

const problemsOf = (env: Record<string, string | undefined>): string => {
  try {
    loadSchedulerConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(KernosError);
    expect((error as KernosError).code).toBe('invalid_argument');
    return (error as KernosError).message;
  }
  throw new Error('expected the configuration to be rejected');
};

describe('loadSchedulerConfig', () => {
  it('defaults to one endpoint on the emulator and a 60 s lease TTL', () => {
    const config = loadSchedulerConfig({});
    expect(config.KERNOS_LEASE_TTL_MS).toBe(60_000);
    expect(config.KERNOS_ENDPOINTS).toEqual([
      { name: 'default', baseUrl: 'http://127.0.0.1:8400/v1', model: 'kernos-emu-small', maxConcurrent: 4, policy: 'composite' },
    ]);
  });

  it('points the default endpoint at KERNOS_OPENAI_BASE_URL', () => {
    const config = loadSchedulerConfig({ KERNOS_OPENAI_BASE_URL: 'http://models.internal:9000/v1', KERNOS_LEASE_TTL_MS: '5000' });
    expect(config.KERNOS_ENDPOINTS[0]!.baseUrl).toBe('http://models.internal:9000/v1');
    expect(config.KERNOS_LEASE_TTL_MS).toBe(5_000);
  });

  it('parses an endpoint list', () => {
    const config = loadSchedulerConfig({
      KERNOS_ENDPOINTS: JSON.stringify([
        { name: 'small', baseUrl: 'http://a/v1', model: 'm1', maxConcurrent: 2 },
        { name: 'big', baseUrl: 'http://b/v1', model: 'm2', maxConcurrent: 1, tokensPerMinute: 90_000, policy: 'fifo' },
      ]),
    });
    expect(config.KERNOS_ENDPOINTS.map((e) => [e.name, e.maxConcurrent, e.policy, e.tokensPerMinute])).toEqual([
      ['small', 2, 'composite', undefined],
      ['big', 1, 'fifo', 90_000],
    ]);
  });

  it('names the bad field with its list position', () => {
    const message = problemsOf({ KERNOS_ENDPOINTS: '[{"name":"x","baseUrl":"http://a/v1","model":"m","maxConcurrent":0}]' });
    expect(message).toBe('invalid scheduler configuration: KERNOS_ENDPOINTS[0].maxConcurrent: expected a positive integer');
  });

  it('reads a per-endpoint lease TTL and names a bad one', () => {
    const config = loadSchedulerConfig({ KERNOS_ENDPOINTS: '[{"name":"slow","baseUrl":"http://a/v1","model":"m","maxConcurrent":1,"leaseTtlMs":300000}]' });
    expect(config.KERNOS_ENDPOINTS[0]).toMatchObject({ name: 'slow', leaseTtlMs: 300_000 });
    expect(problemsOf({ KERNOS_ENDPOINTS: '[{"name":"x","baseUrl":"http://a/v1","model":"m","maxConcurrent":1,"leaseTtlMs":-1}]' })).toBe(
      'invalid scheduler configuration: KERNOS_ENDPOINTS[0].leaseTtlMs: expected a positive integer',
    );
  });

  it('reports every problem at once', () => {
    const message = problemsOf({
      KERNOS_LEASE_TTL_MS: 'soon',
      KERNOS_ENDPOINTS: JSON.stringify([
        { name: 'a', baseUrl: 'not a url', model: 'm', maxConcurrent: 1 },
        { name: 'a', baseUrl: 'http://b/v1', maxConcurrent: 1.5, policy: 'lottery', maxconcurrent: 3 },
      ]),
    });
    expect(message).toContain('KERNOS_ENDPOINTS[0].baseUrl: expected an absolute URL');
    expect(message).toContain('KERNOS_ENDPOINTS[1].model: required');
    expect(message).toContain('KERNOS_ENDPOINTS[1].maxConcurrent: expected a positive integer');
    expect(message).toContain('KERNOS_ENDPOINTS[1].policy: expected one of: fifo, round-robin, batched-fifo, priority, edf, fair, las, composite');
    expect(message).toContain('KERNOS_ENDPOINTS[1]: Unrecognized key: "maxconcurrent"');
    expect(message).toContain('KERNOS_LEASE_TTL_MS:');
  });

  it('rejects duplicate names, empty lists and broken JSON', () => {
    const twice = JSON.stringify([
      { name: 'a', baseUrl: 'http://a/v1', model: 'm', maxConcurrent: 1 },
      { name: 'a', baseUrl: 'http://a/v1', model: 'm', maxConcurrent: 1 },
    ]);
    expect(problemsOf({ KERNOS_ENDPOINTS: twice })).toContain('KERNOS_ENDPOINTS[1].name: duplicate endpoint name "a"');
    expect(problemsOf({ KERNOS_ENDPOINTS: '[]' })).toContain('KERNOS_ENDPOINTS: expected at least one endpoint');
    expect(problemsOf({ KERNOS_ENDPOINTS: '{"name":"a"}' })).toContain('KERNOS_ENDPOINTS: expected a JSON list of endpoints');
    expect(problemsOf({ KERNOS_ENDPOINTS: '[{name:' })).toMatch(/KERNOS_ENDPOINTS: not valid JSON/);
  });

  it('reads policy options, rate limits and replication, naming bad fields', () => {
    const config = loadSchedulerConfig({
      KERNOS_ENDPOINTS: JSON.stringify([
        { name: 'a', baseUrl: 'http://a/v1', model: 'm', maxConcurrent: 2, tokensPerMinute: 1000, requestsPerMinute: 60, policy: 'las', policyOptions: { starvationMs: 5000 } },
      ]),
      KERNOS_SCHEDULER_STATE_BUCKET: 'kernos-scheduler',
    });
    expect(config.KERNOS_ENDPOINTS[0]).toMatchObject({ policy: 'las', requestsPerMinute: 60, policyOptions: { starvationMs: 5000 } });
    expect(config).toMatchObject({ KERNOS_SCHEDULER_STATE_BUCKET: 'kernos-scheduler', KERNOS_SCHEDULER_TERM_MS: 3000 });
    const message = problemsOf({
      KERNOS_ENDPOINTS: JSON.stringify([{ name: 'a', baseUrl: 'http://a/v1', model: 'm', maxConcurrent: 1, policyOptions: { agingMs: 5, urgencyMs: -1 } }]),
      KERNOS_SCHEDULER_STATE_BUCKET: 'no spaces',
    });
    expect(message).toContain('KERNOS_ENDPOINTS[0].policyOptions.urgencyMs: expected a positive number of ms');
    expect(message).toContain('KERNOS_ENDPOINTS[0].policyOptions: Unrecognized key: "agingMs"');
    expect(message).toContain('KERNOS_SCHEDULER_STATE_BUCKET: expected a bucket name of letters, digits, - and _');
  });
});
