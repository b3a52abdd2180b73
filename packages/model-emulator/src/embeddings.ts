import { encode } from './tokens.js';
import { hashInt } from './prng.js';

/** Each token is spread over this many signed buckets, so one collision does not decide a similarity. */
const BUCKETS_PER_TOKEN = 4;

/**
 * A deterministic embedding: a signed bag of hashed tokens (of the lower-cased text), L2-normalised. Texts that
 * share tokens point in similar directions, which is all retrieval demos and tests need; no semantics.
 */
export function embedTokens(tokens: readonly number[], dimensions: number, seed: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const token of tokens) {
    for (let k = 0; k < BUCKETS_PER_TOKEN; k++) {
      const h = hashInt(token, (seed + Math.imul(k + 1, 0x27d4eb2f)) >>> 0);
      const sign = h & 1 ? 1 : -1;
      vector[(h >>> 1) % dimensions]! += sign;
    }
  }
  const norm = Math.sqrt(vector.reduce((sum, v) => sum + v * v, 0));
  if (norm === 0) {
    // Unlucky cancellation (or no tokens): fall back to a fixed unit vector rather than NaNs.
    vector[0] = 1;
    return vector;
  }
  // Rounded to float32, what OpenAI serves, so the float and base64 encodings carry identical values.
  return vector.map((v) => Math.fround(v / norm));
}

/** Embeds a text; see {@link embedTokens}. */
export function embedText(text: string, dimensions: number, seed: number): number[] {
  return embedTokens(encode(text.toLowerCase()), dimensions, seed);
}

/** Float32 little-endian bytes in base64, the `encoding_format: 'base64'` wire form the openai client asks for. */
export function toBase64Float32(vector: readonly number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

/** Cosine similarity of two vectors of equal length. */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
