import { KernosError } from '@kernos/errors';
import type { KernelClient } from '@kernos/service-kit';
import { access, contracts, type common } from '@kernos/wire';

/** Who is asking, as every graph request says it. */
export interface Caller {
  ref?: common.RunRef | undefined;
  governance?: common.Governance | undefined;
}

/** Data-category scoping of graph reads and writes, decided by services/access (action data.read / data.write). */
export interface AccessGate {
  /** Throws denied (or needs_approval) unless the job may write facts in this category. */
  assertWrite(caller: Caller, category: string): Promise<void>;
  /**
   * The categories a read may see. Asked-for categories must each be readable (else denied, naming it); with none
   * asked for, every category the job's governance lists that services/access lets it read.
   */
  readable(caller: Caller, requested: readonly string[]): Promise<string[]>;
}

/**
 * Asks services/access over NATS for every decision, so the graph never keeps its own idea of who may see what;
 * default deny: anything but an explicit allow keeps the data out.
 */
export function createAccessGate(kernel: KernelClient): AccessGate {
  const check = async (caller: Caller, action: 'data.read' | 'data.write', category: string) => {
    const reply = await kernel.call(contracts.access.check, { ref: caller.ref, governance: caller.governance, action, resource: category });
    return reply;
  };
  const refuse = (reply: access.CheckReply, action: string, category: string) =>
    new KernosError(
      reply.decision === access.Decision.NEEDS_APPROVAL ? 'needs_approval' : 'denied',
      `${action} on data category "${category}" is not allowed: ${reply.reason || reply.rule || 'denied by services/access'}`,
    );

  return {
    async assertWrite(caller, category) {
      const reply = await check(caller, 'data.write', category);
      if (reply.decision !== access.Decision.ALLOW) throw refuse(reply, 'data.write', category);
    },

    async readable(caller, requested) {
      // Loud rather than an empty answer: a caller that forgot its governance should learn why it sees nothing.
      if (!caller.governance) throw new KernosError('denied', 'the request carries no governance metadata; graph reads are scoped by the job\'s data categories');
      const wanted = requested.length > 0 ? [...new Set(requested)] : [...new Set(caller.governance?.dataCategories ?? [])];
      const replies = await Promise.all(wanted.map((category) => check(caller, 'data.read', category)));
      if (requested.length > 0) {
        const refused = replies.findIndex((r) => r.decision !== access.Decision.ALLOW);
        if (refused >= 0) throw refuse(replies[refused]!, 'data.read', wanted[refused]!);
      }
      return wanted.filter((_, i) => replies[i]!.decision === access.Decision.ALLOW);
    },
  };
}
