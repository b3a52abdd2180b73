import OpenAI, { APIError } from 'openai';
import { KernosError } from '@kernos/errors';

export interface EmbedderOptions {
  /** OpenAI-compatible base URL, e.g. http://127.0.0.1:8400/v1 (the emulator) or https://api.openai.com/v1. */
  baseURL: string;
  /** API key (the emulator accepts any). */
  apiKey: string;
  /** Embedding model name. */
  model: string;
  /** Vector size asked for; must match the vector index (256). */
  dimensions: number;
  /** Per-request timeout (default 10000 ms). */
  timeoutMs?: number;
}

/** Turns texts into vectors, in one request per call. */
export interface Embedder {
  embed(texts: readonly string[]): Promise<number[][]>;
}

/**
 * Embeddings through the official `openai` client, so any OpenAI-compatible endpoint works (OpenAI, vLLM,
 * Ollama, the emulator). The client does not retry: the outbox consumer retries the whole write, and a search
 * fails fast with "unavailable" instead of hiding an outage behind retries.
 */
export function createEmbedder(options: EmbedderOptions): Embedder {
  const client = new OpenAI({ baseURL: options.baseURL, apiKey: options.apiKey, maxRetries: 0, timeout: options.timeoutMs ?? 10_000 });
  return {
    async embed(texts) {
      if (texts.length === 0) return [];
      try {
        const reply = await client.embeddings.create({ model: options.model, input: [...texts], dimensions: options.dimensions });
        const vectors = [...reply.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
        if (vectors.length !== texts.length || vectors.some((v) => v.length !== options.dimensions)) {
          throw new KernosError('internal', `embeddings endpoint ${options.baseURL} returned ${vectors.length} vectors of the wrong size for ${texts.length} texts (want ${options.dimensions} dimensions)`);
        }
        return vectors;
      } catch (error) {
        throw toEmbeddingError(error, options.baseURL);
      }
    },
  };
}

function toEmbeddingError(error: unknown, baseURL: string): KernosError {
  if (error instanceof KernosError) return error;
  if (error instanceof APIError && error.status !== undefined && error.status !== 429 && error.status < 500) {
    return new KernosError('internal', `embeddings endpoint ${baseURL} rejected the request (${error.status}): ${error.message}`, { cause: error });
  }
  return new KernosError('unavailable', `embeddings endpoint ${baseURL} is unavailable: ${(error as Error).message}`, { cause: error });
}

/** The text a fact is embedded and searched by: its statement, then its prose. */
export function embeddingText(fact: { subject: string; predicate: string; object: string; text: string }): string {
  const statement = `${fact.subject} ${fact.predicate} ${fact.object}`;
  return fact.text ? `${statement}. ${fact.text}` : statement;
}
