import { describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import type { EndpointConfig } from '../config.js';
import { createAdmission } from './admission.js';

const endpoint = (name: string, maxConcurrent = 1): EndpointConfig => ({
  name,
  baseUrl: `http://${name}.local/v1`,
  model: `${name}-model`,
  maxConcurrent,
  policy: 'priority',
});

describe('createAdmission', () => {
  it('grants with the endpoint base URL and model', async () => {
    const admission = createAdmission({ endpoints: [endpoint('small'), endpoint('big')], leaseTtlMs: 1_000 });
    const grant = await admission.acquire('big', { priority: 1 });
    expect(grant).toMatchObject({ endpoint: 'big', baseUrl: 'http://big.local/v1', model: 'big-model', priority: 1 });
    admission.close();
  });

  it("uses an endpoint's own lease TTL over the default, and renews a lease on whichever endpoint holds it", async () => {
    const admission = createAdmission({ endpoints: [endpoint('small'), { ...endpoint('slow'), leaseTtlMs: 300_000 }], leaseTtlMs: 1_000 });
    const small = await admission.acquire('small');
    const slow = await admission.acquire('slow');
    expect(small.expiresAt - small.grantedAt).toBe(1_000);
    expect(slow.expiresAt - slow.grantedAt).toBe(300_000);
    expect(admission.renew(slow.id)).toMatchObject({ id: slow.id, endpoint: 'slow' });
    expect(admission.renew('no-such-lease')).toBeUndefined();
    admission.close();
  });

  it('rejects an unknown endpoint with not_found naming it and the known ones', async () => {
    const admission = createAdmission({ endpoints: [endpoint('small'), endpoint('big')], leaseTtlMs: 1_000 });
    const error = await admission.acquire('huge').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernosError);
    expect(error).toMatchObject({ code: 'not_found', message: 'unknown endpoint "huge"; known endpoints: small, big' });
  });

  it('keeps endpoints independent and routes a release to the lease owner', async () => {
    const admission = createAdmission({ endpoints: [endpoint('a'), endpoint('b')], leaseTtlMs: 1_000 });
    const onA = await admission.acquire('a');
    const onB = await admission.acquire('b');
    expect(admission.stats().map((s) => [s.endpoint, s.active])).toEqual([['a', 1], ['b', 1]]);
    expect(admission.release(onB.id, { inputTokens: 3, outputTokens: 4 })).toEqual({ released: true, endpoint: 'b', late: false });
    expect(admission.release(onB.id)).toEqual({ released: false, endpoint: undefined, late: false });
    expect(admission.stats().map((s) => [s.endpoint, s.active, s.tokensTotal])).toEqual([['a', 1, 0], ['b', 0, 7]]);
    expect(admission.release(onA.id).released).toBe(true);
  });

  it('on close rejects waiters with a retryable unavailable', async () => {
    const admission = createAdmission({ endpoints: [endpoint('a')], leaseTtlMs: 1_000 });
    await admission.acquire('a');
    const waiting = admission.acquire('a').catch((e: unknown) => e);
    admission.close();
    expect(await waiting).toMatchObject({ code: 'unavailable', retryable: true });
  });

  it('refuses duplicate endpoint names', () => {
    expect(() => createAdmission({ endpoints: [endpoint('a'), endpoint('a')], leaseTtlMs: 1 })).toThrow(/duplicate endpoint name "a"/);
  });
});
