import type { Tracer } from '@opentelemetry/api';
import type { KV } from '@nats-io/kv';
import { createKernosService, handle, type KernosService, type Logger, type NatsConnection } from '@kernos/service-kit';
import { contracts, create, scheduler, toBinary } from '@kernos/wire';
import { createAdmission, type Admission } from './admission/admission.js';
import type { AdmissionRequest, Clock } from './admission/endpoint-queue.js';
import type { Grant } from './admission/admission.js';
import type { EndpointConfig } from './config.js';
import { acquire, toAcquireReply } from './handlers/acquire.js';
import { release, renew } from './handlers/release.js';
import { budget, control } from './handlers/control.js';
import { stats } from './handlers/stats.js';
import { applyJob, describeJob, listJobs } from './handlers/jobs.js';
import { enqueue, ticket, withdraw } from './handlers/tickets.js';
import { JobRegistry, memoryJobStore } from './jobs/registry.js';
import { createLeaderElection, type LeaderElection } from './replication/leader.js';
import { createKvStateStore, type PersistedState, type PersistedWaiter, type StateStore } from './replication/state-store.js';
import { TicketBook, type TicketNotifier } from './tickets.js';

/** Options of running as one of several replicas with state in JetStream KV. */
export interface ReplicationOptions {
  /** State bucket (active leases, tickets) of this scheduler deployment. */
  state: KV;
  /** Leader-election bucket (one key); may be the same bucket as `state`. */
  election: KV;
  /** This replica's id, unique among replicas. */
  replicaId: string;
  /** Leader term; a dead leader is replaced after at most this long (default 3000 ms). */
  termMs?: number;
}

export interface SchedulerServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
  /** The model endpoints to admit turns to (config: KERNOS_ENDPOINTS). */
  endpoints: readonly EndpointConfig[];
  /** How long a lease lives without a release (default 60000 ms; config: KERNOS_LEASE_TTL_MS). */
  leaseTtlMs?: number;
  /** Time source (default: the system clock); tests inject one. */
  clock?: Clock;
  /** Pushes a ticket's grant to its workflow (default: none, workflows poll; main.ts wires a Temporal signal when KERNOS_TEMPORAL_ADDRESS is set). */
  notify?: TicketNotifier;
  /** Prepended to every subject (default ""); tests use it to run their own scheduler on a shared NATS server. */
  subjectPrefix?: string;
  /**
   * Run as one of several replicas: only the elected leader serves, it keeps active leases and tickets in KV,
   * and a successor restores them (default: unset, a single in-memory replica that serves at once).
   */
  replication?: ReplicationOptions;
  /** The jobs registry (default: in memory, without Temporal Schedules; main.ts uses KV and Temporal). */
  jobs?: JobRegistry;
}

export interface SchedulerService {
  start(): Promise<void>;
  /** Rejects queued acquires with `unavailable` (retryable), then stops taking requests and waits for replies in flight. */
  stop(): Promise<void>;
  /** Whether this replica serves now (always true after start without replication). */
  serving(): boolean;
}

/** One period of serving: its own admission, tickets and NATS endpoints. A replica has one per leadership term. */
interface Serving {
  admission: Admission;
  book: TicketBook;
  service: KernosService;
  /** Reply subjects of the blocking acquires queued now and stored for a successor. */
  waiters: Set<string>;
  /** Stops writing state: a successor owns what is stored. */
  detach(): void;
  /** Queues a predecessor's blocking acquire again; its grant is answered on the stored reply subject. */
  restoreWaiter(waiter: PersistedWaiter): void;
}

/**
 * The scheduler: per-endpoint admission with leases. Without `replication` it is one in-memory replica. With it,
 * replicas elect a leader on a KV key; only the leader subscribes to the subjects (so requests during a takeover
 * find no responder and are retried, never answered twice), every grant is stored before it is answered, and a
 * new leader restores the active leases (never granting beyond maxConcurrent) and re-queues the tickets.
 */
