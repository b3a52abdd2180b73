import { trace, type Tracer } from '@opentelemetry/api';
import type { Driver } from 'neo4j-driver';
import { expect } from 'vitest';
import { KernosError } from '@kernos/errors';
import { startKernel, type Kernel } from '@kernos/launcher';
import { createLogger, type NatsConnection } from '@kernos/service-kit';
import { createEmbedder } from '../src/embeddings.js';
import { embeddingDimensions } from '../src/migrations.js';
import { createGraphService } from '../src/service.js';

export const tracer = trace.getTracer('graph-test');
export const logger = createLogger('graph-test', () => {});

/** A job's governance: the categories it was granted. */
export const governanceFor = (...dataCategories: string[]) => ({ riskLevel: 'limited', dataCategories, humanOversight: 'none', approver: 'lead@example.com' });

/**
 * The real model emulator (embeddings) and the real access service, each as its own process on the given NATS,
 * started by the launcher exactly as the kernel runs them.
 */
export async function startPeers(env: Record<string, string | undefined>): Promise<Kernel> {
  return startKernel({ env, only: ['emulator', 'access'] });
}

/** The graph service in-process, on the given NATS and Neo4j, embedding through the given emulator. */
export function graphService(options: { nc: NatsConnection; driver: Driver; uri: string; openaiBaseUrl: string; syncWaitMs?: number; database?: string; tracer?: Tracer }) {
  return createGraphService({
    nc: options.nc,
    tracer: options.tracer ?? tracer,
    logger,
    driver: options.driver,
    uri: options.uri,
    database: options.database ?? 'neo4j',
    embedder: createEmbedder({ baseURL: options.openaiBaseUrl, apiKey: 'test', model: 'kernos-emu-small', dimensions: embeddingDimensions }),
    functionalPredicates: ['works at'],
    syncWaitMs: options.syncWaitMs ?? 8_000,
  });
}

/** Whatever a rejected call threw, as a KernosError (fails the test if the call succeeded). */
export async function rejectionOf(promise: Promise<unknown>): Promise<KernosError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(KernosError);
  return error as KernosError;
}

/** Polls until check() returns true or the deadline passes; returns the last result. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
