import { headers, nanos, type NatsConnection } from '@nats-io/nats-core';
import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { KernosError } from '@kernos/errors';
import type { Logger } from '@kernos/service-kit';
import { create, fromBinary, graph, toBinary } from '@kernos/wire';
import { embeddingText, type Embedder } from './embeddings.js';
import { entityId, factId, hash32 } from './identity.js';
import { validateWriteFact } from './handlers/write-fact.js';
import type { AppliedWrite, FactStore, FactWrite } from './store.js';

export interface OutboxOptions {
  nc: NatsConnection;
  logger: Logger;
  store: FactStore;
  embedder: Embedder;
  /** JetStream stream name (default "KERNOS_GRAPH_OUTBOX"); its subject is `kernos.graph.outbox.<stream>`. */
  stream?: string;
  /** Batches applied to Neo4j at the same time by this replica (default 4). */
  concurrency?: number;
  /** Most writes applied in one transaction (default 64). */
  batchSize?: number;
  /** Redelivery delay after a failed apply: doubles from initialMs up to maxMs (default 250 ms to 5000 ms). */
  retry?: { initialMs: number; maxMs: number };
  /** Deliveries of one write before it is stored without an embedding, when the embeddings endpoint keeps failing (default 3). */
  embeddingAttempts?: number;
}

/** What the consumer tells a waiting sync write once its write is in Neo4j. */
export type AppliedNotice = AppliedWrite;

export interface Outbox {
  /** Creates the stream and the durable consumer if they do not exist (idempotent, as migrations are). */
  ensure(): Promise<void>;
  /**
   * Persists a validated write request in the stream; resolves once JetStream has stored it (then nothing can lose
   * it). With `awaitApplied`, also waits (up to the given ms) for the consumer to apply it, and returns what it did.
   */
  accept(request: graph.WriteFactRequest, options?: { awaitAppliedMs?: number }): Promise<AppliedNotice | undefined>;
  /** Starts applying writes to Neo4j; every replica runs one, sharing the durable consumer. */
  startConsumer(): Promise<void>;
  /** Stops taking writes from the stream and waits for the ones being applied (unacked ones are redelivered later). */
  stop(): Promise<void>;
}

const consumerName = 'graph-writer';

/** Key of one (fact, run) write: the subject its applied notice is published on. */
export function writeKey(id: string, runId: string): string {
  return hash32(`${id}|${runId}`);
}

/**
 * The graph's transactional outbox on JetStream. A write request is accepted once it is in a file-backed work-queue
 * stream, then a durable pull consumer applies it to Neo4j and acks it. A failed apply (Neo4j down, a transient
 * error) is nak'ed with a growing delay and redelivered without limit, so an outage delays writes but loses none.
 * Applying is idempotent (MERGE on deterministic ids), so a redelivery after a lost ack changes nothing.
 */
