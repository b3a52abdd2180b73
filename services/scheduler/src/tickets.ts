import { KernosError, toKernosError } from '@kernos/errors';
import type { Admission, Grant } from './admission/admission.js';
import type { AdmissionRequest } from './admission/endpoint-queue.js';
import type { PersistedTicket, StateStore } from './replication/state-store.js';

export type TicketState = 'queued' | 'granted' | 'failed';

/** One enqueued turn as the ticket book records it. */
export interface TicketRecord {
  readonly ticketId: string;
  readonly endpoint: string;
  readonly workflowId: string;
  state: TicketState;
  grant?: Grant;
  error?: KernosError;
  /** When the ticket reached its final state (granted or failed); finished tickets are forgotten after `keepFinishedMs`. */
  finishedAt?: number;
  readonly abort: AbortController;
  /** The admission outcome of a ticket queued by this book (not of one restored already granted); for tracing. */
  settled?: Promise<Grant>;
}

/**
 * Tells a caller its ticket was granted (or failed); the scheduler's main wires it to a Temporal signal. Resolves
 * `gone` when the caller no longer exists (the workflow finished or was cancelled): its grant is then withdrawn
 * at once instead of holding a slot until the lease TTL.
 */
export type TicketNotifier = (ticket: TicketRecord) => Promise<void | 'gone'>;

export interface TicketBookOptions {
  admission: Admission;
  /** Delivers grants to workflows (default: none; callers poll kernos.scheduler.ticket). */
  notify?: TicketNotifier;
  /** Told when a notification could not be delivered; the caller's poll still finds the ticket. */
  onNotifyError?: (ticket: TicketRecord, error: unknown) => void;
  /** How long a granted or failed ticket stays answerable (default 600000 ms). */
  keepFinishedMs?: number;
  /** Persists queued and granted tickets for a successor (default: none). */
  store?: StateStore;
  now?: () => number;
}

/**
 * Non-blocking admission: `enqueue` puts the turn in its endpoint's queue and answers at once; the grant is
 * pushed to the workflow (`notify`) and kept here for polling. Ticket ids are chosen by the caller, so an activity
 * retry that enqueues the same turn again gets the same ticket instead of a second place in the queue.
 */
export class TicketBook {
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly keepFinishedMs: number;
  private readonly now: () => number;
  private lastSweep = 0;
  private nextOrder = 0;
  /** Cleared when this book's process stops being leader, so its shutdown does not erase what the successor needs. */
  private store: StateStore | undefined;

  constructor(private readonly options: TicketBookOptions) {
    this.keepFinishedMs = options.keepFinishedMs ?? 600_000;
    this.now = options.now ?? Date.now;
    this.store = options.store;
  }

  /** Stops persisting (this replica is no longer leader; the successor owns the stored tickets now). */
  detachStore(): void {
    this.store = undefined;
  }

  /** Resolves when every ticket and lease change so far is stored; grants are answered only after it. */
  async flush(): Promise<void> {
    await this.store?.flush();
  }

  /**
   * Takes over a predecessor's tickets, in their original order: granted ones keep their lease (already restored
   * into admission), queued ones queue again and are signalled when granted.
   */
  async restore(tickets: readonly PersistedTicket[]): Promise<void> {
    for (const persisted of tickets) {
      this.nextOrder = Math.max(this.nextOrder, persisted.order + 1);
      if (persisted.state === 'granted' && persisted.lease) {
        this.tickets.set(persisted.ticketId, {
          ticketId: persisted.ticketId,
          endpoint: persisted.endpoint,
          workflowId: persisted.workflowId,
          state: 'granted',
          grant: persisted.lease,
          finishedAt: this.now(),
          abort: new AbortController(),
        });
      } else {
        await this.enqueue(persisted.ticketId, persisted.endpoint, persisted.request, persisted.workflowId, persisted.order);
      }
    }
  }

