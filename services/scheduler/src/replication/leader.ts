import type { KV } from '@nats-io/kv';

export interface LeaderElectionOptions {
  kv: KV;
  /** This replica's id, unique among replicas. */
  replicaId: string;
  /** How long a term lasts without renewal (default 3000 ms); a dead leader is replaced after at most this long. */
  termMs?: number;
  /** Called when this replica becomes leader; serving starts when it resolves. */
  onElected: () => Promise<void>;
  /** Called when this replica stops being leader (lost a renewal race, or stop()). */
  onDeposed: () => Promise<void>;
  now?: () => number;
}

export interface LeaderElection {
  start(): Promise<void>;
  /** Gives up leadership (so a successor takes over at once) and stops campaigning. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Whether this replica's term is still valid now: a leader that could not renew in time must stop granting. */
  termValid(): boolean;
}

interface Term {
  holder: string;
  until: number;
}

const key = 'leader';

/**
 * Leader election on a KV key with compare-and-set. The leader writes `{ holder, until }` and renews it every
 * third of a term with `update(..., revision)`; a follower takes over only when `until` has passed, also with
 * `update` on the revision it read, so two followers cannot both win, and a leader whose renewal fails (someone
 * else's revision) steps down at once. Expiry is judged from `until`, not from server-side TTL, which
 * nats-server 2.9 does not apply per message. Clock skew between replicas must stay well below `termMs`.
 */
export function createLeaderElection(options: LeaderElectionOptions): LeaderElection {
  const termMs = options.termMs ?? 3_000;
  const now = options.now ?? Date.now;
  let revision = 0;
  let leader = false;
  let until = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let busy: Promise<void> = Promise.resolve();

  const term = (): Uint8Array => new TextEncoder().encode(JSON.stringify({ holder: options.replicaId, until: now() + termMs } satisfies Term));

  const becomeLeader = async (newRevision: number) => {
    revision = newRevision;
    until = now() + termMs;
    if (!leader) {
      leader = true;
      await options.onElected();
    }
  };
  const stepDown = async () => {
    if (!leader) return;
    leader = false;
    await options.onDeposed();
  };

  const tick = async () => {
    try {
      if (leader) {
        try {
          await becomeLeader(await options.kv.update(key, term(), revision));
        } catch {
          await stepDown();
        }
        return;
      }
      const entry = await options.kv.get(key);
      if (!entry || entry.operation !== 'PUT') {
        await becomeLeader(entry ? await options.kv.update(key, term(), entry.revision) : await options.kv.create(key, term()));
        return;
      }
      const current = entry.json<Term>();
      if (current.holder === options.replicaId || current.until < now()) await becomeLeader(await options.kv.update(key, term(), entry.revision));
    } catch {
      // Lost a race to another candidate, or NATS is briefly away: try again next tick.
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      busy = tick().finally(schedule);
    }, Math.max(50, Math.floor(termMs / 3)));
  };

  return {
    async start() {
      await (busy = tick());
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await busy.catch(() => undefined);
      if (leader) {
        // Hand over at once: a successor does not have to wait for our term to run out.
        await options.kv.update(key, new TextEncoder().encode(JSON.stringify({ holder: options.replicaId, until: 0 } satisfies Term)), revision).catch(() => undefined);
        await stepDown();
      }
    },
    isLeader: () => leader,
    termValid: () => leader && now() < until,
  };
}
