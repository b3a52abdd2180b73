import type { KV } from '@nats-io/kv';
import type { AdmissionRequest, Lease } from '../admission/endpoint-queue.js';
import type { ControlKind } from '../admission/controls.js';

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

/**
 * A blocking acquire waiting in the queue, as persisted: a successor queues it again and, on grant, answers it on
 * its reply subject (core NATS lets anyone publish the reply), so the caller still waiting gets exactly one lease.
 */
export interface PersistedWaiter {
  /** The request's reply subject; unique per request, so also its id. */
  reply: string;
  endpoint: string;
  /** Shares the tickets' arrival order, so a successor re-queues waiters and tickets interleaved as they came. */
  order: number;
  /** Wall-clock ms when it was queued: a successor only waits out the rest of its max_wait_ms. */
  queuedAt: number;
  request: Omit<AdmissionRequest, 'signal'>;
}


/** One piece of control state: a paused run, a cancellation (value: its reason), a budget, a spend, a drain. */
export interface ControlEntry {
  kind: ControlKind;
  id: string;
  value: unknown;
}

export interface PersistedState {
  leases: Lease[];
  tickets: PersistedTicket[];
  waiters: PersistedWaiter[];
  controls: ControlEntry[];
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
  putWaiter(waiter: PersistedWaiter): void;
  deleteWaiter(reply: string): void;
  /** Sets (or, with undefined, deletes) one piece of control state. */
  putControl(kind: ControlKind, id: string, value: unknown): void;
  flush(): Promise<void>;
  load(): Promise<PersistedState>;
}

/** Keys must match [-/_=.a-zA-Z0-9]; ticket ids are caller-chosen, so they are base64url-encoded. */
const ticketKey = (ticketId: string) => `ticket.${Buffer.from(ticketId).toString('base64url')}`;
const leaseKey = (leaseId: string) => `lease.${leaseId.replace(/[^-_=a-zA-Z0-9]/g, '_')}`;
const waiterKey = (reply: string) => `waiter.${Buffer.from(reply).toString('base64url')}`;
// The kind's dot becomes part of the key (ctl.budget.run.<id>); ids are encoded, so the last segment is the id.
const controlKey = (kind: ControlKind, id: string) => `ctl.${kind}.${Buffer.from(id).toString('base64url')}`;
const controlKinds: readonly ControlKind[] = ['pause', 'cancel', 'hold', 'drain', 'budget.run', 'budget.job', 'spent.run', 'spent.job'];

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
    putWaiter: (waiter) => enqueue(() => kv.put(waiterKey(waiter.reply), JSON.stringify(waiter))),
    deleteWaiter: (reply) => enqueue(() => kv.delete(waiterKey(reply))),
    putControl: (kind, id, value) =>
      enqueue(() => (value === undefined ? kv.delete(controlKey(kind, id)) : kv.put(controlKey(kind, id), JSON.stringify(value)))),
    flush: () => chain,
    async load() {
      const leases: Lease[] = [];
      const tickets: PersistedTicket[] = [];
      const waiters: PersistedWaiter[] = [];
      const controls: ControlEntry[] = [];
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      for (const key of keys) {
        const entry = await kv.get(key);
        if (!entry || entry.operation !== 'PUT' || entry.length === 0) continue;
        if (key.startsWith('lease.')) leases.push(entry.json<Lease>());
        else if (key.startsWith('ticket.')) tickets.push(entry.json<PersistedTicket>());
        else if (key.startsWith('waiter.')) waiters.push(entry.json<PersistedWaiter>());
        else if (key.startsWith('ctl.')) {
          const cut = key.lastIndexOf('.');
          const kind = key.slice(4, cut) as ControlKind;
          if (controlKinds.includes(kind)) controls.push({ kind, id: Buffer.from(key.slice(cut + 1), 'base64url').toString(), value: entry.json<unknown>() });
        }
      }
      tickets.sort((a, b) => a.order - b.order);
      waiters.sort((a, b) => a.order - b.order);
      return { leases, tickets, waiters, controls };
    },
  };
}
