import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/nats-core';
import { ApplicationFailure } from '@temporalio/client';
import { KernosError, toKernosError } from '@kernos/errors';
import type { KernelClient } from '@kernos/service-kit';
import { contracts } from '@kernos/wire';
import type { GovernanceInput, RunIdentity } from '../types.js';

/** The JetStream object store bucket that holds context kept out of workflow history. */
export const contextBucket = 'kernos-context';
const refPrefix = `obj://${contextBucket}/`;

export interface ContextActivityDeps {
  kernel: KernelClient;
  /** NATS connection for the context object store; without it, storeContext/loadContext fail as unavailable. */
  nc?: NatsConnection;
}

export interface RecallInput {
  run: RunIdentity;
  /** The job's governance: the graph returns only facts in categories the job may read. */
  governance: GovernanceInput;
  subject: string;
  /** At most this many facts, newest first (default 20). */
  limit?: number;
}

/** A fact from the graph, as plain data (it crosses Temporal's JSON payload converter). */
export interface RecalledFact {
  factId: string;
  subject: string;
  predicate: string;
  object: string;
  text: string;
  runId: string;
  agentId: string;
  dataCategory: string;
  createdAtMs: number;
}

export interface StoreContextInput {
  run: RunIdentity;
  /** What it is ("archive", "blob", "snapshot"); part of the object name. */
  kind: string;
  /** Unique within the run and stable across retries (the workflow makes it), so a retried store overwrites itself. */
  key: string;
  text: string;
}

export interface StoredContext {
  /** obj://kernos-context/<run>/<kind>/<key> */
  ref: string;
  bytes: number;
}

/**
 * Activities of the context manager (packages/sdk): persistent memory reads from services/graph, and context
 * stored by reference in the JetStream object store so large text stays out of workflow history.
 */
export function createContextActivities(deps: ContextActivityDeps) {
  let store: Promise<ObjectStore> | undefined;
  const objectStore = (): Promise<ObjectStore> => {
    if (!deps.nc) throw new KernosError('unavailable', 'the context object store needs a NATS connection: pass nc to createActivities');
    // create() opens the bucket when it exists, so every worker may call it; a failure is not cached.
    store ??= new Objm(deps.nc).create(contextBucket, { description: 'Kernos agent context kept out of workflow history' }).catch((error: unknown) => {
      store = undefined;
      throw error;
    });
    return store;
  };

  return {
    async recall(input: RecallInput): Promise<RecalledFact[]> {
      return asActivity(async () => {
        const reply = await deps.kernel.call(contracts.graph.facts, { ref: input.run, governance: input.governance, subject: input.subject, limit: input.limit ?? 20 });
        return reply.facts.map((f) => ({
          factId: f.factId,
          subject: f.subject,
          predicate: f.predicate,
          object: f.object,
          text: f.text,
          runId: f.runId,
          agentId: f.agentId,
          dataCategory: f.dataCategory,
          createdAtMs: Number(f.createdAtMs),
        }));
      });
    },

    async storeContext(input: StoreContextInput): Promise<StoredContext> {
      return asActivity(async () => {
        if (!/^[\w.-]+$/.test(input.kind) || !/^[\w.-]+$/.test(input.key)) {
          throw new KernosError('invalid_argument', `storeContext: kind and key must be word characters, got "${input.kind}" and "${input.key}"`);
        }
        const name = `${input.run.runId}/${input.kind}/${input.key}`;
        const data = new TextEncoder().encode(input.text);
        await (await objectStore()).putBlob({ name }, data);
        return { ref: `${refPrefix}${name}`, bytes: data.byteLength };
      });
    },

    async loadContext(ref: string): Promise<string> {
      return asActivity(async () => {
        if (!ref.startsWith(refPrefix)) throw new KernosError('invalid_argument', `loadContext: not a context reference: "${ref}"`);
        const data = await (await objectStore()).getBlob(ref.slice(refPrefix.length));
        if (data === null) throw new KernosError('not_found', `loadContext: nothing stored at ${ref}`);
        return new TextDecoder().decode(data);
      });
    },
  };
}

export type ContextActivities = ReturnType<typeof createContextActivities>;

/** The same boundary as the kernel activities: a KernosError becomes an ApplicationFailure typed by its code. */
async function asActivity<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (thrown) {
    const error = toKernosError(thrown);
    throw ApplicationFailure.create({ type: error.code, message: error.message, nonRetryable: !error.retryable, cause: error });
  }
}
