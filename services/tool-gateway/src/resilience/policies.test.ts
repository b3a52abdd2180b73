import { BrokenCircuitError } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import type { CatalogTool } from '../catalog.js';
import { toolPolicySchema } from '../config.js';
import { countsAgainstBreaker, createResilience, shouldRetry } from './policies.js';

const readOnly = { annotations: { readOnlyHint: true } };
const idempotent = { annotations: { idempotentHint: true } };
const plain = { annotations: undefined };
const timeout = new KernosError('timeout', 'slow');
const notSent = new KernosError('unavailable', 'refused', { details: { notSent: true } });

describe('shouldRetry', () => {
  it('retries a call that provably did not run, whatever the tool and server', () => {
    expect(shouldRetry(notSent, plain, false)).toBe(true);
  });

  it('retries a timeout or lost reply only for a read-only or idempotent tool on a trusted server', () => {
    expect(shouldRetry(timeout, readOnly, true)).toBe(true);
    expect(shouldRetry(timeout, idempotent, true)).toBe(true);
    expect(shouldRetry(timeout, idempotent, false)).toBe(false);
    expect(shouldRetry(timeout, plain, true)).toBe(false);
  });

  it("never retries a protocol error, a caller's cancel, an open breaker or a bad request", () => {
    expect(shouldRetry(new KernosError('tool_error', 'server said no'), readOnly, true)).toBe(false);
    expect(shouldRetry(new KernosError('timeout', 'cancelled', { details: { aborted: true, cancelled: true } }), readOnly, true)).toBe(false);
    // An attempt's own timeout aborts the call too, but that is a timeout like any other.
    expect(shouldRetry(new KernosError('timeout', 'slow', { details: { aborted: true } }), readOnly, true)).toBe(true);
    expect(shouldRetry(new KernosError('unavailable', 'open', { details: { breakerOpen: true } }), readOnly, true)).toBe(false);
    expect(shouldRetry(new KernosError('invalid_argument', 'x'), readOnly, true)).toBe(false);
    expect(shouldRetry(new Error('unknown'), readOnly, true)).toBe(false);
  });
});

describe('countsAgainstBreaker', () => {
  it("counts the server's failures, not the caller's", () => {
    expect(countsAgainstBreaker(timeout)).toBe(true);
    expect(countsAgainstBreaker(notSent)).toBe(true);
    expect(countsAgainstBreaker(new KernosError('tool_error', 'protocol error'))).toBe(true);
    expect(countsAgainstBreaker(new KernosError('invalid_argument', 'x'))).toBe(false);
    expect(countsAgainstBreaker(new KernosError('timeout', 'cancelled', { details: { cancelled: true } }))).toBe(false);
    expect(countsAgainstBreaker(new BrokenCircuitError())).toBe(false);
  });
});

describe('createResilience', () => {
  const tool: CatalogTool = { name: 'echo', server: 's', toolName: 'echo', description: '', inputSchema: { type: 'object' }, annotations: undefined };

  it('opens the server and tool breakers after consecutive failures, and both refuse', async () => {
    const resilience = createResilience(toolPolicySchema.parse({ breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } }));
    const failing = () => Promise.reject(timeout);
    await expect(resilience.breakers(tool).execute(failing)).rejects.toBe(timeout);
    await expect(resilience.breakers(tool).execute(failing)).rejects.toBe(timeout);
    await expect(resilience.breakers(tool).execute(() => Promise.resolve('never'))).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(resilience.breakerStates()).toEqual({ 'server:s': 'open', 'tool:s.echo': 'open' });
    // Another tool of the same server meets the open server breaker.
    const other = { ...tool, name: 'sum', toolName: 'sum' };
    await expect(resilience.breakers(other).execute(() => Promise.resolve('never'))).rejects.toBeInstanceOf(BrokenCircuitError);
  });

  it('retries up to maxAttempts in all, and only what shouldRetry allows', async () => {
    const resilience = createResilience(toolPolicySchema.parse({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } }));
    let calls = 0;
    await expect(resilience.retries(tool, false).execute(() => (calls++, Promise.reject(notSent)))).rejects.toBe(notSent);
    expect(calls).toBe(3);
    calls = 0;
    await expect(resilience.retries(tool, true).execute(() => (calls++, Promise.reject(timeout)))).rejects.toBe(timeout);
    expect(calls).toBe(1);
  });

  it('limits per tool and per agent with the configured buckets', () => {
    const resilience = createResilience(toolPolicySchema.parse({ rateLimits: { perTool: { echo: { ratePerSecond: 0, burst: 1 } }, perAgent: { ratePerSecond: 0, burst: 2 } } }));
    expect(resilience.takeTool('echo')).toBeUndefined();
    expect(resilience.takeTool('echo')).toBe(Number.POSITIVE_INFINITY);
    expect(resilience.takeTool('other')).toBeUndefined();
    expect([resilience.takeAgent('a'), resilience.takeAgent('a'), resilience.takeAgent('a')]).toEqual([undefined, undefined, Number.POSITIVE_INFINITY]);
    expect(resilience.takeAgent('b')).toBeUndefined();
  });

  it("aborts an attempt's signal on timeout but not after it answered (the MCP SDK would send notifications/cancelled)", async () => {
    const resilience = createResilience(toolPolicySchema.parse({}));
    let answered: AbortSignal | undefined;
    await resilience.attemptTimeout(1_000).execute(({ signal }) => ((answered = signal), Promise.resolve('ok')));
    expect(answered?.aborted).toBe(false);
    let slow: AbortSignal | undefined;
    const hang = (signal: AbortSignal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    await expect(resilience.attemptTimeout(5).execute(({ signal }) => ((slow = signal), hang(signal)))).rejects.toThrow('aborted');
    expect(slow?.aborted).toBe(true);
  });

  it('builds the composed policies once per catalog entry', () => {
    const resilience = createResilience(toolPolicySchema.parse({}));
    expect(resilience.breakers(tool)).toBe(resilience.breakers(tool));
    expect(resilience.retries(tool, true)).toBe(resilience.retries(tool, true));
    expect(resilience.retries(tool, false)).not.toBe(resilience.retries(tool, true));
    expect(resilience.retries({ ...tool }, true)).not.toBe(resilience.retries(tool, true));
    expect(resilience.attemptTimeout(10)).toBe(resilience.attemptTimeout(10));
  });
});
