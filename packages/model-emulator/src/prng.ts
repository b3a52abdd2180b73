/**
 * Small seeded random sources. Determinism matters more than statistical quality here: the same seed must give
 * the same latency and output-length sequences on every machine, so a benchmark run can be replayed.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: a 32-bit-state PRNG, fast and good enough for workload emulation (not for cryptography). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over a string, then a murmur3 finaliser so that nearby inputs land far apart. */
export function hashString(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** Hashes one integer under a seed (murmur3 fmix32 of the combination). */
export function hashInt(value: number, seed: number): number {
  return mix32((Math.imul(value ^ 0x9e3779b9, 0x85ebca6b) ^ seed) >>> 0);
}

function mix32(input: number): number {
  let h = input >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives an independent seed for a named stream, so adding a new random consumer (say output lengths) does not
 * shift the sequence another consumer (say latencies) sees for the same top-level seed.
 */
export function deriveSeed(seed: number, stream: string): number {
  return hashString(stream, seed >>> 0);
}

/** Options of {@link createLognormalSampler}. */
export interface LognormalOptions {
  /** Median of the distribution (exp(mu)); 0 makes every sample 0. */
  median: number;
  /** Standard deviation of the underlying normal; 0 makes every sample equal to the median. */
  sigma: number;
  /** Seed of the PRNG; the same seed gives the same sequence. */
  seed: number;
}

/**
 * Returns a sampler of a lognormal distribution: median * exp(sigma * Z), Z standard normal from Box–Muller.
 * Each call draws exactly two uniforms, so the n-th sample depends only on the seed and n.
 */
export function createLognormalSampler(options: LognormalOptions): () => number {
  const random = mulberry32(options.seed);
  return () => {
    const u1 = 1 - random(); // (0, 1]: log(0) would be -Infinity
    const u2 = random();
    if (options.median <= 0) return 0;
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return options.median * Math.exp(options.sigma * z);
  };
}