export function createSchedulerService(deps: SchedulerServiceDeps): SchedulerService {
  const { nc, tracer, logger, endpoints, leaseTtlMs = 60_000, clock, notify, subjectPrefix, replication } = deps;
  const jobs = deps.jobs ?? new JobRegistry(memoryJobStore(), undefined);
  let current: Serving | undefined;
  let election: LeaderElection | undefined;
  let kvStore: StateStore | undefined;

  const build = (initialStore: StateStore | undefined): Serving => {
    let store = initialStore;
    const waiters = new Set<string>();
    const admission: Admission = createAdmission({
      endpoints,
      leaseTtlMs,
      clock,
      onExpire: (lease) =>
        logger.warn('lease expired without release; slot reclaimed', {
          endpoint: lease.endpoint,
          leaseId: lease.id,
          ttlMs: endpoints.find((endpoint) => endpoint.name === lease.endpoint)?.leaseTtlMs ?? leaseTtlMs,
          ...(lease.ref ?? {}),
        }),
      onLeaseStart: store && ((lease) => store?.putLease(lease)),
      onLeaseEnd: store && ((leaseId) => store?.deleteLease(leaseId)),
      // Holds, pauses, cancellations, drains, budgets and spend survive a leader change.
      onControlChange: store && ((kind, id, value) => store?.putControl(kind, id, value)),
    });
    const book = new TicketBook({
      admission,
      notify,
      store,
      onNotifyError: (record, error) =>
        logger.warn('could not signal the grant to its workflow; it will find it by polling', {
          ticketId: record.ticketId,
          workflowId: record.workflowId,
          error: (error as Error).message,
        }),
    });
    // A grant leaves the process only after it is stored, so a successor never grants the same slot again.
    const stored = async <T>(reply: T): Promise<T> => {
      await book.flush();
      return reply;
    };
    /**
     * A blocking acquire that has to wait is stored with its reply subject, so that if this leader dies a successor
     * queues it again and answers the caller, who is still waiting on that subject: no waiter is lost. It leaves the
     * store when it is granted (the lease is stored instead) or dropped.
     */
    const track = (reply: string, endpoint: string, request: AdmissionRequest, pending: Promise<Grant>, order: number, queuedAt: number) => {
      waiters.add(reply);
      const { signal: _signal, ...persistable } = request;
      store?.putWaiter({ reply, endpoint, order, queuedAt, request: persistable });
      const done = () => {
        if (waiters.delete(reply)) store?.deleteWaiter(reply);
      };
      pending.then(done, done);
    };
    const persistWhileQueued = (reply: string | undefined) =>
      store && reply
        ? (endpoint: string, request: AdmissionRequest, pending: Promise<Grant>) => {
            let settled = false;
            pending.then(
              () => (settled = true),
              () => (settled = true),
            );
            // A free slot grants within a few microtasks: only a request that really waits is stored.
            setImmediate(() => {
              if (!settled && current?.admission === admission) track(reply, endpoint, request, pending, book.takeOrder(), Date.now());
            });
          }
        : undefined;
    const restoreWaiter = (waiter: PersistedWaiter) => {
      book.observeOrder(waiter.order);
      const maxWaitMs = waiter.request.maxWaitMs ?? 0;
      const remaining = maxWaitMs > 0 ? maxWaitMs - (Date.now() - waiter.queuedAt) : 0;
      if (maxWaitMs > 0 && remaining <= 0) {
        store?.deleteWaiter(waiter.reply);
        return;
      }
      const pending = admission.acquire(waiter.endpoint, { ...waiter.request, maxWaitMs: Math.max(0, remaining) });
      track(waiter.reply, waiter.endpoint, waiter.request, pending, waiter.order, waiter.queuedAt);
      pending.then(
        async (grant) => {
          await book.flush();
          try {
            // The caller's request is still open on its reply subject (its inbox): answer it as the dead leader would have.
            nc.publish(waiter.reply, toBinary(scheduler.AcquireReplySchema, create(scheduler.AcquireReplySchema, toAcquireReply(grant))));
            logger.info('answered a blocking acquire queued by the previous leader', { endpoint: grant.endpoint, leaseId: grant.id });
          } catch (error) {
            // Our connection is gone too: the lease is stored, and its TTL reclaims it if nobody else answers.
            logger.warn('could not answer a restored blocking acquire', { leaseId: grant.id, error: (error as Error).message });
          }
        },
        () => undefined,
      );
    };
    const service = createKernosService({
      nc,
      tracer,
      name: 'scheduler',
      version: '0.2.0',
      subjectPrefix,
      description: 'Decides whose LLM turn goes next on each model endpoint',
      onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
      endpoints: [
        handle(contracts.scheduler.acquire, async (request, { span, reply }) => stored(await acquire(admission, request, span, persistWhileQueued(reply)))),
        handle(contracts.scheduler.release, async (request, { span }) => {
          const reply = release(admission, request, span);
          if (!reply.released) logger.info('release of a lease that is not active', { leaseId: request.leaseId });
          return stored(reply);
        }),
        // Stored before answering, like a grant: a successor must not expire a lease its holder was told it renewed.
        handle(contracts.scheduler.renew, async (request, { span }) => stored(renew(admission, request, span))),
        handle(contracts.scheduler.stats, async () => stats(admission)),
        handle(contracts.scheduler.enqueue, async (request, { span }) => stored(await enqueue(admission, book, request, span))),
        handle(contracts.scheduler.ticket, async (request) => stored(ticket(book, request))),
        handle(contracts.scheduler.withdraw, async (request) => stored(withdraw(book, request))),
        // Controls and budgets are stored before they are acknowledged, so an acknowledged hold survives a takeover.
        handle(contracts.scheduler.control, async (request) => {
          const reply = control(admission, request);
          logger.info('operator control', { action: request.action, target: request.target, reason: request.reason, affected: reply.affected });
          return stored(reply);
        }),
        handle(contracts.scheduler.budget, async (request) => stored(budget(admission, request))),
        handle(contracts.scheduler.applyJob, async (request) => {
          const reply = await applyJob(jobs, request);
          logger.info('job applied', { tenant: reply.job?.tenant, job: reply.job?.name, outcome: reply.outcome, generation: String(reply.job?.generation) });
          return reply;
        }),
        handle(contracts.scheduler.listJobs, async (request) => listJobs(jobs, request)),
        handle(contracts.scheduler.describeJob, async (request) => describeJob(jobs, request)),
      ],
    });
    const detach = () => {
      store = undefined;
      book.detachStore();
    };
    return { admission, book, service, waiters, detach, restoreWaiter };
  };

  /** A new leader takes over: leases first (so nothing is granted beyond maxConcurrent), then controls, then the queue in arrival order. */
  const restore = async (serving: Serving, state: PersistedState): Promise<number> => {
    const restored = state.leases.filter((lease) => serving.admission.restoreLease(lease)).length;
    serving.admission.restoreControls(state.controls);
    const queue = [
      ...state.tickets.map((ticket) => ({ order: ticket.order, ticket, waiter: undefined })),
      ...state.waiters.map((waiter) => ({ order: waiter.order, ticket: undefined, waiter })),
    ].sort((a, b) => a.order - b.order);
    for (const item of queue) {
      if (item.ticket) await serving.book.restore([item.ticket]);
      else if (item.waiter) serving.restoreWaiter(item.waiter);
    }
    return restored;
  };

  const stopServing = async () => {
    const serving = current;
    current = undefined;
    if (!serving) return;
    // What is stored belongs to the successor now: closing must not erase it.
    serving.detach();
    // Queued acquires would otherwise keep stop() waiting until the grace period runs out.
    serving.admission.close();
    await serving.service.stop();
  };

  return {
    async start() {
      if (!replication) {
        current = build(undefined);
        await current.service.start();
        return;
      }
      const store = (kvStore = createKvStateStore(replication.state, (error) => logger.error('could not store scheduler state', { error: (error as Error).message })));
      election = createLeaderElection({
        kv: replication.election,
        replicaId: replication.replicaId,
        termMs: replication.termMs,
        onElected: async () => {
          const state = await store.load();
          const serving = build(store);
          const restored = await restore(serving, state);
          current = serving;
          await serving.service.start();
          logger.info('elected leader; serving', {
            replicaId: replication.replicaId,
            restoredLeases: restored,
            restoredTickets: state.tickets.length,
            restoredWaiters: state.waiters.length,
            restoredControls: state.controls.length,
          });
        },
        onDeposed: async () => {
          logger.warn('lost leadership; no longer serving', { replicaId: replication.replicaId });
          await stopServing();
        },
      });
      await election.start();
    },
    async stop() {
      // A graceful stop answers its blocking acquires with unavailable (they retry with the successor), so they must
      // leave the store before the handover, or the successor would queue them a second time.
      const serving = current;
      if (serving && election) {
        const store = kvStore;
        for (const reply of serving.waiters) store?.deleteWaiter(reply);
        serving.waiters.clear();
        await store?.flush();
      }
      if (election) await election.stop();
      await stopServing();
    },
    serving: () => current !== undefined,
  };
}
