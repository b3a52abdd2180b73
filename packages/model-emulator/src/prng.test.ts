import { describe, expect, it } from 'vitest';
import { createLognormalSampler, deriveSeed, mulberry32 } from './prng.js';

const take = (sample: () => number, n: number): number[] => Array.from({ length: n }, sample);

describe('mulberry32', () => {
  it('gives the same sequence for the same seed and a different one for another seed', () => {
    expect(take(mulberry32(7), 5)).toEqual(take(mulberry32(7), 5));
    expect(take(mulberry32(7), 5)).not.toEqual(take(mulberry32(8), 5));
  });

  it('stays in [0, 1)', () => {
    const xs = take(mulberry32(123), 10_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});

describe('createLognormalSampler', () => {
  it('reproduces the same latency sequence for the same seed', () => {
    const a = take(createLognormalSampler({ median: 200, sigma: 0.6, seed: 42 }), 50);
    const b = take(createLognormalSampler({ median: 200, sigma: 0.6, seed: 42 }), 50);
    const c = take(createLognormalSampler({ median: 200, sigma: 0.6, seed: 43 }), 50);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBe(50); // actually varied, not a constant
  });

  it('has the configured median and positive samples', () => {
    const samples = take(createLognormalSampler({ median: 100, sigma: 0.5, seed: 1 }), 20_001).sort((x, y) => x - y);
    expect(samples[0]).toBeGreaterThan(0);
    expect(samples[10_000]).toBeGreaterThan(95);
    expect(samples[10_000]).toBeLessThan(105);
  });

  it('is constant at the median with sigma 0 and zero with median 0', () => {
    expect(take(createLognormalSampler({ median: 80, sigma: 0, seed: 3 }), 5)).toEqual([80, 80, 80, 80, 80]);
    expect(take(createLognormalSampler({ median: 0, sigma: 1, seed: 3 }), 3)).toEqual([0, 0, 0]);
  });
});

describe('deriveSeed', () => {
  it('gives independent, stable seeds per stream', () => {
    expect(deriveSeed(1, 'latency')).toBe(deriveSeed(1, 'latency'));
    expect(deriveSeed(1, 'latency')).not.toBe(deriveSeed(1, 'output-length'));
    expect(deriveSeed(1, 'latency')).not.toBe(deriveSeed(2, 'latency'));
  });
});
