import type { KV } from '@nats-io/kv';
import type { Lease } from '../admission/endpoint-queue.js';
import type { AdmissionRequest } from '../admission/endpoint-queue.js';

/** A queued or granted ticket as persisted: enough to queue it again (or keep its grant) after a takeover. */
export interface PersistedTicket {
  ticketId: string;
  endpoint: string;
  workflowId: string;
  /** Arrival order across the scheduler's life, so a new leader re-queues tickets in their original order. */
  order: number;
  request: Omit<AdmissionRequest, 'signal'>;
  state: 'queued' | 'granted';
  lease?: Lease & { baseUrl: string; model: string };
}

export interface PersistedState {
  leases: Lease[];
  tickets: PersistedTicket[];
}

/**
 * Where the scheduler keeps what a successor needs: active leases (so it never grants beyond maxConcurrent after
 * a takeover) and tickets (so queued turns keep their place and granted ones stay answerable). Writes are applied
 * in order on one chain; `flush` resolves when everything written so far is stored, and callers await it before
 * a grant leaves the process, so a grant that a successor cannot see was never received by anyone.
 */
export interface StateStore {
  putLease(lease: Lease): void;
  deleteLease(leaseId: string): void;
  putTicket(ticket: PersistedTicket): void;
  deleteTicket(ticketId: string): void;
  flush(): Promise<void>;
  load(): Promise<PersistedState>;
}

/** Keys must match [-/_=.a-zA-Z0-9]; ticket ids are caller-chosen, so they are base64url-encoded. */
const ticketKey = (ticketId: string) => `ticket.${Buffer.from(ticketId).toString('base64url')}`;
const leaseKey = (leaseId: string) => `lease.${leaseId.replace(/[^-_=a-zA-Z0-9]/g, '_')}`;

/**
 * The StateStore on a JetStream KV bucket. Entries are deleted when their lease ends or their ticket finishes;
 * nats-server 2.9 ignores per-message TTL, so nothing relies on the server expiring entries: a loaded lease past
 * its expiry is simply dropped by the reader.
 */
export function createKvStateStore(kv: KV, onError: (error: unknown) => void = () => undefined): StateStore {
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (write: () => Promise<unknown>) => {
    chain = chain.then(write).then(
      () => undefined,
      (error: unknown) => onError(error),
    );
  };
  return {
    putLease: (lease) => enqueue(() => kv.put(leaseKey(lease.id), JSON.stringify(lease))),
    deleteLease: (leaseId) => enqueue(() => kv.delete(leaseKey(leaseId))),
    putTicket: (ticket) => enqueue(() => kv.put(ticketKey(ticket.ticketId), JSON.stringify(ticket))),
    deleteTicket: (ticketId) => enqueue(() => kv.delete(ticketKey(ticketId))),
    flush: () => chain,
    async load() {
      const leases: Lease[] = [];
      const tickets: PersistedTicket[] = [];
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      for (const key of keys) {
        const entry = await kv.get(key);
        if (!entry || entry.operation !== 'PUT' || entry.length === 0) continue;
        if (key.startsWith('lease.')) leases.push(entry.json<Lease>());
        else if (key.startsWith('ticket.')) tickets.push(entry.json<PersistedTicket>());
      }
      tickets.sort((a, b) => a.order - b.order);
      return { leases, tickets };
    },
  };
}
