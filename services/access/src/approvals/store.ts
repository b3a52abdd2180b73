import { createHash } from 'node:crypto';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { KernosError } from '@kernos/errors';
import { access, create, fromBinary, toBinary } from '@kernos/wire';

type Approval = access.Approval;

/** The approval id of one run's action on one resource: stable, so asking twice (activity retries) finds the same one. */
export function approvalId(ref: { tenant?: string; jobId?: string; runId?: string } | undefined, action: string, resource: string): string {
  const key = JSON.stringify([ref?.tenant ?? '', ref?.jobId ?? '', ref?.runId ?? '', action, resource]);
  return `apr-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

export interface ApprovalStore {
  /** From the local mirror (no round trip): used on every check that would need approval. */
  cached(id: string): Approval | undefined;
  get(id: string): Promise<{ approval: Approval; revision: number } | undefined>;
  /** Creates it unless it exists; returns what is stored either way. */
  createIfAbsent(approval: Approval): Promise<Approval>;
  /** Compare-and-set: fails with conflict if someone changed it since `revision`. */
  update(approval: Approval, revision: number): Promise<void>;
  list(): Approval[];
  stop(): Promise<void>;
}

export interface ApprovalStoreOptions {
  /** KV bucket. Default `KERNOS_APPROVALS`. */
  bucket?: string;
  /** How long approvals are kept, in ms. Default 30 days. */
  maxAgeMs?: number;
}

/**
 * Approvals live in a JetStream KV bucket (so every access replica sees the same ones, and they survive restarts),
 * mirrored in memory through a watch so a check pays nothing to ask "was this approved?".
 */
export async function openApprovalStore(nc: NatsConnection, options: ApprovalStoreOptions = {}): Promise<ApprovalStore> {
  const kv: KV = await new Kvm(nc).create(options.bucket ?? 'KERNOS_APPROVALS', { history: 5, ttl: options.maxAgeMs ?? 30 * 24 * 60 * 60 * 1000 });
  const mirror = new Map<string, Approval>();
  const apply = (entry: KvWatchEntry) => {
    if (entry.operation !== 'PUT') {
      mirror.delete(entry.key);
      return;
    }
    try {
      mirror.set(entry.key, fromBinary(access.ApprovalSchema, entry.value));
    } catch {
      // A value we cannot read is not an approval; it must never count as one.
      mirror.delete(entry.key);
    }
  };
  const watch = await kv.watch();
  let ready: () => void = () => undefined;
  const initial = new Promise<void>((resolve) => (ready = resolve));
  void (async () => {
    for await (const entry of watch) {
      apply(entry);
      // The last of the initial values has delta 0 (nats.js marks it isUpdate already, so that flag cannot be used).
      if (entry.delta === 0) ready();
    }
  })();
  // An empty bucket sends no initial entry; don't wait for one.
  const status = await kv.status();
  if (status.values === 0) ready();
  await initial;

  const get: ApprovalStore['get'] = async (id) => {
    // Ids come from callers: one that approvalId() cannot have made is not a KV key (the KV client would throw "invalid key").
    if (!/^apr-[0-9a-f]{32}$/.test(id)) return undefined;
    const entry = await kv.get(id);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const approval = fromBinary(access.ApprovalSchema, entry.value);
    mirror.set(id, approval);
    return { approval, revision: entry.revision };
  };

  return {
    cached: (id) => mirror.get(id),
    get,
    async createIfAbsent(approval) {
      try {
        await kv.create(approval.id, toBinary(access.ApprovalSchema, approval));
        mirror.set(approval.id, approval);
        return approval;
      } catch {
        const existing = await get(approval.id);
        if (existing) return existing.approval;
        throw new KernosError('unavailable', `approvals: cannot store approval ${approval.id}`);
      }
    },
    async update(approval, revision) {
      try {
        await kv.update(approval.id, toBinary(access.ApprovalSchema, approval), revision);
        mirror.set(approval.id, create(access.ApprovalSchema, approval));
      } catch (error) {
        throw new KernosError('conflict', `approval ${approval.id} changed while it was being decided; read it again`, { cause: error });
      }
    },
    list: () => [...mirror.values()],
    async stop() {
      watch.stop();
    },
  };
}