export function createOutbox(options: OutboxOptions): Outbox {
  const { nc, logger, store, embedder } = options;
  const stream = options.stream ?? 'KERNOS_GRAPH_OUTBOX';
  const subject = `kernos.graph.outbox.${stream}`;
  const concurrency = options.concurrency ?? 4;
  const batchSize = options.batchSize ?? 64;
  const retry = options.retry ?? { initialMs: 250, maxMs: 5_000 };
  const embeddingAttempts = options.embeddingAttempts ?? 3;
  const js = jetstream(nc);
  let messages: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();

  const redeliverIn = (msg: JsMsg) => Math.min(retry.maxMs, retry.initialMs * 2 ** Math.min(16, msg.info.deliveryCount - 1));

  const decode = (msg: JsMsg): FactWrite | undefined => {
    try {
      const request = fromBinary(graph.WriteFactRequestSchema, msg.data);
      const { fact, provenance } = validateWriteFact(request);
      return { fact, provenance, validAtMs: Number(request.validAtMs), functional: request.functional };
    } catch (error) {
      // Validated before it was accepted, so only a version skew gets here; retrying cannot help.
      logger.error('outbox: dropping a write that cannot be decoded', { seq: msg.seq, error: (error as Error).message });
      msg.term('undecodable');
      return undefined;
    }
  };

  const done = (msg: JsMsg, write: FactWrite, applied: AppliedWrite) => {
    msg.ack();
    nc.publish(`kernos.graph.applied.${writeKey(applied.factId, write.provenance.runId)}`, JSON.stringify(applied));
  };

  const retryLater = (msgs: readonly JsMsg[], error: unknown) => {
    for (const msg of msgs) msg.nak(redeliverIn(msg));
    logger.warn('outbox: writes not applied yet, will retry', { writes: msgs.length, attempt: msgs[0]?.info.deliveryCount, error: (error as Error).message });
  };

  /**
   * Applies the writes taken in one go: their embeddings in one request, then one transaction. Writes stay in
   * stream order per subject (a stable sort by subject only groups them). If the batch fails for a reason other
   * than an outage, each write is tried alone, so one bad write cannot hold back the others.
   */
  const applyBatch = async (msgs: readonly JsMsg[]): Promise<void> => {
    let batch = msgs.flatMap((msg) => {
      const write = decode(msg);
      return write ? [{ msg, write, key: entityId(write.fact.subject) }] : [];
    });
    if (batch.length === 0) return;
    try {
      const vectors = await embedder.embed(batch.map(({ write }) => embeddingText(write.fact)));
      batch.forEach(({ write }, i) => (write.embedding = vectors[i]));
    } catch (error) {
      // A write must not wait forever on the embeddings endpoint; after a few tries it is found by its words only.
      const waiting = batch.filter(({ msg }) => msg.info.deliveryCount < embeddingAttempts);
      if (waiting.length > 0) retryLater(waiting.map(({ msg }) => msg), error);
      batch = batch.filter(({ msg }) => msg.info.deliveryCount >= embeddingAttempts);
      if (batch.length === 0) return;
      logger.warn('outbox: storing facts without their embeddings', { writes: batch.length, error: (error as Error).message });
    }
    const ordered = [...batch].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    try {
      const applied = await store.applyWrites(ordered.map(({ write }) => write));
      ordered.forEach(({ msg, write }, i) => done(msg, write, applied[i]!));
    } catch (error) {
      if (ordered.length === 1 || (error as KernosError).code === 'unavailable') {
        retryLater(ordered.map(({ msg }) => msg), error);
        return;
      }
      for (const { msg, write } of ordered) {
        try {
          done(msg, write, await store.applyWrite(write));
        } catch (alone) {
          retryLater([msg], alone);
        }
      }
    }
  };

  return {
    async ensure() {
      const jsm = await jetstreamManager(nc);
      const config = {
        name: stream,
        subjects: [subject],
        // Work queue: a write is deleted once applied and acked; the stream holds only what is still to do.
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
      };
      await jsm.streams.info(stream).catch(async () => jsm.streams.add(config));
      await jsm.consumers.info(stream, consumerName).catch(async () =>
        jsm.consumers.add(stream, {
          durable_name: consumerName,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ack_wait: nanos(30_000),
          // Never give up on a write: an outage of any length must lose nothing.
          max_deliver: -1,
          max_ack_pending: 1_000,
        }),
      );
    },

    async accept(request, { awaitAppliedMs } = {}) {
      const data = toBinary(graph.WriteFactRequestSchema, create(graph.WriteFactRequestSchema, request));
      // Subscribed before publishing, so the notice cannot slip past; same connection, so the server sees SUB first.
      const notice = awaitAppliedMs === undefined ? undefined : nc.subscribe(`kernos.graph.applied.${writeKey(factId(request.subject, request.predicate, request.object), request.ref?.runId.trim() ?? '')}`, { max: 1 });
      try {
        const h = headers();
        h.set('Kernos-Accepted-At', new Date().toISOString());
        try {
          await js.publish(subject, data, { headers: h, timeout: 5_000 });
        } catch (error) {
          throw new KernosError('unavailable', `graph outbox (JetStream stream ${stream}) did not store the write: ${(error as Error).message}`, { cause: error });
        }
        if (!notice) return undefined;
        const timer = setTimeout(() => notice.unsubscribe(), awaitAppliedMs);
        try {
          for await (const msg of notice) return JSON.parse(msg.string()) as AppliedNotice;
        } finally {
          clearTimeout(timer);
        }
        throw new KernosError(
          'unavailable',
          `the write is safely in the graph outbox but was not applied to Neo4j within ${awaitAppliedMs} ms; it will land when Neo4j is back (retrying is safe)`,
        );
      } finally {
        notice?.unsubscribe();
      }
    },

    async startConsumer() {
      const consumer = await js.consumers.get(stream, consumerName);
      messages = await consumer.consume({ max_messages: batchSize * concurrency * 2 });
      const source = messages;
      const queue: JsMsg[] = [];
      // Takes what has arrived (up to a batch) as soon as a slot is free: a lone sync write is not held back
      // waiting for company, and under load batches fill up by themselves.
      const pump = () => {
        while (inFlight.size < concurrency && queue.length > 0) {
          const work = applyBatch(queue.splice(0, batchSize)).catch((error: unknown) => logger.error('outbox: batch failed', { error: (error as Error).message }));
          inFlight.add(work);
          void work.finally(() => {
            inFlight.delete(work);
            pump();
          });
        }
      };
      loop = (async () => {
        for await (const msg of source) {
          queue.push(msg);
          pump();
          while (queue.length >= batchSize * concurrency) await Promise.race(inFlight);
        }
      })();
    },

    async stop() {
      await messages?.close();
      await loop?.catch(() => undefined);
      await Promise.allSettled([...inFlight]);
    },
  };
}