  /** The next arrival order, shared with blocking waiters so a successor re-queues both as they came. */
  takeOrder(): number {
    return this.nextOrder++;
  }

  /** A restored waiter's order: later arrivals must come after it. */
  observeOrder(order: number): void {
    this.nextOrder = Math.max(this.nextOrder, order + 1);
  }

  get size(): number {
    return this.tickets.size;
  }

  /** Queues the turn unless the ticket exists; resolves after any immediate grant has been recorded. */
  async enqueue(ticketId: string, endpoint: string, request: AdmissionRequest, workflowId = '', order = this.nextOrder++): Promise<TicketRecord> {
    this.sweep();
    const existing = this.tickets.get(ticketId);
    if (existing) return existing;
    const abort = new AbortController();
    const record: TicketRecord = { ticketId, endpoint, workflowId, state: 'queued', abort };
    this.tickets.set(ticketId, record);
    const { signal: _signal, ...persistable } = request;
    const persisted: PersistedTicket = { ticketId, endpoint, workflowId, order, request: persistable, state: 'queued' };
    this.store?.putTicket(persisted);
    const outcome = this.options.admission.acquire(endpoint, { ...request, signal: abort.signal });
    record.settled = outcome;
    // Observers of `settled` handle its rejection; this keeps an unobserved one from being an unhandled rejection.
    outcome.catch(() => undefined);
    const settled = outcome.then(
      (grant) => {
        record.state = 'granted';
        record.grant = grant;
        record.finishedAt = this.now();
        this.store?.putTicket({ ...persisted, state: 'granted', lease: grant });
      },
      (error: unknown) => {
        record.state = 'failed';
        record.error = toKernosError(error);
        record.finishedAt = this.now();
        this.store?.deleteTicket(ticketId);
      },
    );
    // Unknown endpoints and free slots settle within a few microtasks; answer with that result rather than "queued".
    await Promise.race([settled, new Promise((resolve) => setImmediate(resolve))]);
    if (record.state === 'failed' && record.error?.code === 'not_found') {
      this.tickets.delete(ticketId);
      throw record.error;
    }
    if (record.state === 'queued') void settled.then(() => this.deliver(record));
    return record;
  }

  get(ticketId: string): TicketRecord | undefined {
    return this.tickets.get(ticketId);
  }

  /** The caller gave up: a queued ticket leaves the queue, a granted one releases its lease. Returns whether anything changed. */
  withdraw(ticketId: string): boolean {
    const record = this.tickets.get(ticketId);
    if (!record) return false;
    if (record.state === 'queued') {
      record.abort.abort(new KernosError('conflict', `ticket ${ticketId} was withdrawn`));
      return true;
    }
    if (record.state === 'granted' && record.grant) {
      const released = this.options.admission.release(record.grant.id).released;
      record.state = 'failed';
      record.error = new KernosError('conflict', `ticket ${ticketId} was withdrawn after its grant; the lease was released`);
      this.store?.deleteTicket(ticketId);
      return released;
    }
    return false;
  }

  private async deliver(record: TicketRecord): Promise<void> {
    if (!this.options.notify || record.workflowId === '') return;
    try {
      // The grant must be stored before anyone hears of it, or a successor could grant its slot again.
      await this.flush();
      if ((await this.options.notify(record)) === 'gone') this.withdraw(record.ticketId);
    } catch (error) {
      this.options.onNotifyError?.(record, error);
    }
  }

  private sweep(): void {
    // At most once a second: a sweep walks every ticket, which must not happen per enqueue at 10k queued.
    if (this.now() - this.lastSweep < 1_000) return;
    this.lastSweep = this.now();
    const cutoff = this.now() - this.keepFinishedMs;
    for (const [id, record] of this.tickets) {
      if (record.finishedAt !== undefined && record.finishedAt < cutoff) {
        this.tickets.delete(id);
        this.store?.deleteTicket(id);
      }
    }
  }
}
